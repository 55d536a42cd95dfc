"""The rich menu a simulated runner sees, as data the page draws and taps.

LINE shows a runner the menu linked to them (per-segment menus), else the account's default. The simulator
asks the in-app stand-in for both, in that order, and when nothing has been published yet (no one ran
``python -m bot richmenu`` against this process) it draws the very definition that command would upload
(:func:`bot.ops.richmenu.menu_definition`), so the menu is there from the first page load and its buttons
send what the published one will.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.local.line_standin import StandinState
from bot.local.line_standin.records import LineApiError
from bot.local.mount import STANDIN_PREFIX
from bot.ops.richmenu import menu_definition

Source = Literal["linked", "default", "definition"]


def menu_for(standin: StandinState, user_id: str | None) -> dict[str, Any]:
    """The menu ``user_id`` would see: ``source`` says where it came from; ``image`` is set for a published
    menu (its uploaded picture, drawn under the tappable areas), ``None`` for the unpublished definition."""
    candidates: list[tuple[Source, str | None]] = [("linked", linked_menu_id(standin, user_id)),
                                                    ("default", standin.default_rich_menu_id)]
    for source, menu_id in candidates:
        if not menu_id:
            continue
        try:
            menu = standin.rich_menu(menu_id)
        except LineApiError:  # deleted between the lookup and now
            continue
        image = f"{STANDIN_PREFIX}/_standin/richmenus/{menu_id}/image" if menu.image is not None else None
        return {"source": source, **menu.to_json(), "image": image}
    return {"source": "definition", "richMenuId": None, **menu_definition(), "image": None}


def linked_menu_id(standin: StandinState, user_id: str | None) -> str | None:
    """The menu linked to this runner (``POST /v2/bot/user/{userId}/richmenu/{richMenuId}``: the per-segment
    menus), or ``None`` when they see the default."""
    return standin.linked_rich_menu_id(user_id) if user_id is not None else None
