"""``python -m bot richmenu``: draw the clinic's rich menus, publish them through LINE's API, make the main one
the default.

Menus per segment: a runner whose tags match a segment menu (:data:`MENUS`, first match wins: a runner with a
booking sees 「予約確認」 first) is linked to it with LINE's per-user link API by the follow-ups feature, which
finds the published menus by name; everyone else sees the default.

Why from code: the menu's areas must send exactly the words the flows understand (``flows/*.yaml``
keywords), and a menu drawn by hand in the OA Manager drifts from them. Re-running is safe: the new menu is
created, given its image and made the default *before* the menus this command made earlier are deleted, so
runners never see an empty bar and menus never pile up. ``--dry-run PATH`` only writes the picture.

The image is 2500×1686 (3×2 areas), PNG, well under LINE's 1 MB. The Japanese text is set in Noto Sans JP
from the ``pylopdf-fonts-jp`` package (data only, SIL OFL), so it renders the same on every machine.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linebot.v3.messaging import RichMenuRequest
from linebot.v3.messaging.exceptions import ApiException

from bot.config.settings import Settings
from bot.delivery.line_client import LineClient

log = logging.getLogger(__name__)

#: Menus this command made carry this name; only those are ever deleted.
MENU_NAME = "seitai-bot:main"
CHAT_BAR_TEXT = "メニュー"
WIDTH, HEIGHT = 2500, 1686
COLUMNS, ROWS = 3, 2
MAX_IMAGE_BYTES = 1024 * 1024

_BACKGROUND = (246, 243, 236)
_TILE = (255, 255, 255)
_ACCENT = (46, 125, 104)
_INK = (40, 40, 40)
_MUTED = (110, 110, 110)


@dataclass(frozen=True, slots=True)
class Button:
    """One area: what it says, a line under it, and the text it sends (a keyword the flows know)."""

    label: str
    hint: str
    text: str


#: Left to right, top to bottom. Each ``text`` is a keyword of ``flows/knee_back.yaml`` (or booking's).
BUTTONS: tuple[Button, ...] = (
    Button("症状チェック", "1分でわかる原因", "症状チェック"),
    Button("動画", "セルフケア動画", "動画"),
    Button("予約", "相談を予約する", "予約"),
    Button("予約確認", "予約の確認・変更", "予約確認"),
    Button("料金・アクセス", "料金と行き方", "料金"),
    Button("スタッフに相談", "人に質問する", "スタッフ"),
)
#: A runner with a booking: what they come back for first.
BOOKED_BUTTONS: tuple[Button, ...] = (
    Button("予約確認", "日時・持ち物の確認", "予約確認"),
    Button("予約変更", "日時の変更・取消", "予約変更"),
    Button("料金・アクセス", "料金と行き方", "料金"),
    Button("動画", "セルフケア動画", "動画"),
    Button("症状チェック", "1分でわかる原因", "症状チェック"),
    Button("スタッフに相談", "人に質問する", "スタッフ"),
)


@dataclass(frozen=True, slots=True)
class Menu:
    """One published menu: its name on LINE, the tag that selects it (None: the default) and its buttons."""

    name: str
    tag: str | None
    buttons: tuple[Button, ...]


#: The default first; then segment menus, the first whose tag a runner has is theirs.
MENUS: tuple[Menu, ...] = (
    Menu(MENU_NAME, None, BUTTONS),
    Menu("seitai-bot:booked", "booked", BOOKED_BUTTONS),
)


def menu_for(tags: Iterable[str], menus: Sequence[Menu] = MENUS) -> Menu:
    """The menu a runner with ``tags`` should see."""
    held = set(tags)
    return next((m for m in menus if m.tag is not None and m.tag in held), menus[0])


def font_path() -> Path:
    """Noto Sans JP, shipped by a PyPI package (no system fonts needed, in the image or on CI)."""
    import pylopdf_fonts_jp

    path: Path = pylopdf_fonts_jp.sans_path()
    return path


def _bounds(index: int) -> dict[str, int]:
    """The area of button ``index``; the last column/row absorbs the rounding so areas tile exactly."""
    col, row = index % COLUMNS, index // COLUMNS
    x0, x1 = WIDTH * col // COLUMNS, WIDTH * (col + 1) // COLUMNS
    y0, y1 = HEIGHT * row // ROWS, HEIGHT * (row + 1) // ROWS
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def menu_request(buttons: Sequence[Button] = BUTTONS, name: str = MENU_NAME) -> dict[str, Any]:
    """The RichMenuRequest body: one message action per area, in drawing order."""
    if len(buttons) != COLUMNS * ROWS:
        raise ValueError(f"the menu has {COLUMNS * ROWS} areas, got {len(buttons)} buttons")
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": name,
        "chatBarText": CHAT_BAR_TEXT,
        "areas": [
            {"bounds": _bounds(i), "action": {"type": "message", "label": b.label, "text": b.text}}
            for i, b in enumerate(buttons)
        ],
    }


def menu_definition(buttons: Sequence[Button] = BUTTONS) -> dict[str, Any]:
    """The menu as data for drawing it elsewhere (the local simulator): :func:`menu_request`, each area also
    carrying the label and the hint the picture shows. Same buttons, same order, same actions."""
    request = menu_request(buttons)
    request["areas"] = [{**area, "label": b.label, "hint": b.hint}
                        for area, b in zip(request["areas"], buttons, strict=True)]
    return request


def draw_menu(buttons: Sequence[Button] = BUTTONS) -> bytes:
    """The menu picture as PNG bytes: a rounded tile per area, the label large, the hint below."""
    # Imported here, not at the top: only `python -m bot richmenu` and the simulator draw, and Pillow would
    # add ~4 MiB to every web process that merely asks which menu a runner gets (bench/README.md, memory).
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    label_font = ImageFont.truetype(str(font_path()), 118)
    hint_font = ImageFont.truetype(str(font_path()), 68)
    margin = 22
    for i, button in enumerate(buttons):
        b = _bounds(i)
        box = (b["x"] + margin, b["y"] + margin, b["x"] + b["width"] - margin, b["y"] + b["height"] - margin)
        draw.rounded_rectangle(box, radius=48, fill=_TILE, outline=_ACCENT, width=8)
        cx, cy = b["x"] + b["width"] // 2, b["y"] + b["height"] // 2
        draw.rounded_rectangle((cx - 90, cy - 300, cx + 90, cy - 270), radius=15, fill=_ACCENT)
        size = 118
        while draw.textlength(button.label, font=label_font) > b["width"] - 2 * margin - 80 and size > 60:
            size -= 6
            label_font = ImageFont.truetype(str(font_path()), size)
        draw.text((cx, cy - 40), button.label, font=label_font, fill=_INK, anchor="mm")
        draw.text((cx, cy + 130), button.hint, font=hint_font, fill=_MUTED, anchor="mm")
        label_font = ImageFont.truetype(str(font_path()), 118)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:  # LINE refuses larger images; a flat design never comes near it
        raise ValueError(f"rich menu image is {len(data)} bytes; LINE accepts at most {MAX_IMAGE_BYTES}")
    return data


async def publish(line: LineClient, image: bytes, buttons: Sequence[Button] = BUTTONS, *, name: str = MENU_NAME,
                  default: bool = True) -> tuple[str, list[str]]:
    """Create a menu, upload its image, make it the default (the main one), then delete our older menus of
    that name.

    Returns the new menu's id and the ids deleted. The order is what makes a re-run safe: if anything fails
    before the switch, the old default stays in place (and the half-made new menu is removed). Runners linked
    to a deleted segment menu see the default until the follow-ups feature links them to the new one (it
    looks the menus up by name every few minutes).
    """
    api = line.api
    listed = await api.get_rich_menu_list()
    ours_before = [m.rich_menu_id for m in listed.richmenus if m.name == name]
    created = await api.create_rich_menu(RichMenuRequest.from_dict(menu_request(buttons, name)))
    new_id = str(created.rich_menu_id)
    try:
        await line.blob_api().set_rich_menu_image(new_id, image, _headers={"Content-Type": "image/png"})
        if default:
            await api.set_default_rich_menu(new_id)
    except Exception:
        await api.delete_rich_menu(new_id)
        raise
    for old_id in ours_before:
        await api.delete_rich_menu(old_id)
    log.info("rich menu published", extra={"rich_menu_id": new_id, "replaced": len(ours_before)})
    return new_id, ours_before


async def run_richmenu(settings: Settings, dry_run: Path | None) -> int:
    """The command: ``dry_run`` writes the main menu's PNG there (and each segment menu's beside it) and
    stops; otherwise publish every menu to LINE."""
    if dry_run is not None:
        for menu in MENUS:
            image = draw_menu(menu.buttons)
            target = dry_run if menu.tag is None else dry_run.with_stem(f"{dry_run.stem}-{menu.tag}")
            target.write_bytes(image)
            print(f"wrote {target} ({WIDTH}x{HEIGHT}, {len(image)} bytes); LINE was not called")
        return 0
    if settings.local_mode:  # the running local bot's built-in stand-in: the simulator shows the menu
        print(f"local mode: publishing to the built-in LINE stand-in at {settings.api_base_url()}")
    line = LineClient(access_token=settings.access_token(), base_url=settings.api_base_url(),
                      data_base_url=settings.api_data_base_url(), timeout_s=settings.line_api_timeout_s)
    await line.start()
    try:
        published = [await publish(line, draw_menu(m.buttons), m.buttons, name=m.name, default=m.tag is None)
                     for m in MENUS]
    except ApiException as exc:
        print(f"error: LINE refused the rich menu (HTTP {exc.status}: {exc.reason}); nothing was changed")
        return 1
    except OSError as exc:
        print(f"error: LINE's API at {settings.api_base_url()} is unreachable ({type(exc).__name__})")
        return 1
    finally:
        await line.close()
    (new_id, _), *segments = published
    replaced = sum(len(old) for _, old in published)
    print(f"rich menu {new_id} is now the default; {len(segments)} segment menu(s) published "
          f"({', '.join(m.name for m in MENUS if m.tag)}); {replaced} older menu(s) of ours deleted")
    return 0
