"""The rich menu from code: drawn to LINE's rules, published against the LINE stand-in, re-runnable."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from linebot.v3.messaging.exceptions import ApiException
from PIL import Image

from bot.config.settings import ROOT
from bot.delivery.line_client import LineClient
from bot.ops.richmenu import HEIGHT, MAX_IMAGE_BYTES, MENU_NAME, MENUS, WIDTH, publish, run_richmenu
from tests.harness import make_settings
from tests.standin_server import StandinServer

EXPECTED_TEXTS = {
    "症状チェック": "症状チェック", "動画": "動画", "予約": "予約", "予約確認": "予約確認",
    "料金・アクセス": "料金", "スタッフに相談": "スタッフ",
}


def test_dry_run_writes_a_2500x1686_png_under_1mb_without_calling_line(tmp_path: Path) -> None:
    target = tmp_path / "menu.png"
    done = subprocess.run([sys.executable, "-m", "bot", "richmenu", "--dry-run", str(target)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "LINE_API_BASE_URL": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    assert target.stat().st_size < MAX_IMAGE_BYTES
    assert (tmp_path / "menu-booked.png").stat().st_size < MAX_IMAGE_BYTES, "each segment menu is drawn too"
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.size == (2500, 1686)


async def test_publishing_creates_uploads_and_sets_the_default_with_six_areas(line: StandinServer) -> None:
    assert await run_richmenu(make_settings(None, line), dry_run=None) == 0

    menu, booked = line.state.rich_menus
    assert line.state.default_rich_menu_id == menu.rich_menu_id
    assert booked.body["name"] == "seitai-bot:booked" and booked.image is not None
    assert booked.body["areas"][0]["action"]["text"] == "予約確認", "a booked runner's menu starts with 予約確認"
    assert menu.body["name"] == MENU_NAME
    assert menu.body["size"] == {"width": WIDTH, "height": HEIGHT}
    assert menu.content_type == "image/png" and menu.image is not None
    assert len(menu.image) < MAX_IMAGE_BYTES
    with Image.open(io.BytesIO(menu.image)) as image:
        assert image.size == (WIDTH, HEIGHT)

    areas = menu.body["areas"]
    assert {a["action"]["label"]: a["action"]["text"] for a in areas} == EXPECTED_TEXTS
    # The six areas tile the whole picture, 3 across and 2 down, without gaps or overlaps.
    assert sum(a["bounds"]["width"] * a["bounds"]["height"] for a in areas) == WIDTH * HEIGHT
    assert sorted({a["bounds"]["x"] for a in areas}) == [0, 833, 1666]
    assert sorted({a["bounds"]["y"] for a in areas}) == [0, 843]
    assert all(a["bounds"]["x"] + a["bounds"]["width"] <= WIDTH for a in areas)


async def test_rerunning_replaces_our_menu_and_leaves_others_alone(line: StandinServer) -> None:
    foreign = line.state.create_rich_menu({
        "size": {"width": 2500, "height": 843}, "selected": False, "name": "campaign",
        "chatBarText": "キャンペーン",
        "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                   "action": {"type": "message", "text": "予約"}}],
    })
    settings = make_settings(None, line)
    assert await run_richmenu(settings, dry_run=None) == 0
    first = line.state.default_rich_menu_id
    assert await run_richmenu(settings, dry_run=None) == 0
    second = line.state.default_rich_menu_id

    assert first != second
    names = sorted(m.body["name"] for m in line.state.rich_menus)
    assert names == sorted(["campaign", MENU_NAME, "seitai-bot:booked"]), "menus must not pile up"
    assert foreign in {m.rich_menu_id for m in line.state.rich_menus}
    assert second in {m.rich_menu_id for m in line.state.rich_menus}


async def test_a_refused_image_keeps_the_old_default_and_removes_the_half_made_menu(line: StandinServer) -> None:
    settings = make_settings(None, line)
    assert await run_richmenu(settings, dry_run=None) == 0
    before = line.state.default_rich_menu_id
    menus_before = [m.rich_menu_id for m in line.state.rich_menus]
    client = LineClient(access_token=settings.access_token(), base_url=line.base_url)
    await client.start()
    try:
        with pytest.raises(ApiException) as refused:
            await publish(client, b"not an image")
    finally:
        await client.close()
    assert refused.value.status == 400
    assert line.state.default_rich_menu_id == before
    assert [m.rich_menu_id for m in line.state.rich_menus] == menus_before


def test_every_area_sends_a_word_the_flows_understand() -> None:
    flow = yaml.safe_load((ROOT / "flows" / "knee_back.yaml").read_text(encoding="utf-8"))
    words = {w for entry in flow["intents"] for w in entry.get("words", [])}
    booking_words = {"予約確認"}  # booking's own keyword (bot/booking); not in the knee-back flow
    missing = {b.text for menu in MENUS for b in menu.buttons} - words - booking_words
    assert missing == set()


async def test_line_unreachable_is_said_in_plain_words(line: StandinServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with line.down():
        assert await run_richmenu(make_settings(None, line), dry_run=None) == 1
    assert "is unreachable" in capsys.readouterr().out
    assert line.state.rich_menus == []
