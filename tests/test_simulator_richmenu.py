"""The rich menu in the simulator: what a runner's LINE would show, as data the page draws and taps.

LINE shows the menu linked to the runner, else the account's default; with nothing published yet the
simulator draws the definition ``python -m bot richmenu`` uploads, so the menu is there from the start and
its buttons already send the words the flows understand.
"""

from __future__ import annotations

import uuid

from bot.features.simulator.richmenu import menu_for
from bot.local.line_standin import StandinState
from bot.ops.richmenu import BUTTONS, menu_definition, menu_request

RUNNER = "U" + uuid.uuid4().hex


def published(state: StandinState, name: str = "seitai-bot:main") -> str:
    menu_id = state.create_rich_menu({**menu_request(), "name": name})
    state.set_rich_menu_image(menu_id, "image/png", b"\x89PNG")
    return menu_id


def test_with_nothing_published_the_simulator_draws_the_definition_the_command_uploads() -> None:
    menu = menu_for(StandinState(), RUNNER)
    assert menu["source"] == "definition" and menu["image"] is None
    assert [a["label"] for a in menu["areas"]] == [b.label for b in BUTTONS]
    assert [a["hint"] for a in menu["areas"]] == [b.hint for b in BUTTONS]
    # Each tile sends the very text the published menu will send.
    assert [a["action"] for a in menu["areas"]] == [a["action"] for a in menu_request()["areas"]]
    assert menu["chatBarText"] == "メニュー" and menu["size"] == {"width": 2500, "height": 1686}


def test_the_definition_is_the_request_plus_what_the_picture_says() -> None:
    definition = menu_definition()
    areas = [{k: v for k, v in area.items() if k not in ("label", "hint")} for area in definition["areas"]]
    assert {**definition, "areas": areas} == menu_request()


def test_a_published_default_menu_is_drawn_from_its_uploaded_picture() -> None:
    state = StandinState()
    menu_id = published(state)
    state.set_default_rich_menu(menu_id)
    menu = menu_for(state, RUNNER)
    assert menu["source"] == "default" and menu["richMenuId"] == menu_id
    assert menu["image"] == f"/_line/_standin/richmenus/{menu_id}/image"
    assert [a["action"]["text"] for a in menu["areas"]] == [b.text for b in BUTTONS]


def test_a_menu_linked_to_the_runner_wins_over_the_default_and_others_keep_the_default() -> None:
    state = StandinState()
    default_id, segment_id = published(state), published(state, "seitai-bot:booked")
    state.set_default_rich_menu(default_id)
    state.link_rich_menu(RUNNER, segment_id)
    assert (menu_for(state, RUNNER)["source"], menu_for(state, RUNNER)["richMenuId"]) == ("linked", segment_id)
    other = "U" + uuid.uuid4().hex
    assert (menu_for(state, other)["source"], menu_for(state, other)["richMenuId"]) == ("default", default_id)
