"""Segment messages: staff send one message to every runner with a given set of tags.

Rules, and why:
- Quiet hours (``clinic.quiet_hours``, 21:00–9:00 by default) refuse the send with 409 and the time it may
  go (``not_before``): a broadcast is the clinic speaking, so staff should see that it did not go, rather
  than have it leave unattended at 9:00 with nobody watching. A dry run works at any hour.
- Runners who sent 「配信停止」 (tag ``opted_out``) are left out; runners who blocked are already gone
  from the tag sets.
- Runners told to see a doctor (tag ``red_flag``) are left out unless staff include them explicitly
  (``include_red_flag``, or ``red_flag`` among the tags asked for): a campaign about self-care or booking must
  not reach someone whose answers showed a warning sign.
- Recipients go out in multicasts of at most 500 (LINE's limit), each with an ``X-Line-Retry-Key`` made
  from the request id and the batch number. The recipient list of a request id is stored for a day, so
  retrying the same request sends the same batches, and LINE drops those it already accepted (409).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config.clinic import Clinic
from bot.delivery.line_client import LineClient
from bot.delivery.outbox import retry_key
from bot.features.followups.optout import OPTED_OUT
from bot.features.followups.tags import TagIndex
from bot.scheduling.scheduler import after_quiet_hours
from bot.store import Store
from bot.store.keys import PREFIX

MULTICAST_LIMIT = 500
RED_FLAG = "red_flag"
REQUEST_TTL_SECONDS = 24 * 3600  # LINE remembers a retry key for 24 hours


def request_key(request_id: str) -> str:
    return f"{PREFIX}:{{segments}}:request:{request_id}"


def new_request_id() -> str:
    return secrets.token_hex(12)


def chunks(user_ids: list[str], size: int = MULTICAST_LIMIT) -> list[list[str]]:
    return [user_ids[i:i + size] for i in range(0, len(user_ids), size)]


@dataclass(slots=True)
class SendReport:
    request_id: str
    recipients: int
    batches: int
    sent_batches: int = 0
    failed_batches: list[int] = field(default_factory=list)
    #: Runners in the batches LINE accepted.
    sent_to: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "recipients": self.recipients, "batches": self.batches,
                "sent_batches": self.sent_batches, "failed_batches": self.failed_batches, "sent_to": self.sent_to}


def quiet_until(clinic: Clinic, now: float) -> dt.datetime | None:
    """When the quiet hours end, if ``now`` is inside them."""
    later = after_quiet_hours(now, clinic.quiet_hours, clinic.tz)
    return dt.datetime.fromtimestamp(later, clinic.tz) if later > now else None


def excluded(tags: list[str], exclude: list[str], include_red_flag: bool) -> list[str]:
    """The tags that keep a runner out: staff's, opted out, and red flag unless staff asked for it."""
    keep_red_flag = include_red_flag or RED_FLAG in tags
    return [*exclude, OPTED_OUT, *([] if keep_red_flag else [RED_FLAG])]


class SegmentSender:
    def __init__(self, store: Store, tags: TagIndex, line: LineClient) -> None:
        self.store = store
        self.tags = tags
        self.line = line

    async def audience(self, tags: list[str], exclude: list[str], *, include_red_flag: bool = False) -> list[str]:
        """Who would get the message now: every tag, none of ``exclude``, not opted out, no red flag unless
        included explicitly."""
        return await self.tags.runners_with(tags, without=excluded(tags, exclude, include_red_flag))

    async def send(self, request_id: str, tags: list[str], exclude: list[str],
                   messages: list[dict[str, Any]], *, include_red_flag: bool = False,
                   on_batch: Callable[[list[str]], Awaitable[object]] | None = None) -> SendReport:
        """Send in batches; ``on_batch`` hears each batch LINE accepted (the talk records it per runner)."""
        recipients = await self._fixed_audience(request_id, tags, exclude, include_red_flag)
        groups = chunks(recipients)
        report = SendReport(request_id=request_id, recipients=len(recipients), batches=len(groups))
        for index, group in enumerate(groups):
            result = await self.line.multicast(group, messages,
                                               retry_key=retry_key("segment", request_id, str(index)))
            if result.delivered:
                report.sent_batches += 1
                report.sent_to += len(group)
                if on_batch is not None:
                    await on_batch(group)
            else:
                report.failed_batches.append(index)
        return report

    async def _fixed_audience(self, request_id: str, tags: list[str], exclude: list[str],
                              include_red_flag: bool) -> list[str]:
        """The audience chosen the first time this request id was sent (so a retry repeats it exactly)."""
        redis = self.store.redis
        key = request_key(request_id)
        audience = await self.audience(tags, exclude, include_red_flag=include_red_flag)
        stored = await redis.set(key, json.dumps(audience), nx=True, ex=REQUEST_TTL_SECONDS)
        if stored:
            return audience
        earlier = await redis.get(key)
        return list(json.loads(earlier)) if earlier else audience
