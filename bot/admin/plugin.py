"""Runtime plugin of the dashboard: record inbox items and funnel counters after each stored event.

Both run as commit hooks, after the consumer's commit, never on the webhook's path. A forgotten runner's
inbox thread and hand-off go with the rest of their data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.admin import funnel, inbox

if TYPE_CHECKING:
    from bot.runtime import Runtime


def install(runtime: Runtime) -> None:
    redis = runtime.store.redis

    async def forget(user_id: str) -> None:
        await inbox.forget(redis, user_id)

    runtime.commit_stages.append(inbox.stage_record)  # one pipeline shared with the other commit stages
    runtime.commit_stages.append(funnel.stage_count)
    runtime.forget_hooks.append(forget)
    runtime.services.internal_handlers[inbox.STAFF_REPLY_EVENT] = inbox.handle_staff_reply
