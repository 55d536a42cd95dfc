"""What every dashboard page shares: the templates, the staff session check, CSRF-checked forms, notices.

Every page needs a logged-in staff session; a browser is sent to the login page, anything else gets 401.
Every form is a POST carrying the session's CSRF token; forms are parsed from the raw body (no multipart
dependency) and refused with 403 without a valid token.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.extension import Parts
from bot.features.booking.service import BookingService
from bot.features.dashboard import auth
from bot.features.dashboard.auth import Session
from bot.features.followups.broadcasts import Broadcasts
from bot.web.bodies import read_capped
from bot.web.parts import parts_of

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
MAX_FORM_BYTES = 64 * 1024
WEEKDAYS_JA = "月火水木金土日"

#: Notices shown after a form, by key (no staff-typed text travels in a URL).
NOTICES = {
    "sent": "送信しました。このランナーさんへのボットの自動返信は止まっています。",
    "again": "この送信はすでに受け付けています(二重送信は送られません)。",
    "taken": "対応を始めました。ボットは止まっています。",
    "closed": "対応を終えました。ボットが再び応答します。",
    "empty": "メッセージが空です。",
    "confirmed": "予約を確認済みにし、ランナーさんにお知らせしました。",
    "cancelled": "予約をキャンセルし、ランナーさんにお知らせしました。",
    "moved": "予約の日時を変更し、ランナーさんにお知らせしました。",
    "confirmed_phone": "予約を確認済みにしました(電話予約のため、LINE でのお知らせはありません)。",
    "cancelled_phone": "予約をキャンセルしました(電話予約のため、LINE でのお知らせはありません)。",
    "moved_phone": "予約の日時を変更しました(電話予約のため、お客様へのご連絡はお電話で)。",
    "attended": "来院を記録しました。",
    "no_show": "無断キャンセルを記録しました。",
    "early": "予約の日になってから記録できます。",
    "no_name": "お名前を入力してください。",
    "bad_phone": "電話番号の形が正しくありません(例: 090-1234-5678)。",
    "rotated": "カレンダーの URL を作り直しました。古い URL は使えません。",
    "added": "予約を追加しました。",
    "full": "その枠は満席です。",
    "unavailable": "その日時は予約できません(営業時間外・締切後など)。",
    "missing": "予約が見つかりません。",
    "already": "すでにその状態です。",
    "late": "変更の締切を過ぎています。",
    "tagged": "タグを変更しました(数秒で反映されます)。",
    "tag_refused": "そのタグは変更できません(ブロック・削除済みのかた、または保護されたタグです)。",
    "broadcast_sent": "配信を送信しました。",
    "broadcast_scheduled": "配信を予約しました。指定の日時に送られます。",
    "broadcast_cancelled": "配信の予約を取り消しました。",
    "staff_added": "スタッフを追加しました。",
    "staff_removed": "アカウントを削除しました。その人のログイン中の画面も閉じられます。",
    "password_set": "パスワードを変更しました。以前のログインは終了します。",
    "role_set": "役割を変更しました。次のログインから反映されます。",
}


class LoginRequired(Exception):
    """Raised by :func:`require_staff`; a browser goes to the login page, an API client gets 401."""


def require_staff(request: Request) -> Session:
    """The logged-in session (loaded by the pages' router dependency, :func:`auth.load`)."""
    session = auth.current(request)
    if session is None or not session.logged_in:
        raise LoginRequired
    return session


def require_owner(request: Request) -> Session:
    """Only owners manage staff accounts and send broadcasts."""
    session = require_staff(request)
    if not session.owner:
        raise HTTPException(status_code=403, detail="only an owner may do this")
    return session


async def read_form(request: Request, session: Session | None) -> dict[str, str]:
    """The posted form (first value of each field), only with this session's CSRF token."""
    return {k: v[0] for k, v in (await read_form_lists(request, session)).items()}


async def read_form_lists(request: Request, session: Session | None) -> dict[str, list[str]]:
    """The posted form with every value of repeated fields (checkboxes), only with this session's CSRF token
    (and from this site, when the browser says)."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}" and \
            origin.rstrip("/") != f"{request.headers.get('x-forwarded-proto', '')}://{request.url.netloc}":
        raise HTTPException(status_code=403, detail="cross-site form refused")
    body = await read_capped(request, MAX_FORM_BYTES)  # stops reading at the limit (a chunked body too)
    data = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if not auth.csrf_ok(request, session, (data.get("csrf") or [""])[0]):
        raise HTTPException(status_code=403, detail="the form's CSRF token is missing or wrong")
    return data


def page(request: Request, name: str, session: Session, **context: Any) -> HTMLResponse:
    parts = parts_of(request)
    tz = parts.clinic.tz
    context.update(staff=session.staff, owner=session.owner, csrf=auth.csrf_token(request, session),
                   booking_on=booking_on(parts), followups_on=followups_on(parts),
                   notice=NOTICES.get(request.query_params.get("done", "")),
                   when=lambda ts: format_when(ts, tz), short=short_id)
    response = templates.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"
    return response


def followups_on(parts: Parts) -> bool:
    """Whether the follow-ups feature (tags, broadcasts) is switched on: 配信 and tag changes need it."""
    return parts.maybe(Broadcasts) is not None


def require_followups(request: Request) -> None:
    if not followups_on(parts_of(request)):
        raise HTTPException(status_code=404, detail="the follow-ups feature is switched off")


def booking_on(parts: Parts) -> bool:
    """Whether the booking feature is switched on (its pages and links are shown only then)."""
    return parts.maybe(BookingService) is not None


def format_when(ts: float | int | None, tz: dt.tzinfo) -> str:
    if not ts:
        return ""
    moment = dt.datetime.fromtimestamp(float(ts), tz)
    return f"{moment.month}/{moment.day}({WEEKDAYS_JA[moment.weekday()]}) {moment:%H:%M}"


def short_id(user_id: str) -> str:
    return f"{user_id[:5]}…{user_id[-4:]}" if len(user_id) > 12 else user_id


def back(url: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}done={done}", status_code=303)


async def login_required(request: Request, exc: Exception) -> Response:
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
    return JSONResponse({"detail": "login required"}, status_code=401)


