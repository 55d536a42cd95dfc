"""Talking to LINE's Messaging API: line-bot-sdk v3, and one aiohttp session for the answers themselves.

Why a wrapper: every send needs the same care — retry with back-off on 429 and 5xx, tell a reply token LINE
refuses apart from one our own earlier try used (the outbox decides what to do: ``bot.delivery.outbox``), and
never let a token or a runner's words reach the logs. The SDK's ``AsyncApiClient`` must be created inside a
running event loop (aiohttp 3.14 fails at import time otherwise), hence ``start()``/``close()``.

Why the replies and pushes skip the SDK: they are the one call every event makes. Our messages are already
LINE-shaped dicts (the test suite's stand-in checks every body against LINE's OpenAPI spec), so the SDK's
models only turned them into the same dicts again; and its ``call_api`` (serialising the body once more,
building a request description) cost 50–70 µs more CPU per call than a plain aiohttp POST of orjson bytes
(3,000 replies in a row to a local server, 2026-12-03) — about 5 % of an event at saturation. The rest
(multicast, profiles, rich menus, the blob API) is rare and stays on the SDK.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    MulticastRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.ops import metrics

log = logging.getLogger(__name__)

Message = dict[str, Any]

REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"


class Outcome(enum.Enum):
    """How a send ended, from the bot's point of view."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"  # 409: LINE had accepted this retry key before
    INVALID_REPLY_TOKEN = "invalid_reply_token"
    REJECTED = "rejected"  # a 4xx that retrying cannot fix (a bug or a blocked runner)
    UNAVAILABLE = "unavailable"  # 429/5xx/network after every attempt: try again later


@dataclass(slots=True, frozen=True)
class SendResult:
    outcome: Outcome
    status: int | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome in (Outcome.SENT, Outcome.ALREADY_SENT)


class LineClient:
    """A typed, careful client for the few endpoints the bot uses."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        data_base_url: str | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        backoff_base_s: float = 0.25,
    ) -> None:
        self._access_token = access_token
        self._base_url = base_url.rstrip("/")
        self._data_base_url = (data_base_url or base_url).rstrip("/")
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._client: AsyncApiClient | None = None
        self._data_client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._session: aiohttp.ClientSession | None = None
        self._proxy: str | None = None

    async def start(self) -> None:
        """Open the HTTP sessions; call from inside the running event loop."""
        self._proxy = _proxy_for(self._base_url)
        self._client = AsyncApiClient(Configuration(host=self._base_url, access_token=self._access_token))
        _read_environment_once(self._client, self._proxy)
        self._api = AsyncMessagingApi(self._client)
        # The same connector as the SDK's: one pool of connections to LINE for both.
        self._session = aiohttp.ClientSession(
            connector=self._client.rest_client.pool_manager.connector, connector_owner=False, trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            headers={"Authorization": f"Bearer {self._access_token}", "Content-Type": "application/json",
                     "Accept": "application/json"})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        for client in (self._client, self._data_client):
            if client is not None:
                await client.close()
        self._client = self._data_client = self._api = self._session = None

    @property
    def api(self) -> AsyncMessagingApi:
        if self._api is None:
            raise RuntimeError("LineClient.start() was not called")
        return self._api

    def blob_api(self) -> AsyncMessagingApiBlob:
        """The api-data endpoints (rich menu images); opened on first use."""
        if self._data_client is None:
            config = Configuration(host=self._data_base_url, access_token=self._access_token)
            self._data_client = AsyncApiClient(config)
        return AsyncMessagingApiBlob(self._data_client)

    async def reply(self, reply_token: str, messages: Sequence[Message]) -> SendResult:
        body = {"replyToken": reply_token, "messages": list(messages), "notificationDisabled": False}
        return await self._call("reply", lambda: self._post_json(REPLY_PATH, body))

    async def push(self, to: str, messages: Sequence[Message], *, retry_key: str) -> SendResult:
        body = {"to": to, "messages": list(messages), "notificationDisabled": False}
        return await self._call("push", lambda: self._post_json(PUSH_PATH, body, retry_key=retry_key))

    async def _post_json(self, path: str, body: dict[str, Any], *, retry_key: str | None = None) -> int:
        """POST ``body`` as JSON to LINE (``LINE_API_BASE_URL``); the status, or ``ApiException`` as the SDK
        raises it (status, body, headers: what ``_classify`` reads). The body keeps what the SDK's models
        added (``notificationDisabled: false``); the response is read, not parsed: only its status is used."""
        if self._session is None:
            raise RuntimeError("LineClient.start() was not called")
        headers = {"X-Line-Retry-Key": retry_key} if retry_key is not None else None
        async with self._session.post(self._base_url + path, data=orjson.dumps(body), headers=headers,
                                      proxy=self._proxy) as response:
            content = await response.read()
            if response.status >= 400:
                refused = ApiException(status=response.status, reason=response.reason)
                refused.body, refused.headers = content, response.headers
                raise refused
            return response.status

    async def multicast(self, to: Sequence[str], messages: Sequence[Message], *, retry_key: str) -> SendResult:
        request = MulticastRequest.from_dict({"to": list(to), "messages": list(messages)})

        async def send() -> int:
            response = await self.api.multicast_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self._timeout_s)
            return int(response.status_code or 200)

        return await self._call("multicast", send)

    async def profile(self, user_id: str) -> dict[str, Any] | None:
        """The runner's LINE profile (``displayName``...), or ``None`` when LINE does not give it (the runner
        blocked the account, or LINE is unavailable): it is a nicety, never worth waiting or retrying for."""
        if self._client is None:
            raise RuntimeError("LineClient.start() was not called")
        started = time.perf_counter()
        try:
            response = await self._client.call_api(
                f"/v2/bot/profile/{user_id}", "GET", header_params={"Accept": "application/json"},
                response_types_map={}, auth_settings=["Bearer"], _return_http_data_only=False,
                _preload_content=True, _request_timeout=self._timeout_s)
            status = int(getattr(response, "status_code", 200) or 200)
            metrics.line_api_call("profile", str(status), time.perf_counter() - started)
            data = json.loads(response.raw_data or b"{}")
            return data if isinstance(data, dict) else None
        except ApiException as exc:
            metrics.line_api_call("profile", str(exc.status or 0), time.perf_counter() - started)
        except Exception as exc:  # network trouble: the caller goes without the name
            metrics.line_api_call("profile", "network", time.perf_counter() - started)
            log.warning("LINE profile unavailable", extra={"error": type(exc).__name__})
        return None

    async def _call(self, kind: str, call: Callable[[], Awaitable[int]]) -> SendResult:
        """``call`` returns the HTTP status, or raises ``ApiException`` for an error answer."""
        attempts = self._max_attempts
        status: int | None = None
        #: An earlier try may have reached LINE (no answer, or a 5xx): a reply LINE then refuses for its token
        #: was that earlier try arriving, not a token that was spent before we used it.
        maybe_sent = False
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                status = await call()
                metrics.line_api_call(kind, str(status), time.perf_counter() - started)
                return SendResult(Outcome.SENT, status)
            except ApiException as exc:
                status = int(exc.status or 0)
                metrics.line_api_call(kind, str(status), time.perf_counter() - started)
                outcome, retry_after = _classify(kind, exc)
                if outcome is Outcome.INVALID_REPLY_TOKEN and maybe_sent:
                    outcome = Outcome.ALREADY_SENT
                if outcome is not None:
                    return SendResult(outcome, status)
                maybe_sent = maybe_sent or status >= 500
            except Exception as exc:  # timeouts, OSError, aiohttp's ClientError...: a network fault
                metrics.line_api_call(kind, "network", time.perf_counter() - started)
                log.warning("LINE API call failed", extra={"kind": kind, "error": type(exc).__name__})
                retry_after = None
                maybe_sent = True
            if attempt < attempts:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        log.warning("LINE API unavailable after retries", extra={"kind": kind, "status": status})
        return SendResult(Outcome.UNAVAILABLE, status)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 30.0)
        return float(self._backoff_base_s * (2 ** (attempt - 1)) * (0.5 + random.random()))


def _classify(kind: str, exc: ApiException) -> tuple[Outcome | None, float | None]:
    """Decide what an error answer means: a final outcome, or ``None`` to retry (with LINE's hint)."""
    status = int(exc.status or 0)
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    if status == 409:
        return Outcome.ALREADY_SENT, None
    if status == 400 and kind == "reply" and "reply token" in body.lower():
        return Outcome.INVALID_REPLY_TOKEN, None
    if status == 429 or status >= 500:
        return None, _retry_after(exc)
    log.error("LINE API refused a request", extra={"kind": kind, "status": status})
    return Outcome.REJECTED, None


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _proxy_for(base_url: str) -> str | None:
    """The proxy for LINE's host from the environment (``HTTPS_PROXY``/``NO_PROXY``...), looked up once."""
    host = urlsplit(base_url).hostname or ""
    if not host or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(urlsplit(base_url).scheme) or None


def _read_environment_once(client: AsyncApiClient, proxy: str | None) -> None:
    """Give the SDK's HTTP session the proxy settings read once, instead of on every request.

    Why: line-bot-sdk opens its aiohttp session with ``trust_env=True``, so every send re-read ``~/.netrc`` and
    the proxy variables — about a tenth of the consumer's samples (py-spy). The proxy for LINE's host is
    looked up once (:func:`_proxy_for`), and the same connector moves to a session that does not look again.
    A channel access token is sent on every request, so netrc was never used.
    """
    rest = client.rest_client
    if rest.proxy is None:
        rest.proxy = proxy
    old = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(connector=old.connector, trust_env=False)
    old.detach()  # the connector now belongs to the new session; the old one has nothing left to close


def _short(user_id: str) -> str:
    """Enough of an id to follow a runner through the logs without publishing it whole."""
    return user_id[:6] + "…" if len(user_id) > 6 else user_id
