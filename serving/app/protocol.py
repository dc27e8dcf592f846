"""The HTTP/1.1 protocol of `mer serve`: uvicorn's httptools parser with limits and JSON errors.

uvicorn answers some requests before the app runs: a request line or header the parser
refuses gets a plain-text 400, and it has no limit on header size and no timeout on reading
headers or a body, so a client that sends bytes slowly (slowloris) or announces a body it never
sends holds a connection forever. This protocol class (`uvicorn.Config(http=...)`) adds, per
connection:

* a header deadline (`header_timeout_s` from the first byte of a request, or from the
  connection's start) and a body deadline (`body_timeout_s` after the headers): a late client
  gets 408 and the connection is closed;
* a header size cap (`max_header_bytes`): 431;
* a connection cap (`max_connections`): 503 with `Retry-After` and close;
* the parser's refusals (bad request line, bad or duplicate Content-Length, bad header bytes)
  as 400, and an unknown method as 501;

every one with the API's JSON error body (`{"error": {"status", "code", "message"}}`). The
in-flight request cap is ASGI middleware (`serving.app.middleware.InFlightLimitMiddleware`).
"""

from __future__ import annotations

import json
import re
from typing import Optional

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.app.schemas import ServerLimits

_REQUEST_LINE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP/\d\.\d\r?\n")
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large",
            501: b"Not Implemented", 503: b"Service Unavailable"}


def error_bytes(status: int, code: str, message: str, retry_after: Optional[int] = None) -> bytes:
    """A complete HTTP/1.1 response with the API's JSON error body; the connection closes."""
    body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
    head = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Error")),
            b"content-type: application/json; charset=utf-8",
            b"content-length: %d" % len(body), b"cache-control: no-store",
            b"x-content-type-options: nosniff", b"connection: close"]
    if retry_after is not None:
        head.append(b"retry-after: %d" % retry_after)
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def guarded_protocol(limits: ServerLimits) -> type:
    """The protocol class for `uvicorn.Config(http=...)` with `limits`."""

    class Protocol(GuardedHttpToolsProtocol):
        pass

    Protocol.limits = limits
    return Protocol


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines, caps and JSON errors (module docstring)."""

    limits: ServerLimits = ServerLimits()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = None  # the TimerHandle of the header or body deadline
        self._header_bytes = 0
        self._in_headers = True
        self._start = b""  # the first bytes of the request, to tell a bad line from a method

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "server_busy", f"the server has {self.limits.max_connections} "
                                             f"open connections, its limit; retry shortly",
                         retry_after=self.limits.retry_after_s)
            return
        self._arm(self.limits.header_timeout_s, self._headers_late)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_headers:
            end = data.find(b"\r\n\r\n")
            head = data if end < 0 else data[:end]
            if len(self._start) < 256:
                self._start += head[:256]
            self._header_bytes += len(head)
            if self._header_bytes > self.limits.max_header_bytes + 64 * 1024:
                # Far past the cap before the parser saw the end of the headers.
                self._refuse(431, "headers_too_large", self._headers_message())
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # uvicorn's own handling (no websockets here)
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as e:
            if self.transport.is_closing():
                return
            reason = str(e) or "malformed request"
            if "method" in reason.lower() and _REQUEST_LINE.match(self._start):
                self._refuse(501, "not_implemented", f"HTTP method not implemented ({reason}); "
                                                     f"the API takes GET, HEAD and POST")
            else:
                self._refuse(400, "bad_request", f"malformed HTTP request: {reason}")

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", msg)

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._arm(self.limits.header_timeout_s, self._headers_late)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        size = sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.limits.max_header_bytes:
            self._refuse(431, "headers_too_large", self._headers_message())
            raise httptools.HttpParserError("headers too large")  # stops this feed

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = 0
        self._start = b""
        lengths = [v for n, v in self.headers if n == b"content-length"]
        if len(lengths) > 1:
            self._refuse(400, "bad_request", "more than one Content-Length header")
            raise httptools.HttpParserError("duplicate Content-Length")
        super().on_headers_complete()
        if not self.transport.is_closing():
            self._arm(self.limits.body_timeout_s, self._body_late)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # ------------------------------------------------------------------ deadlines
    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete and not self._in_headers:
            return  # a request is being handled: not an idle or slow-header connection
        self._refuse(408, "request_timeout", f"the request line and headers did not arrive "
                                             f"within {self.limits.header_timeout_s:g} s")

    def _body_late(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or cycle.response_complete:
            return
        if cycle.response_started:  # the app answered (413, 415...) and is draining: close
            self.transport.close()
            return
        self._refuse(408, "request_timeout", f"the request body did not arrive within "
                                             f"{self.limits.body_timeout_s:g} s")

    def _headers_message(self) -> str:
        return (f"request headers exceed {self.limits.max_header_bytes} bytes; send fewer or "
                f"smaller headers")

    def _refuse(self, status: int, code: str, message: str,
                retry_after: Optional[int] = None) -> None:
        """Answer `status` with the JSON error (if no response started) and close."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                self.transport.close()
                return
            cycle.disconnected = True  # the app's receive() now returns http.disconnect
            # ...and the app's log and metrics count this request as what we answered
            # (`ObservabilityMiddleware`), not as a server error.
            cycle.scope.setdefault("state", {})["refused"] = (status, code)
            cycle.message_event.set()
        self.logger.info("refused %s: %s (%s)", self.client, status, code)
        self.transport.write(error_bytes(status, code, message, retry_after))
        self.transport.close()
