"""ASGI middleware of `mer serve`: the request size limit and the security headers.

Pure ASGI classes (not Starlette's BaseHTTPMiddleware) so they add no task or copy per request
and can act before the body is read. The app stacks them in `serving.app.api.create_app`; new
limits are more classes in the same stack (the in-flight cap here; connection caps and read
timeouts live in the HTTP protocol, `serving/app/protocol.py`, because they act before a request
exists).
"""

from __future__ import annotations

import json
from typing import Optional

from serving.app.service import ApiError

# An oversized body announced by Content-Length is read and dropped up to this many bytes, so
# the client (which is still sending) gets our 413 instead of a connection reset; beyond it the
# connection is closed after the answer.
DRAIN_LIMIT = 64 * 1024 * 1024
JSON_TYPE = b"application/json; charset=utf-8"


class BodyTooLargeError(Exception):
    """A body without Content-Length (chunked) grew past the limit while it was being read."""

    def __init__(self, received: int, limit: int):
        super().__init__(received)
        self.limit = limit


def too_large(limit: int, size: int | None = None) -> ApiError:
    got = f"request is {size} bytes" if size is not None else "request body exceeds the limit"
    return ApiError(413, "request_too_large",
                    f"{got}; the limit is {limit} bytes ({limit / (1024 * 1024):g} MB)")


async def send_error(send, error: ApiError, scope: dict, close: bool = False,
                     extra_headers: tuple = ()) -> None:
    """An ApiError as a JSON response from middleware (the route never ran)."""
    scope.setdefault("state", {})["error_code"] = error.code
    body = json.dumps(error.body()).encode("utf-8")
    headers = [(b"content-type", JSON_TYPE), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *extra_headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` before they reach memory.

    With a Content-Length over the limit the app is never called: the body is drained (read in
    chunks and dropped) and 413 is answered. Without one (chunked uploads) the bytes are counted
    as the app reads them and reading past the limit raises `BodyTooLargeError`, which the app
    answers with the same 413.
    """

    def __init__(self, app, max_bytes: int, path_limits: Optional[dict[str, int]] = None):
        self.app, self.max_bytes = app, max_bytes
        self.path_limits = path_limits or {}  # paths with their own limit (a whole recording)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await send_error(send, ApiError(400, "bad_request", "invalid Content-Length"),
                                 scope, close=True)
                return
            if size > limit:
                drained = size <= DRAIN_LIMIT and await _drain(receive)
                await send_error(send, too_large(limit, size), scope, close=not drained)
                return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(received, limit)
            return message

        await self.app(scope, limited_receive, send)


async def _drain_announced(scope: dict, receive) -> bool:
    """Read and drop a request's body before an early answer, if it is not larger than
    DRAIN_LIMIT; False when it was not read (too large, or the client went away)."""
    length = dict(scope.get("headers") or []).get(b"content-length")
    try:
        if length is not None and int(length) > DRAIN_LIMIT:
            return False
    except ValueError:
        return False
    return await _drain(receive)


async def _drain(receive) -> bool:
    """Read the rest of the body and drop it; False if the client went away."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        if not message.get("more_body", False):
            return True


class InFlightLimitMiddleware:
    """At most `max_in_flight` requests handled at once; more get 503 with `Retry-After`.

    Why a cap: each prediction holds a worker thread and memory for its audio, so without one
    a burst queues without bound and every request slows down until clients time out; a fast
    503 tells a client (or a load balancer) to come back. `/api/health` and `/metrics` are
    not counted, so probes keep answering while the server is full.
    """

    EXEMPT = ("/api/health", "/metrics")

    def __init__(self, app, max_in_flight: int, retry_after_s: int = 1):
        self.app, self.max_in_flight, self.retry_after_s = app, max_in_flight, retry_after_s
        self.in_flight = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            # Read the body before answering: closing a socket with unread bytes in it sends a
            # TCP reset, and a client still uploading (a 170 KB clip) saw a reset instead of
            # the 503 (issue 18 item 4). Reading and dropping it costs far less than a retry.
            drained = await _drain_announced(scope, receive)
            await send_error(send, ApiError(
                503, "server_busy", f"the server is handling {self.max_in_flight} requests, its "
                                    f"limit; retry after {self.retry_after_s} s"), scope,
                close=not drained,
                extra_headers=((b"retry-after", str(self.retry_after_s).encode()),))
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


# The page loads only its own script and style; user text is rendered with textContent,
# and this policy is a second line of defence against injected markup.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    """`nosniff` and `no-referrer` on every response (the page adds its CSP itself)."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)
