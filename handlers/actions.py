"""Actions every flow can name whatever features are on: what the clinic is and when it opens, the answers to
common questions, asking for a person, forgetting a runner.

They are part of the core (a runner must always be able to delete their data); the runtime includes
:data:`actions` into the engine's registry before any feature's. The words they say are built in
:mod:`handlers.clinic_answers` from ``clinic.yaml``.
"""

from __future__ import annotations

from bot.config.clinic import Clinic
from flows.actions import ActionFn, ActionRegistry, Params
from flows.context import Conversation
from handlers.clinic_answers import (
    FAQ_TOPICS,
    cancellation_text,
    faq_text,
    hours_text,
    map_message,
    opening_hours_text,
    reply_when,
    staff_request_text,
)

actions = ActionRegistry()
#: When the runner last asked for a person (ISO time, clinic zone): the hand-off gate sends their next words
#: to staff, and the staff inbox marks the request.
WANTS_STAFF_AT = "wants_staff_at"


@actions.register("clinic.info")
async def clinic_info(conv: Conversation, params: Params) -> None:
    clinic = conv.deps.need(Clinic)
    parts = [f"【{clinic.name}】"]
    if clinic.price:
        parts.append(f"■料金\n{clinic.price}")
    parts.append(f"■受付時間\n{opening_hours_text(clinic)}")
    parts.append(f"■場所\n{clinic.address}" + (f"\n{clinic.access}" if clinic.access else ""))
    parts.append(f"■お電話\n{clinic.phone}")
    conv.say_text("\n\n".join(parts))


@actions.register("clinic.hours")
async def clinic_hours(conv: Conversation, params: Params) -> None:
    conv.say_text(hours_text(conv.deps.need(Clinic), conv.now))


@actions.register("clinic.cancellation")
async def clinic_cancellation(conv: Conversation, params: Params) -> None:
    conv.say_text(cancellation_text(conv.deps.need(Clinic)))


@actions.register("clinic.map")
async def clinic_map(conv: Conversation, params: Params) -> None:
    conv.say(map_message(conv.deps.need(Clinic)))


def _faq(topic: str) -> ActionFn:
    async def answer(conv: Conversation, params: Params) -> None:
        text, answered = faq_text(conv.deps.need(Clinic), topic, conv.now)
        conv.say_text(text)
        if not answered:  # the clinic wrote no answer: the question goes to staff, who will reply
            conv.unrecognized = f"({FAQ_TOPICS[topic]}についての質問)"

    return answer


for _topic in FAQ_TOPICS:
    actions.register(f"clinic.{_topic}")(_faq(_topic))


@actions.register("staff.request")
async def staff_request(conv: Conversation, params: Params) -> None:
    """The runner wants a person: note it for the staff inbox, tell the staff on LINE, and invite the
    question (the dashboard's hand-off gate sends the next typed message to staff)."""
    clinic = conv.deps.need(Clinic)
    conv.state.extra[WANTS_STAFF_AT] = conv.now.isoformat()
    conv.state.add_tags(["wants_staff"])
    conv.say_text(staff_request_text(clinic, conv.now))
    for staff_id in clinic.staff_user_ids:
        conv.notify(staff_id, [{"type": "text", "text": "ランナーさんから、スタッフとの会話の希望が届きました。"
                                                        "管理画面の受信箱をご確認ください。"}],
                    key=f"staff-request:{staff_id}")


@actions.register("staff.forward")
async def staff_forward(conv: Conversation, params: Params) -> None:
    """Something only a person can answer (a photo): say when staff will reply."""
    conv.say_text(f"スタッフが確認して、\n{reply_when(conv.deps.need(Clinic), conv.now)}")


@actions.register("data.delete")
async def delete_my_data(conv: Conversation, params: Params) -> None:
    """「データ削除」: forget the runner's answers and tags; say so plainly."""
    conv.forget = True
    conv.say_text(
        "これまでのご回答などの\nデータを削除しました。\n"
        "「最初から」とお送りいただくと、\nまたいつでもチェックを\n始められます。"
    )
