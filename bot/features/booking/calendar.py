"""The bookings as an iCalendar feed, and the secret that names the feed's URL.

The feed is read by calendar apps that cannot send an ``Authorization`` header, so its URL is the secret:
an HMAC of ``ADMIN_TOKEN``, unguessable without it, never the token itself, and rotated with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from bot.features.booking import slots
from bot.features.booking.service import BookingService
from bot.features.booking.store import Booking

#: The feed reaches back this far, so staff see recent history too.
FEED_PAST_DAYS = 30


def calendar_token(admin_token: str) -> str:
    """The feed's secret path part: unguessable without the admin token, and not the token itself."""
    return hmac.new(admin_token.encode(), b"booking-calendar-feed", hashlib.sha256).hexdigest()[:32]


def calendar_ics(service: BookingService, bookings: list[Booking]) -> bytes:
    """Confirmed bookings as VEVENTs (cancelled ones as STATUS:CANCELLED, so calendars remove them)."""
    clinic = service.clinic
    cal = Calendar()
    cal.add("prodid", "-//seitai-line-bot//bookings//JA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{clinic.name} ご予約")
    cal.add("x-wr-timezone", clinic.timezone)
    for booking in bookings:
        start = slots.from_epoch(clinic, booking.start)
        event = CalendarEvent()
        event.add("uid", f"{booking.id}@bookings.seitai-line-bot")
        event.add("dtstamp", dt.datetime.fromtimestamp(booking.updated_at, dt.UTC))
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=clinic.booking.slot_minutes))
        event.add("summary", f"{clinic.booking.first_visit} ({booking.id})")
        event.add("description", f"LINE: {booking.user_id}")
        event.add("status", "CONFIRMED" if booking.active else "CANCELLED")
        event.add("sequence", len(booking.history) - 1)
        cal.add_component(event)
    cal.add_missing_timezones()  # a VTIMEZONE for Asia/Tokyo, so every calendar app places events right
    ics: bytes = cal.to_ical()
    return ics
