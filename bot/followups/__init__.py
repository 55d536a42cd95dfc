"""Follow-ups: check-ins declared in flow files, tags staff can search, segment messages, video-tap counts.

Importing this package registers the ``followups.stop`` / ``followups.resume`` actions (「配信停止」/
「配信再開」) and a runtime plugin that wires the rest into the runtime:
- commit hooks: keep the tag index in line with each runner's tags, and schedule check-ins on new tags;
- a forget hook: a runner who blocked or deleted their data leaves every tag set (the scheduler's own
  hook already cancels their check-ins);
- handlers for the bot-made events ``x-checkin`` and ``x-video_click``;
- ``services.video_link_factory``: video cards link through the counting redirect when the bot has a
  public address.
Routes are mounted by ``bot.followups.api.mount`` (called from ``bot.app``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.followups import optout  # noqa: F401  (registers the followups.* actions)
from bot.followups.schedule import EVENT_TYPE, CheckinPlanner, handle_checkin
from bot.followups.tags import TagIndex
from bot.followups.tracking import CLICK_EVENT, LinkSigner, handle_click, link_factory, public_base

if TYPE_CHECKING:
    from bot.runtime import Runtime


def install(runtime: Runtime) -> None:
    services, settings = runtime.services, runtime.settings
    tags = TagIndex(runtime.store, ttl_seconds=settings.runner_ttl_seconds)
    runtime.commit_stages.append(tags.stage_commit)  # one pipeline shared with the other commit stages
    runtime.commit_hooks.append(CheckinPlanner(runtime.scheduler).on_commit)
    runtime.forget_hooks.append(tags.forget)
    services.internal_handlers[EVENT_TYPE] = handle_checkin
    services.internal_handlers[CLICK_EVENT] = handle_click
    base = public_base(settings)
    if base is not None and services.video_link_factory is None:
        services.video_link_factory = link_factory(services, LinkSigner(settings.channel_secret()), base)
