"""The dashboard as the core sees it.

- commit stages: record inbox items (words the bot did not understand, requests for a person) and count the
  funnel's milestones, after the consumer's commit, never on the webhook's path;
- the talk's shared copy (the flows' texts, stored once for every runner; see ``talk_copy``), provided as
  ``SharedCopy``;
- a forget hook: a forgotten runner's inbox thread and hand-off go with the rest of their data;
- the hand-off gate in front of runner messages (a person is answering: the bot keeps quiet) and the
  ``x-staff-reply`` handler;
- services: the session signing key, staff accounts (``ADMIN_STAFF_PASSWORDS`` imported once) and the
  login limits;
- routes: the pages under ``/admin``, each behind the session loader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from bot.config.settings import Settings
from bot.extension import Feature, Parts, StageFollowUp
from bot.features.dashboard import (
    auth,
    bookings_pages,
    broadcasts_pages,
    content_pages,
    friends,
    friends_pages,
    funnel,
    funnel_pages,
    handoff,
    inbox,
    inbox_pages,
    login_pages,
    staff_pages,
    talk,
    talk_copy,
)
from bot.features.dashboard.login_limits import LoginLimits
from bot.features.dashboard.views import HERE, LoginRequired, login_required
from bot.features.followups.broadcasts import Broadcasts
from bot.web.staff_accounts import StaffAccounts
from flows.context import Conversation
from handlers.router import Router

log = logging.getLogger(__name__)


def install(parts: Parts) -> None:
    redis, ttl = parts.store.redis, parts.settings.runner_ttl_seconds
    accounts = StaffAccounts(redis)
    parts.provide(accounts)
    parts.provide(LoginLimits(redis))

    async def import_staff() -> None:
        if parts.settings.admin_staff_passwords is not None:
            raw = parts.settings.admin_staff_passwords.get_secret_value()
            imported = await accounts.import_environment(raw)
            if imported:
                log.info("staff logins imported from ADMIN_STAFF_PASSWORDS", extra={"accounts": len(imported)})

    parts.provide(auth.SessionKey(redis, parts.settings, on_first_use=import_staff))

    def record_inbox(conv: Conversation, pipe: Any) -> None:
        inbox.stage_record(conv, pipe, ttl)

    # The clinic's copy the talk refers to instead of repeating it per runner (talk_copy's docstring).
    copy = talk_copy.SharedCopy(lambda: talk_copy.flow_copy(parts.flows, parts.template_variables()))
    parts.provide(copy)

    def record_talk(conv: Conversation, pipe: Any) -> StageFollowUp | None:
        return talk.stage_record(conv, pipe, ttl, copy)

    async def forget(user_id: str) -> None:
        await inbox.forget(redis, user_id, ttl)
        await funnel.forget(redis, user_id)
        await friends.forget(redis, user_id)

    parts.hooks.commit_stages.append(record_inbox)
    parts.hooks.commit_stages.append(funnel.stage_count)
    parts.hooks.commit_stages.append(record_talk)
    parts.hooks.commit_stages.append(friends.NameFetcher(parts).stage)
    parts.hooks.forget.append(forget)

    async def backfill_friends(stop: asyncio.Event) -> None:
        await friends.backfill(parts, stop)

    parts.hooks.loops.append(backfill_friends)
    broadcasts = parts.maybe(Broadcasts)
    if broadcasts is not None:  # each runner a broadcast reached sees it in their talk
        broadcasts.listeners.append(talk.broadcast_listener(redis, ttl))


def mount_pages(app: FastAPI, settings: Settings) -> None:
    app.add_exception_handler(LoginRequired, login_required)
    for pages in (login_pages, inbox_pages, funnel_pages, content_pages, bookings_pages, staff_pages,
                  friends_pages, broadcasts_pages):
        app.include_router(pages.router, dependencies=[Depends(auth.load)])
    app.mount("/admin/static", StaticFiles(directory=str(HERE / "static")), name="admin-static")


def _router() -> Router:
    router = Router("dashboard")
    router.include(talk.router)  # first: it only notes what was heard, and must see what the hand-off hides
    router.include(friends.router)
    router.include(handoff.router)
    router.include(inbox.router)
    return router


feature = Feature(name="dashboard", router=_router(), install=install, routes=mount_pages)
