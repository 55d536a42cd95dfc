"""Scheduled sends (day-before reminders, check-ins): due jobs become events in the runner's own inbox.

Why this shape: a due job is not sent from here. It is queued as a bot-made event (``x-<kind>``) into the
runner's inbox, so it is handled in order with what the runner does, by the same engine, and sent through
the same outbox with a retry key — exactly once, whichever worker claimed it.

Storage (one hash-tagged slot, so the claim script is atomic on a cluster too):
``lb:{sched}:due`` a sorted set of job ids by due time, ``lb:{sched}:jobs`` a hash of job JSON.
Per runner, ``lb:{U…}:jobs:due`` lists their job ids (a sorted set by due time), so a block cancels
everything in one step; it expires a week after their latest job was due, so no runner's key is kept for
ever. A sorted set because a runner's few ids then stay listpack-encoded (~100 B); the set it replaces
(``lb:{U…}:jobs``, ~280 B: Redis 7.0 keeps every set of strings as a hashtable) is still read and emptied
for runners scheduled before, and goes by its own expiry.

Claiming moves a job's score forward by a lease instead of removing it: a worker that dies after claiming
leaves the job to be claimed again when the lease runs out; the inbox de-duplicates by job id.

Why not arq's deferred jobs: an arq job runs a function in whichever worker takes it, beside the runner's own
events rather than in their order; its queue keys share no hash slot, so it does not run on Redis Cluster;
cancelling every job of one runner (a block) would need a scan; and it holds redis-py below 6. What is needed
here is small — a sorted set, a claim script and a per-runner index — and keeps all three guarantees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.config.clinic import QuietHours
from bot.delivery.queue import EventQueue
from bot.scheduling.rounds import run_rounds
from bot.store import Store, shared_trip
from bot.store.keys import PREFIX, runner_key

log = logging.getLogger(__name__)

DUE = f"{PREFIX}:{{sched}}:due"
JOBS = f"{PREFIX}:{{sched}}:jobs"
LEASE_SECONDS = 60
#: How long a runner's job index is kept after their latest job was due (normally it empties itself first).
INDEX_MARGIN_SECONDS = 7 * 24 * 3600

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  local job = redis.call('HGET', KEYS[2], id)
  if job then table.insert(out, job) else redis.call('ZREM', KEYS[1], id) end
end
return out
"""


def runner_jobs_key(user_id: str) -> str:
    """The runner's job ids, by due time."""
    return runner_key(user_id, "jobs:due")


def legacy_jobs_key(user_id: str) -> str:
    """Before ``runner_jobs_key``: the runner's job ids as a set (read and emptied, never added to)."""
    return runner_key(user_id, "jobs")


@dataclass(slots=True)
class Job:
    """A send due at ``due`` (epoch seconds) for ``user_id``; ``kind`` names the event handler."""

    id: str
    user_id: str
    kind: str  # handled as event type "x-<kind>"
    due: float
    data: dict[str, Any] = field(default_factory=dict)
    quiet_hours: bool = True  # wait for morning if due at night

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Job:
        return cls(**json.loads(raw))


def after_quiet_hours(due: float, quiet: QuietHours, tz: dt.tzinfo) -> float:
    """The first moment at or after ``due`` that is outside the quiet hours."""
    moment = dt.datetime.fromtimestamp(due, tz)
    if not quiet.contains(moment.time()):
        return due
    end = moment.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= moment:
        end += dt.timedelta(days=1)
    return end.timestamp()


class Scheduler:
    def __init__(self, store: Store, queue: EventQueue, *, quiet: QuietHours, tz: dt.tzinfo,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.queue = queue
        self.quiet = quiet
        self.tz = tz
        self.clock = clock

    async def schedule(self, job: Job) -> Job:
        """Add or replace a job (same id: moved, not duplicated). Quiet hours push it to the morning."""
        if job.quiet_hours:
            job.due = after_quiet_hours(job.due, self.quiet, self.tz)
        # One round trip, shared with the turn's others (check-ins are scheduled from a commit hook, on the
        # consumer's hot path). In this order: the job exists before it is due, so a claim never finds a due
        # id without its job.
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hset(JOBS, job.id, job.dumps())
            pipe.zadd(DUE, {job.id: job.due})
            own = runner_jobs_key(job.user_id)
            pipe.zadd(own, {job.id: job.due})
            # The runner's index outlives their latest job by a margin, then goes (EXPIRE needs Redis 7: NX
            # sets the first expiry, GT only ever lengthens it, so a sooner job never cuts a later one short).
            keep = max(1, int(job.due - self.clock())) + INDEX_MARGIN_SECONDS
            pipe.expire(own, keep, nx=True)
            pipe.expire(own, keep, gt=True)
            await shared_trip.execute_queued(self.store.redis, pipe)
        return job

    async def cancel(self, user_id: str, job_id: str) -> None:
        """Take a job off the schedule and out of the runner's index (old set included), in one round trip."""
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(DUE, job_id)
            pipe.hdel(JOBS, job_id)
            pipe.zrem(runner_jobs_key(user_id), job_id)
            pipe.srem(legacy_jobs_key(user_id), job_id)
            await pipe.execute()

    async def cancel_all(self, user_id: str, kinds: set[str] | None = None) -> int:
        """Cancel a runner's jobs (all, or those of ``kinds``); returns how many."""
        jobs = await self.jobs_for(user_id)
        chosen = [j for j in jobs if kinds is None or j.kind in kinds]
        for job in chosen:
            await self.cancel(user_id, job.id)
        return len(chosen)

    async def jobs_for(self, user_id: str) -> list[Job]:
        redis = self.store.redis
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zrange(runner_jobs_key(user_id), 0, -1)
            pipe.smembers(legacy_jobs_key(user_id))
            own, legacy = await pipe.execute()
        ids = sorted(set(own) | set(legacy))
        if not ids:
            return []
        raws = await redis.hmget(JOBS, ids)
        jobs = [Job.loads(raw) for raw in raws if raw]
        return sorted(jobs, key=lambda j: j.due)

    async def run_due(self, now: float | None = None, limit: int = 100) -> int:
        """Queue every job due by ``now`` into its runner's inbox; returns how many were queued."""
        now = self.clock() if now is None else now
        raws = await self.store.redis.eval(_CLAIM, 2, DUE, JOBS, now, now + LEASE_SECONDS, limit)
        queued = 0
        for raw in raws:
            job = Job.loads(raw)
            if job.quiet_hours:
                later = after_quiet_hours(now, self.quiet, self.tz)
                if later > now:  # due during the night: wait for the morning, do not send now
                    await self.store.redis.zadd(DUE, {job.id: later})
                    continue
            event = {"type": f"x-{job.kind}", "timestamp": int(now * 1000), "job": asdict(job)}
            await self.queue.enqueue_internal(job.user_id, f"job:{job.id}", event, now)
            await self.cancel(job.user_id, job.id)  # queued: off the schedule the same way a cancelled one goes
            queued += 1
        return queued

    async def run(self, stop: asyncio.Event, interval_s: float = 5.0) -> None:
        """Claim and queue due jobs until ``stop`` is set (a worker loop: the web process runs it too)."""
        await run_rounds(stop, self.run_due, interval_s=interval_s, what="scheduler")
