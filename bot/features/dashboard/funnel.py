"""The funnel: how many friends reach a check, a video, a booking — per day, as counters.

Counting happens in a commit hook, after the consumer stored the event: one ``HINCRBY`` per new milestone on
``lb:{funnel}:<YYYY-MM-DD>`` (the clinic's local date). No scans, nothing on the webhook's path. A milestone
is a tag the event newly added, so a runner who restarts the check is not counted twice:
``friend`` (follow), ``check_started`` (entered the first question), ``check_done``, ``red_flag``,
``video_sent``, ``watched_video``. An unblock (``unblocked``, given with ``friend`` by the follow handler)
is counted as a return, not as a new friend. Bookings made, cancelled and kept come from the booking records.

Per question: the first time a runner is asked a question (``asked:<flow>.<step>``) and the first time they
answer it (``answered:<flow>.<step>``), so staff see where runners stop. "First time" per runner is one hash
in the runner's own slot (``lb:{U}:funnel``, fields ``q:<flow>.<step>`` asked and ``a:<flow>.<step>``
answered; their TTL, deleted when they are forgotten). On a Redis (not a Cluster) one script in the shared
pipeline sets each field with HSETNX and counts the new ones in the day's hash: no round trip of its own
(the follow-up it replaced was 0.83 of the ~10 round trips an event cost, ``python -m bench.roundtrips``).
On a Cluster the day's hash lives in another slot than the runner's, so the stage sets the fields in the
pipeline and a follow-up counts the new ones. A small hash stays listpack-encoded (~290 B after a check);
the two sets it replaces (``lb:{U}:funnel:asked`` / ``:answered``) cost ~400 B each, since Redis 7.0 keeps
every set of strings as a hashtable. Runners who reached questions before the hash still have those sets:
what they hold counts as reached (nothing they reached then is counted again) and is moved into the hash
the first time such a runner says something.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.config.settings import Settings
from bot.extension import StageFollowUp
from bot.store import Store, keys
from bot.store.lua import Lua
from flows.context import Conversation
from flows.loader import FlowSet

#: Counter field -> the tag whose first appearance counts.
TAG_FIELDS = {
    "friend": "friends",
    "unblocked": "returns",
    "check_started": "checks_started",
    "check_done": "checks_finished",
    "red_flag": "red_flags",
    "video_sent": "videos_sent",
    "watched_video": "videos_watched",
}
#: Column order and Japanese names for pages and CSV.
COLUMNS = [
    ("friends", "友だち追加"),
    ("checks_started", "チェック開始"),
    ("checks_finished", "チェック完了"),
    ("videos_sent", "動画を送った"),
    ("videos_watched", "動画を見た"),
    ("bookings_made", "予約(キャンセル除く)"),
    ("bookings_kept", "来院(予約どおり)"),
    ("red_flags", "受診をすすめた"),
    ("bookings_cancelled", "キャンセルされた予約"),
    ("returns", "ブロック解除"),
]
#: The path from a new friend to a visit, in order: each stage's share of the one before is its conversion.
STAGES = ["friends", "checks_started", "checks_finished", "videos_sent", "videos_watched", "bookings_made",
          "bookings_kept"]
#: Counted beside the path, not on it.
ASIDE = ["red_flags", "bookings_cancelled", "returns"]
LABELS = dict(COLUMNS)
ASKED, ANSWERED = "asked:", "answered:"
#: Counters are kept a little over a year, for year-on-year comparison.
KEEP_SECONDS = 400 * 24 * 3600
MAX_RANGE_DAYS = 366


def day_key(day: dt.date) -> str:
    return f"{keys.PREFIX}:{{funnel}}:{day.isoformat()}"


def reached_key(user_id: str) -> str:
    """The questions a runner was asked and answered: a hash, ``q:<flow>.<step>`` / ``a:…`` → 1."""
    return keys.runner_key(user_id, "funnel")


def stored_field(counter: str) -> str:
    """``asked:knee_back.where`` → ``q:knee_back.where`` (``answered:`` → ``a:``): the runner's hash holds
    a dozen of these for ever (their TTL), so the shorter prefix keeps it in a smaller allocation."""
    if counter.startswith(ASKED):
        return "q:" + counter.removeprefix(ASKED)
    return "a:" + counter.removeprefix(ANSWERED)


def legacy_asked_key(user_id: str) -> str:
    """Before ``reached_key``: a set of ``<flow>.<step>`` asked (read, never written; goes with its TTL)."""
    return keys.runner_key(user_id, "funnel:asked")


def legacy_answered_key(user_id: str) -> str:
    """Before ``reached_key``: a set of ``<flow>.<step>`` answered (read, never written)."""
    return keys.runner_key(user_id, "funnel:answered")


def milestones(new_tags: list[str]) -> list[str]:
    """Counter fields for the tags an event newly gave; a friend who unblocked is a return, not a new friend."""
    returning = "unblocked" in new_tags
    return [TAG_FIELDS[t] for t in new_tags if t in TAG_FIELDS and not (t == "friend" and returning)]


def stage_count(conv: Conversation, pipe: Any) -> StageFollowUp | None:
    """Commit stage: one HINCRBY per milestone this event reached for the first time; questions asked or
    answered are set in the runner's hash, and the follow-up counts those neither it nor an old set had."""
    day = day_key(conv.now.date())
    asked, answered = questions_reached(conv)
    store = conv.deps.need(Store)
    ttl = conv.deps.need(Settings).runner_ttl_seconds
    fields: list[str] = []  # their replies come first, so the follow-up reads them from the start
    if asked or answered:
        if store.cluster:  # the day's hash is in another slot: the follow-up below counts the new fields
            fields = queue_first_times(pipe, conv.user_id, asked, answered, ttl)
        else:
            queue_first_times_counted(pipe, conv.user_id, day, asked, answered, ttl)
    reached = milestones(conv.new_tags())
    for name in reached:
        pipe.hincrby(day, name, 1)
    if reached:
        pipe.expire(day, KEEP_SECONDS)
    if not fields:
        return None
    redis = store.redis

    async def count_new(replies: list[Any]) -> None:
        added, in_old_sets = split_replies(fields, replies, has_asked=bool(asked), has_answered=bool(answered))
        if any(in_old_sets):  # once per runner an older release counted: its sets move into the hash
            await _FOLD_LEGACY.run(redis, (reached_key(conv.user_id), legacy_asked_key(conv.user_id),
                                           legacy_answered_key(conv.user_id)))
        new = [name for name, is_new, counted in zip(fields, added, in_old_sets, strict=True)
               if is_new and not counted]
        if new:
            async with redis.pipeline(transaction=False) as follow_up:
                for name in new:
                    follow_up.hincrby(day, name, 1)
                follow_up.expire(day, KEEP_SECONDS)
                await follow_up.execute()

    return count_new


#: Lua, KEYS as below: every member of the runner's old asked set (KEYS[2]) and answered set (KEYS[3]) goes
#: into their hash (KEYS[1]); run again (an older replica wrote meanwhile), it adds what is missing only.
_FOLD_SETS = """
for i, prefix in ipairs({'q:', 'a:'}) do
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i + 1])) do
    redis.call('HSETNX', KEYS[1], prefix .. member, 1)
  end
end
"""

#: KEYS: the runner's hash, their old asked set, their old answered set, the day's counters. ARGV: the hash's
#: TTL, the counters' TTL, then (field in the runner's hash, counter) pairs. An old set's members move into the
#: hash first (they were counted by the release that wrote them), then each field new to the hash counts once.
_FIRST_TIMES = Lua("""
if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then
""" + _FOLD_SETS + """
  redis.call('DEL', KEYS[2], KEYS[3])
end
local counted = 0
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], 1) == 1 then
    redis.call('HINCRBY', KEYS[4], ARGV[i + 1], 1)
    counted = counted + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if counted > 0 then redis.call('EXPIRE', KEYS[4], ARGV[2]) end
return counted
""")

#: On a Cluster: KEYS: the runner's hash, their old asked set, their old answered set (one slot). Moves every
#: member into the hash and deletes the sets.
_FOLD_LEGACY = Lua(_FOLD_SETS + """
return redis.call('DEL', KEYS[2], KEYS[3])
""")


def counter_names(asked: list[str], answered: list[str]) -> list[str]:
    """The day's counters for questions asked and answered: ``asked:<flow>.<step>``, ``answered:…``."""
    return [ASKED + member for member in asked] + [ANSWERED + member for member in answered]


def queue_first_times_counted(pipe: Any, user_id: str, day: str, asked: list[str], answered: list[str],
                              ttl: int) -> None:
    """Queue the script that sets the runner's fields and counts the new ones in ``day`` (not on a Cluster:
    it touches two slots)."""
    pairs = [part for name in counter_names(asked, answered) for part in (stored_field(name), name)]
    _FIRST_TIMES.queue(pipe, (reached_key(user_id), legacy_asked_key(user_id), legacy_answered_key(user_id),
                              day), ttl, KEEP_SECONDS, *pairs)


def queue_first_times(pipe: Any, user_id: str, asked: list[str], answered: list[str], ttl: int) -> list[str]:
    """On a Cluster: queue, in this order, one HSETNX per field, the hash's EXPIRE, then SMISMEMBER on each
    old set that has members to ask about. Returns the fields, in the order of their HSETNX replies."""
    fields = counter_names(asked, answered)
    own = reached_key(user_id)
    for name in fields:
        pipe.hsetnx(own, stored_field(name), 1)
    pipe.expire(own, ttl)
    if asked:
        pipe.smismember(legacy_asked_key(user_id), asked)
    if answered:
        pipe.smismember(legacy_answered_key(user_id), answered)
    return fields


def split_replies(fields: list[str], replies: list[Any], *, has_asked: bool, has_answered: bool
                  ) -> tuple[list[Any], list[Any]]:
    """(HSETNX reply, whether an old set holds it) for each field (see :func:`queue_first_times`)."""
    added, rest = replies[:len(fields)], replies[len(fields) + 1:]  # + 1: the EXPIRE's reply
    in_old_sets: list[Any] = []
    if has_asked:
        in_old_sets += rest.pop(0)
    if has_answered:
        in_old_sets += rest.pop(0)
    return added, in_old_sets


async def forget(redis: Any, user_id: str) -> None:
    """Forget hook: which questions a runner saw goes with the rest of their data (the old sets too)."""
    await redis.delete(reached_key(user_id), legacy_asked_key(user_id), legacy_answered_key(user_id))


def questions_reached(conv: Conversation) -> tuple[list[str], list[str]]:
    """``<flow>.<step>`` of the question the runner is on now, and of every question they have answered."""
    loaded = conv.deps.need(FlowSet).get(conv.state.flow)
    if loaded is None:
        return [], []
    flow = loaded.flow
    current = flow.steps.get(conv.state.step) if conv.state.step else None
    asked = [f"{flow.flow}.{conv.state.step}"] if current is not None and current.ask is not None else []
    answered, keys_seen = [], set()
    for name, step in flow.steps.items():
        if step.ask is not None and step.ask.key in conv.state.answers and step.ask.key not in keys_seen:
            keys_seen.add(step.ask.key)
            answered.append(f"{flow.flow}.{name}")
    return asked, answered


@dataclass(slots=True)
class Day:
    day: dt.date
    values: dict[str, int]
    #: ``asked:<flow>.<step>`` / ``answered:<flow>.<step>`` -> runners that day.
    questions: dict[str, int] = field(default_factory=dict)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        first, last = last, first
    span = min((last - first).days, MAX_RANGE_DAYS - 1)
    return [first + dt.timedelta(days=i) for i in range(span + 1)]


async def load(redis: Any, days: list[dt.date], bookings: Iterable[Any] = (), *, tz: dt.tzinfo,
               now: dt.datetime) -> list[Day]:
    """Counters for each day; bookings by the day they were made (apart when since cancelled), and kept
    (past their start, not cancelled) by the day of the visit."""
    rows = [Day(d, {name: 0 for name, _ in COLUMNS}) for d in days]
    by_day = {row.day: row for row in rows}
    async with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.hgetall(day_key(row.day))
        stored_days = await pipe.execute()
    for row, stored in zip(rows, stored_days, strict=True):
        for name, value in stored.items():
            if name in row.values:
                row.values[name] = int(value)
            elif name.startswith((ASKED, ANSWERED)):
                row.questions[name] = int(value)
    for booking in bookings:
        made = dt.datetime.fromtimestamp(booking.created_at, tz).date()
        if made in by_day:
            by_day[made].values["bookings_made" if booking.active else "bookings_cancelled"] += 1
        start = dt.datetime.fromtimestamp(booking.start, tz)
        kept = booking.active and getattr(booking, "attendance", None) != "no_show"  # 無断キャンセル is not kept
        if kept and start <= now and start.date() in by_day:
            by_day[start.date()].values["bookings_kept"] += 1
    return rows


def totals(rows: list[Day]) -> dict[str, int]:
    return {name: sum(r.values[name] for r in rows) for name, _ in COLUMNS}


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the path over the range: how many, and how many of the step before came this far."""

    name: str
    label: str
    count: int
    previous: int | None  # None for the first stage

    @property
    def rate(self) -> float | None:
        """This stage as a share of the one before (None when there is nothing before to compare with)."""
        return None if not self.previous else self.count / self.previous

    @property
    def dropped(self) -> int | None:
        return None if self.previous is None else max(self.previous - self.count, 0)


def stages(total: dict[str, int]) -> list[Stage]:
    return [Stage(name, LABELS[name], total[name], total[STAGES[i - 1]] if i else None)
            for i, name in enumerate(STAGES)]


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One question over the range: runners asked, runners who answered, and who stopped there."""

    flow: str
    title: str
    asked: int
    answered: int

    @property
    def dropped(self) -> int:
        return max(self.asked - self.answered, 0)

    @property
    def drop_rate(self) -> float | None:
        return None if not self.asked else self.dropped / self.asked


def question_rows(rows: list[Day], flows: FlowSet) -> list[QuestionRow]:
    """Every question of every flow, in the flow's order, with its titles in Japanese."""
    summed: dict[str, int] = {}
    for row in rows:
        for name, value in row.questions.items():
            summed[name] = summed.get(name, 0) + value
    found = []
    for loaded in flows:
        for name, step in loaded.flow.steps.items():
            if step.ask is None:
                continue
            member = f"{loaded.flow.flow}.{name}"
            found.append(QuestionRow(loaded.flow.title, step.title or step.ask.title or name,
                                     summed.get(ASKED + member, 0), summed.get(ANSWERED + member, 0)))
    return found


def to_csv(rows: list[Day]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["日付", *[label for _, label in COLUMNS]])
    for row in rows:
        writer.writerow([row.day.isoformat(), *[row.values[name] for name, _ in COLUMNS]])
    writer.writerow(["合計", *totals(rows).values()])
    return out.getvalue()
