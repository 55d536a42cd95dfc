"""The consumer's Lua scripts: each one is a step that must not be split, and one round trip instead of several.

All keys of one script are the runner's own (``lb:{U…}:…``), so they share a Redis Cluster hash slot.
"""

from __future__ import annotations

from bot.store.lua import Lua

KEEP_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE_MINE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"

# What the lock holder does next. KEYS: lock, outbox, inbox, state. ARGV: token, lock ms, '1' to take the lock
# (first step of a drain) or '0' (we should hold it already), the outbox entry just delivered ('' for none).
# 1. The delivered entry leaves the outbox — only if it is still the head, so a changed entry is never lost.
# 2. The lock is taken, or checked and renewed (so the drain loop needs no separate renewal round trip).
# 3. An unsent outbox entry comes first (a crash may have left one); else the oldest event, with the state it
#    applies to (so the handler does not GET it); else the lock is given back.
# Atomic: an event accepted meanwhile is either returned here or finds the lock free (its notice then
# drains it) — it never waits for a holder that already left. Replies: {'busy'} (someone else holds the
# lock), {'lost'} (ours expired and was taken), {'send', entry}, {'handle', event, state or ''}, {'idle'}.
NEXT_STEP = """
if ARGV[4] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[4] then redis.call('LPOP', KEYS[2]) end
if ARGV[3] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
elseif redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {'lost'}
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local entry = redis.call('LINDEX', KEYS[2], 0)
if entry then return {'send', entry} end
local event = redis.call('LINDEX', KEYS[3], 0)
if event then return {'handle', event, redis.call('GET', KEYS[4]) or ''} end
redis.call('DEL', KEYS[1])
return {'idle'}
"""

# Store what handling an event decided — new state, answer to send — and take the event off the inbox, in one
# step, so a crash leaves either the event to handle again or its state and answer, never half. If the inbox
# head is no longer this event, someone else handled it: change nothing. KEYS: state, inbox, outbox.
# ARGV: event, state JSON ('' deletes it, '-' keeps it), outbox entry ('' for none), state TTL seconds, outbox
# TTL seconds (an entry LINE never took — LINE down for days — does not outlive the runner's inbox).
# The entry arrives already marked ``reply_attempted`` when it will be answered by reply, so no write is
# needed between this commit and the reply (after a crash the entry is pushed with its retry key instead).
COMMIT = """
if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[2])
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[2] ~= '-' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
end
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return 1
"""

# Sent by SHA1 (EVALSHA), the text only when a server does not know it yet (bot/store/lua.py).
NEXT_STEP_LUA = Lua(NEXT_STEP)
COMMIT_LUA = Lua(COMMIT)
KEEP_LOCK_LUA = Lua(KEEP_LOCK)
RELEASE_MINE_LUA = Lua(RELEASE_MINE)
