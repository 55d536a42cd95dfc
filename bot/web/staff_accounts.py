"""Staff accounts: each person logs in with their own password, kept as an Argon2id hash in Redis.

Roles: ``owner`` (manages staff and sends broadcasts) and ``staff``. Every change — an account added, a password
set, a role changed, an account removed — is written to an audit list with who made it and when.

Why here (the web core) and not in the dashboard: ``python -m bot staff`` manages the same accounts from a
shell, and the core never imports a feature. The dashboard's sessions live beside the accounts (``{staff}``
slot) so that removing an account, or changing its password or role, ends that person's sessions at once —
from the dashboard or from the command line.

Hashing: argon2-cffi with OWASP's Argon2id settings (19 MiB, 2 passes, 1 lane). A hash costs tens of
milliseconds of CPU, so it runs in a thread (the webhook shares this event loop), and at most two run at once
(so a burst of logins cannot take hundreds of megabytes). An unknown name is checked against a dummy hash, so
the answer takes as long whether or not the name exists.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.config.strength import password_problem, staff_passwords
from bot.store.keys import PREFIX

ACCOUNTS = f"{PREFIX}:{{staff}}:accounts"
AUDIT = f"{PREFIX}:{{staff}}:audit"
#: Names an owner removed: never brought back by the ADMIN_STAFF_PASSWORDS import.
RETIRED = f"{PREFIX}:{{staff}}:retired"
AUDIT_MAX = 1000
Role = Literal["owner", "staff"]
ROLES: dict[str, str] = {"owner": "オーナー", "staff": "スタッフ"}
MAX_NAME = 40
#: Who made a change that came from the environment rather than a person.
FROM_ENVIRONMENT = "ADMIN_STAFF_PASSWORDS"

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_hashing = threading.BoundedSemaphore(2)
_DUMMY = _hasher.hash("not a password anyone has")


def session_key(session_id: str) -> str:
    """A dashboard session (who, role, CSRF nonce), expiring with the session."""
    return f"{PREFIX}:{{staff}}:session:{session_id}"


def sessions_of(name: str) -> str:
    """The ids of one person's open sessions, so they can all be ended together."""
    return f"{PREFIX}:{{staff}}:sessions:{hashlib.sha256(name.encode()).hexdigest()[:24]}"


class StaffProblem(ValueError):
    """A change that cannot be made; the message is for staff, in Japanese."""


@dataclass(slots=True)
class Account:
    name: str
    role: str
    password_hash: str
    created_at: float
    created_by: str
    updated_at: float
    updated_by: str

    @property
    def role_ja(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def owner(self) -> bool:
        return self.role == "owner"

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Account:
        return cls(**json.loads(raw))


def clean_name(name: str) -> str:
    """A name as stored; refused when empty, too long, or holding characters the env format uses."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or any(c in name for c in ":,") or not name.isprintable():
        raise StaffProblem(f"名前は{MAX_NAME}文字以内で、「:」「,」を含めずに入力してください。")
    return name


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    with _hashing:
        try:
            return bool(_hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False


class StaffAccounts:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def get(self, name: str) -> Account | None:
        raw = await self.redis.hget(ACCOUNTS, name)
        return Account.loads(raw) if raw else None

    async def all(self) -> list[Account]:
        raw = await self.redis.hgetall(ACCOUNTS)
        return sorted((Account.loads(v) for v in raw.values()), key=lambda a: (a.role != "owner", a.name))

    async def any(self) -> bool:
        return bool(await self.redis.hlen(ACCOUNTS))

    async def verify(self, name: str, password: str) -> Account | None:
        """The account when ``password`` is its password (same time either way for an unknown name)."""
        account = await self.get(name.strip()) if name.strip() else None
        stored = account.password_hash if account is not None else _DUMMY
        ok = await asyncio.to_thread(_verify, stored, password)
        return account if ok and account is not None else None

    async def add(self, name: str, password: str, role: str, by: str, *, from_environment: bool = False
                  ) -> Account:
        """A new account. From the environment, the strength rules were applied where they matter (production
        refuses to start on a weak one) and a name an owner removed is not brought back."""
        name = clean_name(name)
        if role not in ROLES:
            raise StaffProblem("役割は「オーナー」か「スタッフ」を選んでください。")
        problem = None if from_environment else password_problem(name, password)
        if problem is not None:
            raise StaffProblem(problem)
        if from_environment and await self.redis.sismember(RETIRED, name):
            raise StaffProblem(f"{name} さんは削除されています。")
        now = time.time()
        account = Account(name=name, role=role, password_hash=await asyncio.to_thread(_hash, password),
                          created_at=now, created_by=by, updated_at=now, updated_by=by)
        if not await self.redis.hsetnx(ACCOUNTS, name, account.dumps()):
            raise StaffProblem(f"{name} さんはすでに登録されています。")
        await self.redis.srem(RETIRED, name)
        await self.record(by, "staff_added", name, ROLES[role])
        return account

    async def set_password(self, name: str, password: str, by: str) -> None:
        account = await self._existing(name)
        problem = password_problem(account.name, password)
        if problem is not None:
            raise StaffProblem(problem)
        account.password_hash = await asyncio.to_thread(_hash, password)
        await self._save(account, by)
        await self.revoke_sessions(account.name)  # an old password's sessions end with it
        await self.record(by, "password_set", account.name)

    async def set_role(self, name: str, role: str, by: str, *, me: str = "") -> None:
        """``me``: the account of whoever asks (nobody changes their own role: an owner cannot lock
        themselves out)."""
        account = await self._existing(name)
        if role not in ROLES:
            raise StaffProblem("役割は「オーナー」か「スタッフ」を選んでください。")
        if account.name == me:
            raise StaffProblem("自分の役割は変更できません(ほかのオーナーに依頼してください)。")
        account.role = role
        await self._save(account, by)
        await self.revoke_sessions(account.name)  # the new role applies from the next login
        await self.record(by, "role_set", account.name, ROLES[role])

    async def remove(self, name: str, by: str, *, me: str = "") -> None:
        account = await self._existing(name)
        if account.name == me:
            raise StaffProblem("自分のアカウントは削除できません。")
        await self.redis.hdel(ACCOUNTS, account.name)
        await self.redis.sadd(RETIRED, account.name)
        await self.revoke_sessions(account.name)
        await self.record(by, "staff_removed", account.name)

    async def revoke_sessions(self, name: str) -> int:
        """End every open session of ``name``; returns how many."""
        index = sessions_of(name)
        ids = list(await self.redis.smembers(index))
        if ids:
            await self.redis.delete(*[session_key(i) for i in ids])
        await self.redis.delete(index)
        return len(ids)

    async def import_environment(self, raw: str) -> list[str]:
        """``ADMIN_STAFF_PASSWORDS`` entries become accounts (role staff), once: a name that already has an
        account, or that an owner removed, is left alone. Returns the names imported."""
        imported = []
        for name, password in staff_passwords(raw).items():
            try:
                await self.add(name, password, "staff", FROM_ENVIRONMENT, from_environment=True)
            except StaffProblem:
                continue
            imported.append(name)
        return imported

    async def record(self, by: str, did: str, target: str, detail: str = "") -> None:
        """One line of the audit: who did what to whom, when."""
        entry = {"at": time.time(), "by": by, "did": did, "target": target, "detail": detail}
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(AUDIT, json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(AUDIT, 0, AUDIT_MAX - 1)
            await pipe.execute()

    async def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(AUDIT, 0, limit - 1)]

    async def _existing(self, name: str) -> Account:
        account = await self.get(name)
        if account is None:
            raise StaffProblem(f"{name} さんは登録されていません。")
        return account

    async def _save(self, account: Account, by: str) -> None:
        account.updated_at, account.updated_by = time.time(), by
        await self.redis.hset(ACCOUNTS, account.name, account.dumps())
