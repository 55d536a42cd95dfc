"""「配信停止」 / 「配信再開」: a runner stops or resumes the messages the bot sends by itself.

Opting out is a tag (``opted_out``), so staff see it, segment messages skip it, and check-ins already
scheduled are held rather than deleted: a runner who resumes before one is due still gets it. Answers to
what the runner asks (booking, questions, reminders of their own booking) are not follow-ups and still come.
"""

from __future__ import annotations

from flows.actions import ActionRegistry, Params
from flows.context import Conversation

OPTED_OUT = "opted_out"

actions = ActionRegistry()


def opted_out(tags: list[str]) -> bool:
    return OPTED_OUT in tags


@actions.register("followups.stop")
async def stop_follow_ups(conv: Conversation, params: Params) -> None:
    conv.state.add_tags([OPTED_OUT])
    conv.say_text(
        "承知しました。\n"
        "こちらからのお知らせ\n"
        "(その後の具合の確認など)を\n"
        "停止しました。\n\n"
        "ご予約やご質問へのお返事は\n"
        "これまでどおりお送りします。\n"
        "再開する時は\n"
        "「配信再開」と送ってください。"
    )


@actions.register("followups.resume")
async def resume_follow_ups(conv: Conversation, params: Params) -> None:
    conv.state.tags = [t for t in conv.state.tags if t != OPTED_OUT]
    conv.say_text(
        "お知らせの配信を\n"
        "再開しました。\n\n"
        "止めたい時は、いつでも\n"
        "「配信停止」と送ってください。"
    )
