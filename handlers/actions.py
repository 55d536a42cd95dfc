"""Actions every flow can name whatever features are on: clinic info, asking for a person, forgetting a runner.

They are part of the core (a runner must always be able to delete their data); the runtime includes
:data:`actions` into the engine's registry before any feature's.
"""

from __future__ import annotations

from bot.config.clinic import WEEKDAYS, Clinic
from flows.actions import ActionRegistry, Params
from flows.context import Conversation

actions = ActionRegistry()

WEEKDAY_JA = dict(zip(WEEKDAYS, "月火水木金土日", strict=True))


def opening_hours_text(clinic: Clinic) -> str:
    lines = []
    for day in WEEKDAYS:
        hours = clinic.hours.get(day)
        when = f"{hours.open:%H:%M}〜{hours.close:%H:%M}" if hours else "定休日"
        lines.append(f"{WEEKDAY_JA[day]} {when}")
    return "\n".join(lines)


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


@actions.register("staff.request")
async def staff_request(conv: Conversation, params: Params) -> None:
    """The runner wants a person: note it for the staff inbox and tell the staff on LINE."""
    conv.state.extra["wants_staff_at"] = conv.now.isoformat()
    conv.state.add_tags(["wants_staff"])
    conv.say_text(
        "スタッフにお伝えしました。\n"
        "順番にお返事しますので、\n"
        "少しお待ちください。\n\n"
        "ご用件を、このまま文字で\n"
        "送っていただいても大丈夫です。"
    )
    for staff_id in conv.deps.need(Clinic).staff_user_ids:
        conv.notify(staff_id, [{"type": "text", "text": "ランナーさんから、スタッフとの会話の希望が届きました。"
                                                        "管理画面の受信箱をご確認ください。"}],
                    key=f"staff-request:{staff_id}")


@actions.register("data.delete")
async def delete_my_data(conv: Conversation, params: Params) -> None:
    """「データ削除」: forget the runner's answers and tags; say so plainly."""
    conv.forget = True
    conv.say_text(
        "これまでのご回答などのデータを削除しました。\n"
        "またいつでも「最初から」と送って\n"
        "チェックを始められます。"
    )
