"""Consumers: take queue notices, and for each runner handle their inbox in order, exactly once.

One runs inside the web process (so ``uvicorn bot.app:app`` alone answers runners); ``python -m bot worker``
runs more. A notice is acknowledged only after the runner's inbox and outbox are empty; one left pending by
a consumer that died is taken over by another after ``reclaim_idle_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.delivery import scripts
from bot.delivery.outbox import Outbox, OutboxEntry, batches
from bot.delivery.queue import EventQueue
from bot.ops import metrics
from bot.ops.logs import correlation_id
from bot.store import keys, shared_trip
from bot.store.per_turn import PerTurn
from bot.webhook.events import Event
from flows.context import Conversation
from flows.state import ConversationState

log = logging.getLogger(__name__)

#: Handles one event given the runner's stored state (a fresh one for a new runner).
Handle = Callable[[Event, ConversationState], Awaitable[Conversation | None]]

LOCK_MS = 10_000
#: A consumer renews the lock of the runner it drains this often, so the lock outlives a slow LINE call while
#: a killed consumer's lock expires within LOCK_MS. (It was a fixed 60 s: runners being drained at a crash
#: waited a minute for their answer — found by tests/test_resilience_kill.py.)
LOCK_RENEW_S = LOCK_MS / 3000
#: An event whose handling raised this many times is set aside as a dead letter.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Step:
    """What :data:`scripts.NEXT_STEP` decided: ``busy``, ``lost``, ``send``, ``handle`` or ``idle``."""

    kind: str
    payload: str = ""  # the outbox entry to send, or the event to handle
    state: str | None = None  # with ``handle``: the runner's stored state (None: none yet)

    @classmethod
    def parse(cls, reply: list[str]) -> Step:
        kind = reply[0]
        payload = reply[1] if len(reply) > 1 else ""
        state = (reply[2] or None) if len(reply) > 2 else None
        return cls(kind, payload, state)


class Consumer:
    def __init__(self, queue: EventQueue, outbox: Outbox, handle: Handle, *, name: str | None = None,
                 state_ttl_seconds: int, reclaim_idle_ms: int = 15_000, concurrency: int = 16,
                 after_commit: Callable[[Conversation], Awaitable[None]] | None = None) -> None:
        self.queue = queue
        self.store = queue.store
        self.outbox = outbox
        self.handle = handle
        self.name = name or f"c-{secrets.token_hex(4)}"
        self.state_ttl_seconds = state_ttl_seconds
        self.reclaim_idle_ms = reclaim_idle_ms
        self.after_commit = after_commit
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_reclaim = 0.0
        self._poisoned: set[str] = set()
        self._acks = PerTurn(self._ack_now, self._tasks)  # finished notices, acknowledged together
        self._held: dict[str, str] = {}  # lock → our token, for each runner being drained now
        self._renewer: asyncio.Task[None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; in-flight runners are finished, not abandoned."""
        while not stop.is_set():
            try:
                await self.queue.ensure_group()
                await self._one_round(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if "NOGROUP" in str(exc):  # the stream was removed (a flushed store): make it again
                    self.queue.group_missing()
                log.warning("consumer round failed; retrying", extra={"error": type(exc).__name__})
                await _wait_either(stop, stop, timeout=1.0)
        for _ in range(3):  # the drains, then the acknowledgements they queued (bounded: a stuck drain)
            if not self._tasks:
                break
            await asyncio.wait(set(self._tasks), timeout=30)
            await asyncio.sleep(0)  # let a queued acknowledgement start (its task joins self._tasks)
            self._acks.flush()

    async def _one_round(self, stop: asyncio.Event) -> None:
        await self._reclaim_if_due()
        reading = asyncio.create_task(self._read())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not reading.done():  # stopping: a blocked read is abandoned, nothing was taken yet
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            return
        notices = reading.result()
        if not notices:
            if self.store.embedded:
                await _wait_either(self.queue.wake, stop, timeout=1.0)
            return
        for entry_id, fields in notices:
            await self._slots.acquire()
            task = asyncio.create_task(self._take_notice(entry_id, fields.get("u", "")))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    async def _read(self) -> list[tuple[str, dict[str, str]]]:
        block = None if self.store.embedded else 1000
        self.queue.wake.clear()
        read = await self.store.redis.xreadgroup(keys.CONSUMER_GROUP, self.name, {keys.EVENT_STREAM: ">"},
                                                 count=32, block=block)
        return [(entry_id, fields) for _stream, entries in (read or []) for entry_id, fields in entries]

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _reclaim_if_due(self) -> None:
        """Take over notices another consumer read and never acknowledged (it died, or LINE was down)."""
        now = time.monotonic()
        if now - self._last_reclaim < self.reclaim_idle_ms / 2000:
            return
        self._last_reclaim = now
        result = await self.store.redis.xautoclaim(
            keys.EVENT_STREAM, keys.CONSUMER_GROUP, self.name, min_idle_time=self.reclaim_idle_ms,
            start_id="0-0", count=64,
        )
        claimed = result[1] if isinstance(result, list | tuple) and len(result) > 1 else []
        metrics.RECLAIMED.inc(len(claimed))
        for entry_id, fields in claimed:
            if fields:  # a trimmed entry comes back empty
                await self._slots.acquire()
                task = asyncio.create_task(self._take_notice(entry_id, fields.get("u", "")))
                self._tasks.add(task)
                task.add_done_callback(self._done)
            else:
                await self._ack(entry_id)

    async def _take_notice(self, entry_id: str, chat_id: str) -> None:
        try:
            correlation_id.set(f"notice:{entry_id}")  # this task's own context; an event id replaces it
            finished = await self.drain(chat_id) if chat_id else True
        except Exception:
            log.exception("handling a runner's events failed; the notice will be retried")
            return
        if finished:
            await self._ack(entry_id)

    async def _ack(self, entry_id: str) -> None:
        """Acknowledge a notice together with the others finished in the same turn of the event loop.

        Why together: one XACK + XDEL round trip per notice was ~3 % of the web process's CPU at load
        (py-spy); several drains often finish in the same turn. A notice acknowledged late (or never, after
        a crash) is only read again and finds its runner's inbox empty, so nothing depends on the moment.
        """
        self._acks.add(entry_id)

    async def _ack_now(self, ids: list[str]) -> None:
        try:
            shared_trip.raise_first_error(await shared_trip.execute(self.store.redis, [
                shared_trip.command("XACK", keys.EVENT_STREAM, keys.CONSUMER_GROUP, *ids),
                shared_trip.command("XDEL", keys.EVENT_STREAM, *ids),
            ]))
        except Exception as exc:  # the notices stay pending and are reclaimed: their drain finds nothing
            log.warning("acknowledging notices failed", extra={"error": type(exc).__name__, "notices": len(ids)})

    async def drain(self, chat_id: str) -> bool:
        """Handle this runner's waiting events in order. True when the notice can be acknowledged.

        Each event costs two scripts of this consumer's own — the commit, and the next step (which pops what
        was delivered, renews the lock and fetches the next event with its state, or lets go) — plus what the
        handler and the commit hooks read and write.
        """
        token = secrets.token_hex(8)
        lock = keys.lock(chat_id)
        step = await self._next_step(chat_id, token, take=True)
        if step.kind == "busy":
            return False  # another consumer is on it; this notice waits and is reclaimed later
        self._hold(lock, token)
        try:
            while step.kind in ("send", "handle"):
                if step.kind == "send":
                    delivered, sent = await self.outbox.deliver(chat_id, step.payload,
                                                                OutboxEntry.loads(step.payload))
                else:
                    delivered, sent = await self._handle_head(chat_id, step.payload, step.state)
                if not delivered:
                    await self._let_go(lock, token)
                    return False  # LINE is unavailable: keep everything; the notice is retried later
                step = await self._next_step(chat_id, token, take=False, delivered=sent)
            return step.kind == "idle"  # "lost": our lock expired and another consumer drains the runner
        except BaseException:
            await self._let_go(lock, token)
            raise
        finally:
            self._unhold(lock)

    async def _next_step(self, chat_id: str, token: str, *, take: bool, delivered: str = "") -> Step:
        reply = await scripts.NEXT_STEP_LUA.run(
            self.store.redis, (keys.lock(chat_id), keys.outbox(chat_id), keys.inbox(chat_id), keys.state(chat_id)),
            token, LOCK_MS, "1" if take else "0", delivered,
        )
        return Step.parse(reply)

    def _hold(self, lock: str, token: str) -> None:
        """Keep ``lock`` renewed while we drain its runner. One loop renews every lock this consumer holds:
        a task per drain (created, then cancelled with an exception) cost more than most drains' own work."""
        self._held[lock] = token
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_held())

    def _unhold(self, lock: str) -> None:
        self._held.pop(lock, None)
        if not self._held and self._renewer is not None:  # idle: nothing left to renew, no task left behind
            self._renewer.cancel()
            self._renewer = None

    async def _renew_held(self) -> None:
        """Every LOCK_RENEW_S, renew the locks still held, in one round trip. A lock released meanwhile, or
        taken over by another consumer, is left alone: the script renews only a lock holding our token."""
        while self._held:
            await asyncio.sleep(LOCK_RENEW_S)
            redis = self.store.redis
            await asyncio.gather(*(scripts.KEEP_LOCK_LUA.run(redis, (lock,), token, LOCK_MS)
                                   for lock, token in list(self._held.items())), return_exceptions=True)

    async def _let_go(self, lock: str, token: str) -> None:
        await scripts.RELEASE_MINE_LUA.run(self.store.redis, (lock,), token)

    async def _handle_head(self, chat_id: str, raw: str, state_json: str | None) -> tuple[bool, str]:
        """Handle the inbox head, commit, then send the answer from memory while the commit hooks run.

        Returns (delivered, the stored outbox entry to pop — '' when there is none).
        """
        event = Event.loads(raw)
        correlation_id.set(event.id)  # every log line about this event (and its sends) carries it
        try:
            conv = await self.handle(event, ConversationState.from_json(state_json))
        except Exception:
            if not await self._give_up_after_repeated_failures(chat_id, event, raw):
                raise
            conv = None
        state_json_out, entry = "-", None
        if conv is not None:
            state_json_out = "" if conv.forget else conv.state.to_json()
            entry = self._outbox_entry(event, conv)
        elif event.id in self._poisoned:
            entry = self._apology(event)
        reply_claimed = entry is not None and self.outbox.claim_reply(entry)
        entry_json = entry.dumps() if entry is not None else ""
        committed = await scripts.COMMIT_LUA.run(
            self.store.redis, (keys.state(chat_id), keys.inbox(chat_id), keys.outbox(chat_id)), raw,
            state_json_out, entry_json, self.state_ttl_seconds, self.queue.inbox_ttl_seconds,
        )
        bookkeeping = None
        if committed and conv is not None and self.after_commit is not None:
            # The features' bookkeeping (talk, funnel, follow-ups) starts now and runs beside the answer, which
            # no longer waits for its round trips; the drain waits for both before the next event.
            bookkeeping = asyncio.create_task(_bookkeep(self.after_commit, conv))
        metrics.HANDLING.observe(max(0.0, time.time() - event.received_at))
        try:
            if not committed or entry is None:
                return True, ""
            # The entry is the outbox's newest; any older one was sent before this event was handled (the
            # next step sends stored entries first), so it is the head and is delivered from memory.
            return await self.outbox.deliver(chat_id, entry_json, entry, reply_claimed=reply_claimed)
        finally:
            if bookkeeping is not None:
                await bookkeeping

    async def _give_up_after_repeated_failures(self, chat_id: str, event: Event, raw: str) -> bool:
        """An event that fails every time must not block the runner forever: after a few tries it is set
        aside (for a developer to look at) and the runner gets an apology instead of silence."""
        redis = self.store.redis
        failures_key = keys.failures(chat_id, event.id)
        failures = int(await redis.incr(failures_key))
        await redis.expire(failures_key, 24 * 3600)
        log.exception("handling an event failed", extra={"event_id": event.id, "event_type": event.type,
                                                          "attempt": failures})
        if failures < MAX_ATTEMPTS:
            return False
        await redis.lpush(keys.DEAD_LETTERS, raw)
        await redis.ltrim(keys.DEAD_LETTERS, 0, 999)
        self._poisoned.add(event.id)
        return True

    def _apology(self, event: Event) -> OutboxEntry | None:
        self._poisoned.discard(event.id)
        if not event.is_one_to_one or event.type in {"unfollow", "leave", "memberLeft"}:
            return None
        sorry = {"type": "text", "text": "申し訳ありません。\nうまく処理できませんでした。\n"
                                         "お手数ですが、もう一度お試しください。"}
        return OutboxEntry(id=event.id, to=event.chat_id, reply_token=event.reply_token,
                           received_at=event.received_at, batches=[[sorry]])

    @staticmethod
    def _outbox_entry(event: Event, conv: Conversation) -> OutboxEntry | None:
        if conv.silent or (not conv.replies and not conv.pushes):
            return None
        pushes: list[dict[str, Any]] = [
            {"to": p.to, "messages": chunk, "key": f"{p.key}.{i}"}
            for p in conv.pushes for i, chunk in enumerate(batches(p.messages))
        ]
        return OutboxEntry(id=event.id, to=event.chat_id, reply_token=event.reply_token,
                           received_at=event.received_at,
                           batches=[] if conv.silent else batches(conv.replies), pushes=pushes)


async def _bookkeep(after_commit: Callable[[Conversation], Awaitable[None]], conv: Conversation) -> None:
    """The commit hooks. A failure is logged and does not hold the runner up: the event is stored and its
    answer goes out; only what the hook would have recorded is missing (as after a crash at this point)."""
    try:
        await after_commit(conv)
    except Exception:
        log.exception("a commit hook failed; the runner's answer is sent all the same")


async def _wait_either(first: asyncio.Event, second: asyncio.Event, *, timeout: float) -> None:
    waits = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
