"""Flow files are checked at start-up: a mistake is refused with the file and the step named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.settings import ROOT
from flows.loader import FlowError, load_flows
from tests.harness import ALL_ACTIONS

SHIPPED = yaml.safe_load((ROOT / "flows" / "knee_back.yaml").read_text(encoding="utf-8"))


def write_flow(tmp_path: Path, flow: dict[str, object]) -> Path:
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True), encoding="utf-8")
    return tmp_path


def refused(tmp_path: Path, flow: dict[str, object]) -> str:
    with pytest.raises(FlowError) as error:
        load_flows(write_flow(tmp_path, flow), ALL_ACTIONS)
    message = str(error.value)
    assert "broken.yaml" in message
    return message


def copy() -> dict[str, object]:
    return yaml.safe_load(yaml.safe_dump(SHIPPED, allow_unicode=True))


def test_the_shipped_flows_load() -> None:
    flows = load_flows(ROOT / "flows", ALL_ACTIONS)
    assert flows.get("knee_back") is not None


def test_a_choice_leading_to_an_unknown_step_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["where"]["ask"]["choices"][0]["goto"] = "nowhere"  # type: ignore[index]
    assert "step 'where': goes to unknown step 'nowhere'" in refused(tmp_path, flow)


def test_an_unreachable_step_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["orphan"] = {"messages": [{"text": "誰も来ない"}]}  # type: ignore[index]
    assert "step 'orphan' is unreachable" in refused(tmp_path, flow)


def test_a_label_longer_than_line_allows_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["feel"]["ask"]["choices"][0]["label"] = "とても長いラベルでLINEの二十文字の上限を超えています"  # type: ignore[index]
    assert "step 'feel'" in refused(tmp_path, flow) and "max 20" in refused(tmp_path, flow)


def test_more_than_thirteen_choices_is_refused(tmp_path: Path) -> None:
    flow = copy()
    choices = [{"label": f"選択{i}", "value": str(i), "goto": "feel"} for i in range(14)]
    flow["steps"]["where"]["ask"]["choices"] = choices  # type: ignore[index]
    assert "14 choices" in refused(tmp_path, flow)


def test_more_than_five_messages_in_one_reply_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["stale"]["messages"] = [{"text": f"{i}"} for i in range(6)]  # type: ignore[index]
    assert "step 'stale': sends 6 messages" in refused(tmp_path, flow)


def test_an_unknown_action_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["intents"].append({"name": "magic", "words": ["魔法"], "action": "magic.cure"})  # type: ignore[attr-defined]
    assert "unknown action 'magic.cure'" in refused(tmp_path, flow)


def test_a_video_without_https_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["videos"]["outer"]["url"] = "http://example.com/v"  # type: ignore[index]
    assert "video 'outer': LINE needs https URLs" in refused(tmp_path, flow)


def test_a_reference_to_an_unknown_video_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["video_only"]["messages"][1]["variants"][0]["videos"] = ["missing"]  # type: ignore[index]
    assert "unknown video 'missing'" in refused(tmp_path, flow)


async def test_the_app_refuses_to_start_with_a_broken_flow(tmp_path: Path) -> None:
    from bot.config.settings import Settings
    from bot.plugins import FEATURES
    from bot.runtime import build_runtime

    flow = copy()
    flow["start"] = "gone"
    settings = Settings(flows_dir=write_flow(tmp_path, flow))
    with pytest.raises(FlowError, match="start goes to unknown step 'gone'"):
        await build_runtime(settings, FEATURES)


def test_staff_read_answers_as_the_runner_saw_them() -> None:
    loaded = load_flows(ROOT / "flows", ALL_ACTIONS).flows["knee_back"]
    shown = loaded.answer_labels({"timing": "after", "side": "outer", "feel": "tension", "safety": "none",
                                  "retired": "x"})
    assert list(shown.items()) == [("痛む場所", "膝裏の外側"), ("感じ方", "張り"),
                                   ("注意が必要なサイン", "どれも当てはまらない"), ("つらいタイミング", "走った後"),
                                   ("retired", "x")]


def test_staff_read_tags_in_japanese() -> None:
    from bot.features.dashboard.labels import tag_label

    flows = load_flows(ROOT / "flows", ALL_ACTIONS)
    assert tag_label(flows, "side:outer") == "痛む場所: 膝裏の外側"
    assert tag_label(flows, "wants_staff") == "スタッフ希望"
    assert tag_label(flows, "clicked:knee_back.outer") == "動画をタップ(膝裏の外側の筋膜リリース)"
    assert tag_label(flows, "made-up") == "made-up"


def test_a_word_that_means_two_intents_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["intents"].append({"name": "other", "words": ["予約"], "goto": "help"})  # type: ignore[attr-defined]
    assert "intent 'other': word '予約' already means intent 'booking'" in refused(tmp_path, flow)


def test_a_typed_word_that_answers_two_choices_is_refused(tmp_path: Path) -> None:
    flow = copy()
    flow["steps"]["feel"]["ask"]["choices"][1]["words"].append("痛い")  # type: ignore[index]
    assert "step 'feel': '痛い' answers both '痛み' and '張り'" in refused(tmp_path, flow)


def test_a_flow_with_videos_needs_a_safety_rule_that_points_somewhere_safe(tmp_path: Path) -> None:
    flow = copy()
    del flow["safety"]
    assert "sends videos but declares no safety: block" in refused(tmp_path, flow)
    flow = copy()
    flow["safety"]["see_doctor"] = "video_only"  # type: ignore[index]
    assert "'video_only' must not be a self-care step" in refused(tmp_path, flow)


def test_typed_synonyms_do_not_change_a_questions_fingerprint() -> None:
    from flows.loader import question_fingerprint
    from flows.schema import Step

    loaded = load_flows(ROOT / "flows", ALL_ACTIONS).flows["knee_back"]
    step = loaded.flow.steps["where"]
    assert step.ask is not None
    plain = [c.model_copy(update={"words": [], "phrases": []}) for c in step.ask.choices]
    fewer = Step(messages=step.messages, ask=step.ask.model_copy(update={"choices": plain}))
    assert question_fingerprint(fewer) == question_fingerprint(step) == loaded.step_hashes["where"]
