"""Follow-ups as the core sees it.

- actions ``followups.stop`` / ``followups.resume`` (「配信停止」/「配信再開」);
- commit hooks: keep the tag index in line with each runner's tags (a stage in the shared pipeline), and
  schedule check-ins on new tags;
- a forget hook: a runner who blocked or deleted their data leaves every tag set (the scheduler's own
  forget hook already cancels their check-ins);
- handlers for the bot-made events ``x-checkin`` and ``x-video_click``;
- video cards link through the counting redirect when the bot has a public address;
- broadcasts (segment messages now or later, with a worker loop) and the rich menu that follows the tags
  (a commit stage queues, a worker loop links);
- routes: the staff API (``/admin/api/users``, ``/admin/api/messages``) and the ``/v/<flow>/<video>`` redirect.
"""

from __future__ import annotations

from bot.config.settings import Settings
from bot.extension import Feature, Parts
from bot.features.followups import schedule, staff_tags, tracking
from bot.features.followups.api import mount
from bot.features.followups.broadcasts import Broadcasts
from bot.features.followups.optout import actions
from bot.features.followups.richmenus import MenuFollower
from bot.features.followups.tags import TagIndex
from handlers.router import Router


def install(parts: Parts) -> None:
    settings: Settings = parts.settings
    tags = TagIndex(parts.store, ttl_seconds=settings.runner_ttl_seconds)
    parts.hooks.commit_stages.append(tags.stage_commit)
    parts.hooks.after_commit.append(schedule.CheckinPlanner(parts.scheduler).on_commit)
    parts.hooks.forget.append(tags.forget)
    broadcasts = Broadcasts(parts)
    parts.provide(broadcasts)
    parts.hooks.loops.append(broadcasts.run)
    menus = MenuFollower(parts)  # the rich menu follows the runner's tags
    parts.hooks.commit_stages.append(menus.stage)
    parts.hooks.forget.append(menus.forget)
    parts.hooks.loops.append(menus.run)
    base = tracking.public_base(settings)
    if base is not None:
        signer = tracking.LinkSigner(settings.channel_secret())
        parts.set_video_link(tracking.link_factory(parts.flows, signer, base))


def _router() -> Router:
    router = Router("followups")
    router.include(schedule.router)
    router.include(tracking.router)
    router.include(staff_tags.router)
    return router


feature = Feature(name="followups", actions=actions, router=_router(), install=install, routes=mount)
