"""What staff read instead of internal codes: answers and tags in Japanese.

Answers and the tags a tap gives come from the flow file itself (its question titles and choice labels), so
a clinic that edits its flow sees its own words; the tags code gives are named here.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.loader import FlowSet

#: Tags the bot's code gives (not a flow's taps).
CODE_TAGS = {
    "friend": "友だち",
    "unblocked": "ブロック解除して戻った",
    "check_started": "チェック開始",
    "check_done": "チェック完了",
    "red_flag": "受診をおすすめした",
    "see_doctor": "受診のご案内済み",
    "video_sent": "動画を送信済み",
    "watched_video": "動画を見た",
    "checkin_sent": "その後の確認を送信済み",
    "booked": "予約あり",
    "opted_out": "配信停止中",
    "wants_staff": "スタッフ希望",
}
#: Tags staff add by hand (``staff:VIP``).
STAFF_PREFIX = "staff:"
#: Tags with a detail after the colon (``clicked:knee_back.outer``).
PREFIXED = {"clicked": "動画をタップ", "watched": "動画を最後まで見た"}


def tag_label(flows: FlowSet, tag: str) -> str:
    if tag.startswith(STAFF_PREFIX):  # a label staff gave by hand is shown as they wrote it
        return tag[len(STAFF_PREFIX):]
    if tag in CODE_TAGS:
        return CODE_TAGS[tag]
    for loaded in flows:
        label = loaded.tag_label(tag)
        if label is not None:
            return label
    prefix, _, detail = tag.partition(":")
    if prefix in PREFIXED:
        return f"{PREFIXED[prefix]}({_video_title(flows, detail)})"
    return tag


def answer_labels(flows: FlowSet, flow: str, answers: Mapping[str, str]) -> dict[str, str]:
    """Question title → the label tapped; stored values as they are when the flow is gone."""
    loaded = flows.get(flow)
    return loaded.answer_labels(answers) if loaded is not None else dict(answers)


def _video_title(flows: FlowSet, name: str) -> str:
    flow, _, video = name.partition(".")
    loaded = flows.get(flow)
    found = loaded.flow.videos.get(video) if loaded is not None else None
    return found.title if found is not None else name
