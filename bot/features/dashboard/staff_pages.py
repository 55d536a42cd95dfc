"""スタッフ (``/admin/staff``): owners add staff, set passwords and roles, remove accounts; the audit of changes.

Only owners reach this page. A refused change (a weak password, a name taken) is shown on the page itself, in
the words of :class:`bot.web.staff_accounts.StaffProblem`; nothing staff typed travels in a URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.features.dashboard.auth import Session
from bot.features.dashboard.views import back, page, read_form, require_owner
from bot.web.parts import parts_of
from bot.web.staff_accounts import ROLES, StaffAccounts, StaffProblem

router = APIRouter(include_in_schema=False)

#: What each audit line says, in Japanese.
DID_JA = {
    "staff_added": "アカウントを追加", "staff_removed": "アカウントを削除", "password_set": "パスワードを変更",
    "role_set": "役割を変更", "tags_added": "タグを追加", "tags_removed": "タグを外す",
    "broadcast_sent": "配信を送信", "broadcast_scheduled": "配信を予約", "broadcast_cancelled": "配信予約を取消",
    "message_sent": "メッセージを送信",
}


async def _render(request: Request, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    accounts = parts_of(request).need(StaffAccounts)
    response = page(request, "staff.html", session, section="staff", accounts=await accounts.all(),
                    audit=await accounts.audit(50), roles=ROLES, did_ja=DID_JA, error=error)
    response.status_code = status
    return response


@router.get("/admin/staff")
async def staff_list(request: Request) -> Response:
    return await _render(request, require_owner(request))


async def _change(request: Request, done: str,
                  change: Callable[[StaffAccounts, Session, dict[str, str]], Awaitable[object]]) -> Response:
    """An owner's change from a form: made, then back to the list; refused, the page says why."""
    session = require_owner(request)
    data = await read_form(request, session)
    try:
        await change(parts_of(request).need(StaffAccounts), session, data)
    except StaffProblem as problem:
        return await _render(request, session, error=str(problem), status=400)
    return back("/admin/staff", done)


@router.post("/admin/staff")
async def staff_add(request: Request) -> Response:
    return await _change(request, "staff_added", lambda accounts, session, data: accounts.add(
        data.get("name", ""), data.get("password", ""), data.get("role", "staff"), session.actor))


@router.post("/admin/staff/{name}/password")
async def staff_password(request: Request, name: str) -> Response:
    return await _change(request, "password_set", lambda accounts, session, data: accounts.set_password(
        name, data.get("password", ""), session.actor))


@router.post("/admin/staff/{name}/role")
async def staff_role(request: Request, name: str) -> Response:
    return await _change(request, "role_set", lambda accounts, session, data: accounts.set_role(
        name, data.get("role", ""), session.actor, me=session.staff or ""))


@router.post("/admin/staff/{name}/remove")
async def staff_remove(request: Request, name: str) -> Response:
    return await _change(request, "staff_removed", lambda accounts, session, data: accounts.remove(
        name, session.actor, me=session.staff or ""))
