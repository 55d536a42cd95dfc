"""One LINE call in flight, and the pipeline every call goes through, the way LINE answers it.

Every LINE endpoint is a rule (``Call -> (status, body)``, or a LINE error raised) wrapped by
:func:`line_endpoint`: injected fault -> auth -> body parsing -> contract validation
(bot.local.line_schema) -> the rule -> a recorded answer carrying ``x-line-request-id``. Paths are recorded
relative to the LINE base URL (from ``/v2/``), so the router works mounted under any prefix.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from bot.local.line_schema import validate_body_issues
from bot.local.line_standin.records import LineApiError
from bot.local.line_standin.state import StandinState

AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
FAULT_MESSAGES = {429: "Too many requests", 500: "An unexpected error occurred", 503: "Service unavailable"}


class ContractError(LineApiError):
    """A 400 for a body that breaks the contract; recorded as an invalid request."""


@dataclass
class Call:
    """One LINE call in flight: what an endpoint rule needs and what gets recorded."""

    request: Request
    state: StandinState
    path: str
    request_id: str
    retry_key: str | None
    raw: bytes = b""
    body: Any = None

    @property
    def json(self) -> dict[str, Any]:
        """The body as an object ({} when validation is off and the body is not one)."""
        return self.body if isinstance(self.body, dict) else {}

    def param(self, name: str) -> str:
        """A path parameter such as ``richMenuId``."""
        return str(self.request.path_params[name])


Result = tuple[int, Any] | Response
Rule = Callable[[Call], Result]


def line_path(url_path: str) -> str:
    """The path relative to LINE's base URL, whatever prefix the router is mounted under."""
    index = url_path.find("/v2/")
    return url_path[index:] if index >= 0 else url_path


async def _apply_fault(call: Call) -> None:
    """Delay and/or fail this call as an injected fault says (before anything is processed)."""
    fault = call.state.take_fault(call.path)
    if fault is None:
        return
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.mode == "slow":
        return
    status = 503 if fault.mode == "down" else fault.status
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    raise LineApiError(status, FAULT_MESSAGES.get(status, "Injected fault"), headers=headers)


def _check_auth(call: Call) -> None:
    """``Authorization: Bearer <token>`` (the configured one, if any) or 401 like LINE."""
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    expected = call.state.access_token
    if scheme.lower() != "bearer" or not token.strip() or (expected is not None and token != expected):
        raise LineApiError(401, AUTH_FAILED)


def _parse_and_validate(call: Call, schema: str | None) -> None:
    """Parse a JSON body; with ``schema`` and validation on, 400 with LINE-style details."""
    is_json = schema is not None or "json" in call.request.headers.get("content-type", "")
    if call.raw and is_json:
        try:
            call.body = json.loads(call.raw)
        except ValueError as exc:
            call.body = call.raw[:2000].decode("utf-8", "replace")
            if schema is not None:
                details = [{"message": "The request body is not valid JSON", "property": ""}]
                raise ContractError(400, "The request body has 1 error(s)", details=details) from exc
    if schema is None or not call.state.validate:
        return
    issues = validate_body_issues(schema, call.body)
    if issues:
        details = [{"message": i.message, "property": i.property} for i in issues]
        raise ContractError(400, f"The request body has {len(issues)} error(s)", details=details)


def _recorded_body(call: Call) -> Any:
    """JSON bodies as sent; binary uploads as their type and size only."""
    if call.body is not None or not call.raw:
        return call.body
    return {"contentType": call.request.headers.get("content-type"), "size": len(call.raw)}


def _respond(call: Call, result: Result | LineApiError) -> Response:
    """Turn a rule's result or error into the response, with LINE headers, and record it."""
    errors: list[dict[str, str]] = []
    if isinstance(result, LineApiError):
        errors = result.details if isinstance(result, ContractError) else []
        response: Response = JSONResponse(result.body(), result.status, headers=result.headers)
    elif isinstance(result, Response):
        response = result
    else:
        response = JSONResponse(result[1], result[0])
    response.headers["x-line-request-id"] = call.request_id
    call.state.record(method=call.request.method, path=call.path, status=response.status_code,
                      request_id=call.request_id, retry_key=call.retry_key, body=_recorded_body(call),
                      errors=errors)
    return response


def line_endpoint(state: StandinState, rule: Rule, schema: str | None) -> Callable[[Request], Any]:
    """Wrap a rule in the common pipeline (fault, auth, parse, validate, record)."""

    async def endpoint(request: Request) -> Response:
        """Always answers like LINE; never raises."""
        call = Call(request, state, line_path(request.url.path), str(uuid.uuid4()),
                    request.headers.get("x-line-retry-key"))
        call.raw = await request.body()  # read first: a slow LINE has already received the body
        try:
            await _apply_fault(call)
            _check_auth(call)
            _parse_and_validate(call, schema)
            return _respond(call, rule(call))
        except LineApiError as exc:
            return _respond(call, exc)

    return endpoint
