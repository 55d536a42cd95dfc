"""The outbox: messages decided for a runner, stored with their new state, then sent.

Why: the state and the answer must not part ways. The consumer stores both in one script; sending happens
after, and only a confirmed send removes the entry. A crash in between leaves the entry, and whoever drains
the runner next sends it: a reply whose token is still fresh is tried again with that token (LINE refusing
it as used means the first try arrived), anything else by push with the same ``X-Line-Retry-Key`` — so LINE
shows it once.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from bot.delivery.line_client import LineClient, Outcome, SendResult
from bot.store import Store, keys
from bot.store.lua import Lua

log = logging.getLogger(__name__)

MAX_PER_REQUEST = 5
_RETRY_NAMESPACE = uuid.UUID("7b0a3c56-2a7e-4b53-9f0e-6a1f3d1c2b11")

_REPLACE_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LSET', KEYS[1], 0, ARGV[2])
  return 1
end
return 0
"""
_REPLACE_HEAD_LUA = Lua(_REPLACE_HEAD)  # sent by SHA1 (bot/store/lua.py)


def retry_key(*parts: str) -> str:
    """A stable UUID for one send: the same cause always gives the same key."""
    return str(uuid.uuid5(_RETRY_NAMESPACE, ":".join(parts)))


def batches(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [messages[i:i + MAX_PER_REQUEST] for i in range(0, len(messages), MAX_PER_REQUEST)]


@dataclass(slots=True)
class OutboxEntry:
    id: str  # the cause (webhookEventId or a job id); retry keys derive from it
    to: str
    reply_token: str | None
    received_at: float
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    #: Set before the reply is first tried. Found set on an entry still in the outbox (a crash, or LINE was
    #: unavailable), the reply may have arrived: it is tried again with the same token, and LINE's "Invalid
    #: reply token" then means it did (the token was fresh, so it was used, not expired).
    reply_attempted: bool = False
    #: How many leading sends are confirmed, so a partial delivery resumes where it stopped.
    done: int = 0

    def dumps(self) -> str:
        # orjson writes the dataclass's fields as they are: ``dataclasses.asdict`` deep-copied every message
        # dict first (4 % of the consumer's samples, py-spy), and the standard library's encoder took ~33 µs
        # for a result with its video card, orjson ~2 µs.
        return orjson.dumps(self).decode()

    @classmethod
    def loads(cls, raw: str) -> OutboxEntry:
        return cls(**orjson.loads(raw))


class Outbox:
    def __init__(self, store: Store, line: LineClient, *, reply_token_max_age_s: float) -> None:
        self.store = store
        self.line = line
        self.reply_token_max_age_s = reply_token_max_age_s

    def claim_reply(self, entry: OutboxEntry) -> bool:
        """Mark, before the entry is stored, that its first batch will go by reply; True when marked.

        Why before: LINE's reply API has no retry key, so after a crash the bot must know a reply may have gone
        out — it then tries the same token again rather than pushing (see :meth:`_reply`). Marking the entry
        as the commit stores it saves the write that used to happen between the commit and the reply.
        """
        if entry.batches and entry.reply_token and self._token_fresh(entry) and not entry.reply_attempted:
            entry.reply_attempted = True
            return True
        return False

    async def deliver(self, chat_id: str, raw: str, entry: OutboxEntry, *, reply_claimed: bool = False
                      ) -> tuple[bool, str]:
        """Send an entry stored as ``raw`` at the head of the outbox; returns (delivered, what is stored now).

        The caller pops the entry afterwards (it is left in place here). ``reply_claimed``: this process
        marked the reply as attempted when committing (:meth:`claim_reply`) and has not tried it yet.
        """
        key = keys.outbox(chat_id)
        sends = len(entry.batches) + len(entry.pushes)
        while entry.done < sends:
            result, raw = await self._send_one(key, raw, entry, entry.done, reply_claimed)
            reply_claimed = False
            if result.outcome is Outcome.UNAVAILABLE:
                return False, raw
            if result.outcome is Outcome.REJECTED:
                log.error("LINE refused a send; dropped", extra={"cause": entry.id, "status": result.status})
            entry.done += 1
            if entry.done < sends:  # after the last send the caller pops the entry: saving it first is a
                raw = await self._save_progress(key, raw, entry)  # wasted round trip (profiled hot path)
        return True, raw

    def _token_fresh(self, entry: OutboxEntry) -> bool:
        return time.time() - entry.received_at < self.reply_token_max_age_s

    async def _send_one(self, key: str, raw: str, entry: OutboxEntry, index: int, reply_claimed: bool
                        ) -> tuple[SendResult, str]:
        if index < len(entry.batches):
            messages = entry.batches[index]
            key_for = retry_key(entry.id, "reply", str(index))
            token = entry.reply_token if index == 0 else None
            if token and self._token_fresh(entry):
                return await self._reply(key, raw, entry, token, messages, retry_key=key_for,
                                         again=entry.reply_attempted and not reply_claimed)
            # No token, or one certainly expired: a push, whose retry key LINE honours (a reply tried before a
            # crash that happened more than a token's life ago may thus arrive twice: rare, never lost).
            return await self.line.push(entry.to, messages, retry_key=key_for), raw
        push = entry.pushes[index - len(entry.batches)]
        result = await self.line.push(push["to"], push["messages"],
                                      retry_key=retry_key(entry.id, "push", str(push["key"])))
        return result, raw

    async def _reply(self, key: str, raw: str, entry: OutboxEntry, token: str, messages: list[dict[str, Any]],
                     *, retry_key: str, again: bool) -> tuple[SendResult, str]:
        """Answer with the (fresh) reply token; ``again``: a reply with it may have gone out before.

        LINE refuses a used token as it refuses an expired one ("Invalid reply token"). The token is fresh
        here, so when the reply was tried before (a crash mid-reply, LINE down) a refusal means that reply
        arrived: nothing more is sent. A refusal on the first try means the token was spent or expired
        before we used it: the answer goes by push, with its retry key.
        """
        if not entry.reply_attempted:  # an entry stored unmarked: mark it before trying, as the commit would
            entry.reply_attempted = True
            raw = await self._save_progress(key, raw, entry)
        result = await self.line.reply(token, messages)
        if result.outcome is not Outcome.INVALID_REPLY_TOKEN:
            return result, raw
        if again:
            log.info("reply token already used: the reply tried before arrived", extra={"cause": entry.id})
            return SendResult(Outcome.ALREADY_SENT, result.status), raw
        log.info("reply token refused; pushing instead", extra={"cause": entry.id})
        return await self.line.push(entry.to, messages, retry_key=retry_key), raw

    async def _save_progress(self, key: str, raw: str, entry: OutboxEntry) -> str:
        new_raw = entry.dumps()
        await _REPLACE_HEAD_LUA.run(self.store.redis, (key,), raw, new_raw)
        return new_raw
