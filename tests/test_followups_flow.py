"""Follow-ups are part of the flow file, checked at start-up like every other step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.settings import ROOT
from flows.loader import load_flows
from tests.harness import ALL_ACTIONS
from tests.test_flow_files import copy, refused


def with_follow_ups(*follow_ups: dict[str, Any]) -> dict[str, object]:
    flow = copy()
    flow["follow_ups"] = list(follow_ups)
    return flow


def test_the_shipped_flow_checks_in_three_days_after_the_video_unless_booked() -> None:
    flow = load_flows(ROOT / "flows", ALL_ACTIONS).flows["knee_back"].flow
    first = flow.follow_ups[0]
    assert (first.after_tag, first.delay_days, first.step) == ("video_sent", 3, "checkin_first")
    assert "booked" in first.skip_if_tags and "red_flag" in first.skip_if_tags
    labels = [c.label for c in flow.steps["checkin"].ask.choices]  # type: ignore[union-attr]
    assert labels == ["良くなった", "変わらない", "悪化した"]


def test_a_follow_up_to_a_missing_step_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, with_follow_ups({"id": "later", "after_tag": "video_sent", "delay_days": 3,
                                                 "step": "no_such_step"}))
    assert "follow-up 'later'" in message and "no_such_step" in message


def test_a_follow_up_without_a_delay_or_with_a_repeated_id_is_refused(tmp_path: Path) -> None:
    no_delay = refused(tmp_path, with_follow_ups({"id": "now", "after_tag": "x", "step": "checkin"}))
    assert "delay" in no_delay
    twice = {"id": "again", "after_tag": "x", "delay_days": 1, "step": "checkin"}
    assert "used twice" in refused(tmp_path, with_follow_ups(twice, twice))


def test_steps_only_a_follow_up_enters_count_as_reachable(tmp_path: Path) -> None:
    message = refused(tmp_path, with_follow_ups())
    assert "'checkin_first' is unreachable" in message
