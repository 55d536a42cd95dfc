"""Logging: one JSON object per line, with the event id when there is one.

Why so strict: a runner's answers are health details, and a channel secret in a log is a breach. Nothing
in this code logs message text or answers; as a last guard, any configured secret (the channel's, the admin
token, staff passwords — short ones too) that still reaches a log line is replaced before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar

#: What this log line is about: an HTTP request id (``bot.ops.observability`` middleware) or the
#: webhookEventId a consumer is handling. Every line carries it as ``id`` so one story can be followed.
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


#: Secrets shorter than this are only replaced where they stand alone (between non-word characters): a
#: short password like "haru" must not turn every "haruka" into "[redacted]ka" — nor be printed whole.
_SHORT = 8


def scrubber(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every secret, as written and as JSON escapes it, longest first; None for none."""
    forms = {form for secret in secrets if secret for form in (secret, json.dumps(secret)[1:-1])}
    if not forms:
        return None
    alternatives = [re.escape(f) if len(f) >= _SHORT else rf"(?<![\w-]){re.escape(f)}(?![\w-])"
                    for f in sorted(forms, key=len, reverse=True)]
    return re.compile("|".join(alternatives))


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (current := correlation_id.get()) is not None:
            entry["id"] = current
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._scrub(json.dumps(entry, ensure_ascii=False, default=str))

    def _scrub(self, line: str) -> str:
        return line if self._secrets is None else self._secrets.sub("[redacted]", line)


class PlainFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        text = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if (current := correlation_id.get()) is not None:
            text += f" id={current}"
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return self._scrub(text)


class DemoteToDebug(logging.Filter):
    """A library's INFO line counted as DEBUG: httpx reports every request it makes at INFO, which in local
    mode doubles each simulator action (the simulator logs its own line); it shows only with LOG_LEVEL=DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(record.levelno)


def configure_logging(level: str = "INFO", *, json_logs: bool = True, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if json_logs else PlainFormatter(secrets))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Access logs would carry nothing sensitive, but they drown the events; uvicorn's are kept at warning.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, DemoteToDebug) for f in httpx_log.filters):
        httpx_log.addFilter(DemoteToDebug())
    # uvicorn installs its own plain-text handlers before importing the app; route its lines through ours
    # so every line the process writes is JSON (and scrubbed).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
