"""The bookings as an iCalendar feed, and the secret that names the feed's URL.

The feed is read by calendar apps that cannot send an ``Authorization`` header, so its URL is the secret:
an HMAC of ``ADMIN_TOKEN`` and a feed secret kept in Redis (``lb:{bookings}:feed_secret``). Rotating the
feed secret (the dashboard's 「URLを作り直す」, or ``POST /admin/api/calendar-url/rotate``) makes a new URL
without touching ``ADMIN_TOKEN``; rotating ``ADMIN_TOKEN`` changes it too. Until the first rotation the
secret is the constant earlier versions used, so a subscribed calendar keeps working after an upgrade.

What the feed shows: when, the menu, the practitioner, the name and the booking's id — callers' phone
numbers only with ``booking.feed_phone_numbers: true``, and never a runner's answers or LINE id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import TAG, Booking

if TYPE_CHECKING:
    import icalendar

#: The feed reaches back this far, so staff see recent history too.
FEED_PAST_DAYS = 30
FEED_SECRET = f"{TAG}:feed_secret"
#: The secret before anyone rotated it (what every earlier version used).
LEGACY_SECRET = "booking-calendar-feed"


def calendar_token(admin_token: str, secret: str = LEGACY_SECRET) -> str:
    """The feed's secret path part: unguessable without the admin token, and not the token itself."""
    return hmac.new(admin_token.encode(), secret.encode(), hashlib.sha256).hexdigest()[:32]


async def feed_secret(redis: Any) -> str:
    return str(await redis.get(FEED_SECRET) or LEGACY_SECRET)


async def rotate_feed_secret(redis: Any) -> str:
    """A new feed URL; the old one answers 404 from now on."""
    secret = secrets.token_urlsafe(24)
    await redis.set(FEED_SECRET, secret)
    return secret


def calendar_ics(service: BookingService, bookings: list[Booking]) -> bytes:
    """Bookings as VEVENTs (cancelled ones as STATUS:CANCELLED, so calendars remove them)."""
    # Imported on the first feed request, not at start-up: ~2.6 MiB the web process carries only once a
    # calendar app subscribes (bench/README.md, memory).
    from icalendar import Calendar

    clinic = service.clinic
    cal = Calendar()
    cal.add("prodid", "-//seitai-line-bot//bookings//JA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{clinic.name} ご予約")
    cal.add("x-wr-timezone", clinic.timezone)
    for booking in bookings:
        cal.add_component(_event(service, booking))
    cal.add_missing_timezones()  # a VTIMEZONE for Asia/Tokyo, so every calendar app places events right
    ics: bytes = cal.to_ical()
    return ics


def _event(service: BookingService, booking: Booking) -> icalendar.Event:
    clinic = service.clinic
    start = slots.from_epoch(clinic, booking.start)
    menu = service.menu_of(booking)
    practitioner = service.practitioner_name(booking)
    from icalendar import Event as CalendarEvent  # loaded by calendar_ics already; see there

    event = CalendarEvent()
    event.add("uid", f"{booking.id}@bookings.seitai-line-bot")
    event.add("dtstamp", dt.datetime.fromtimestamp(booking.updated_at, dt.UTC))
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=menu.minutes))
    who = booking.name or "お名前未入力"
    event.add("summary", f"{who} 様 {menu.name}" + (f"({practitioner})" if practitioner else ""))
    lines = [f"予約ID: {booking.id}", "LINE予約" if booking.on_line else "電話予約"]
    if booking.phone and clinic.booking.feed_phone_numbers:
        lines.append(f"電話: {booking.phone}")
    event.add("description", "\n".join(lines))
    event.add("status", "CONFIRMED" if booking.active else "CANCELLED")
    event.add("sequence", len(booking.history) - 1)
    return event
