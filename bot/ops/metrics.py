"""Prometheus metrics: what an operator graphs. Cheap to update, so the webhook can afford them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Labels are bounded: an event type is one of LINE's (``bot.webhook.validation.type_label``), else ``other``.
EVENTS = Counter("bot_webhook_events_total", "Webhook events accepted, by type", ["type"])
DROPPED = Counter("bot_webhook_dropped_total", "Webhook events refused at the edge, by reason and type (LINE's "
                  "types, else 'other')", ["reason", "type"])
DUPLICATES = Counter("bot_webhook_duplicates_total", "Redelivered or repeated events dropped")
HANDLING = Histogram(
    "bot_event_handling_seconds",
    "From acceptance to the answer being sent",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUEUE_DEPTH = Gauge("bot_queue_pending", "Queue notices read but not yet acknowledged (XPENDING, on scrape)")
STREAM_LENGTH = Gauge("bot_queue_length", "Queue notices in the stream, taken or not (XLEN, on scrape)")
DEAD_LETTERS = Gauge("bot_dead_letters", "Events set aside after failing repeatedly (on scrape)")
RECLAIMED = Counter("bot_queue_reclaimed_total", "Notices taken over from a consumer that stalled or died")
STORE_UP = Gauge("bot_store_up", "1 when the store answered the last scrape's ping")
LINE_CALLS = Counter("bot_line_api_calls_total", "Calls to LINE's API, by kind and status", ["kind", "status"])
LINE_LATENCY = Histogram("bot_line_api_seconds", "LINE API call latency", ["kind"])
BOOKINGS = Counter("bot_bookings_total", "Booking changes, by action", ["action"])


def line_api_call(kind: str, status: str, seconds: float) -> None:
    LINE_CALLS.labels(kind, status).inc()
    LINE_LATENCY.labels(kind).observe(seconds)
