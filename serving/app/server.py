"""`mer serve`: the web page and JSON API, on the standard library's threaded HTTP server.

Why no web framework: the API is three routes and a few static files; `http.server` with
HTTP/1.1 keep-alive serves them with no new dependency, and the heavy lifting (TensorFlow
or a TF Serving round trip) happens outside Python's request handling anyway. The server is
meant to run behind a reverse proxy (TLS, auth) if it is exposed beyond localhost.

Routes: `GET /` (the page), `GET /static/<file>`, `POST /api/predict`, `GET /api/health`,
`GET /openapi.json`.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

from serving.app.openapi import openapi_document
from serving.app.service import (
    ApiError,
    Limits,
    PredictInput,
    PredictService,
    decode_b64_audio,
    parse_bool,
    parse_tasks,
    parse_top_k,
)
from serving.client import EmotionClient

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {  # a fixed list: nothing outside it can be requested (no path traversal)
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# The page loads only its own script and style; user text is rendered with textContent,
# and this policy is a second line of defence against injected markup.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
DRAIN_LIMIT = 64 * 1024 * 1024  # read (and drop) oversized bodies up to this, then hang up


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[bytes, Optional[str],
                                                                     Optional[str]]]:
    """multipart/form-data -> {field: (value bytes, filename, part content type)}.

    A small strict parser (RFC 7578) instead of the deprecated `cgi` module: it keeps the
    file bytes exactly as sent, which matters for binary audio.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, "bad_multipart", "multipart/form-data without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, tuple[bytes, Optional[str], Optional[str]]] = {}
    parts = body.split(delimiter)
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        raise ApiError(400, "bad_multipart", "malformed multipart body (missing boundaries)")
    for part in parts[1:-1]:
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            raise ApiError(400, "bad_multipart", "malformed multipart part (no header end)")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, val = line.partition(":")
            headers[key.strip().lower()] = val.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        if not name:
            raise ApiError(400, "bad_multipart", "multipart part without a field name")
        filename = re.search(r'filename="([^"]*)"', disposition)
        fields[name.group(1)] = (value, filename.group(1) if filename else None,
                                 headers.get("content-type"))
    return fields


class AppHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mer-serve"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    service: PredictService  # set on the subclass built by make_server
    quiet: bool = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)

    # ---------------------------------------------------------------- responses

    def _send_bytes(self, status: int, data: bytes, content_type: str,
                    extra: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send_bytes(status, data, "application/json; charset=utf-8",
                         {"Cache-Control": "no-store"})

    def _send_error(self, err: ApiError) -> None:
        self._send_json(err.status, err.body())

    # ---------------------------------------------------------------- routes

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path[len("/static/"):])
        elif path == "/api/health":
            status, body = self.service.health()
            self._send_json(status, body)
        elif path == "/openapi.json":
            self._send_json(200, openapi_document(self.service.limits))
        elif path == "/api/predict":
            self._send_error(ApiError(405, "method_not_allowed", "use POST /api/predict"))
        else:
            self._send_error(ApiError(404, "not_found", f"no route {path}"))

    do_HEAD = do_GET  # noqa: N815

    def _static(self, name: str) -> None:
        if name not in STATIC_FILES:
            self._send_error(ApiError(404, "not_found", f"no static file {name!r}"))
            return
        data = (STATIC_DIR / name).read_bytes()
        extra = {"Cache-Control": "no-cache"}
        if name == "index.html":
            extra.update({"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"})
        self._send_bytes(200, data, STATIC_FILES[name], extra)

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        try:
            if path != "/api/predict":
                self._drain(int(self.headers.get("Content-Length") or 0))
                raise ApiError(404 if not path.startswith("/api/predict") else 405,
                               "not_found", f"no route POST {path}")
            body = self._read_body()
            self._send_json(200, self.service.predict(self._parse(body)))
        except ApiError as e:
            self._send_error(e)
        except Exception as e:  # noqa: BLE001 - never answer with a traceback page
            self.log_error("predict failed: %r", e)
            self._send_error(ApiError(500, "internal_error", f"prediction failed: {e}"))

    def _drain(self, length: int) -> None:
        """Read and drop a body we refuse, so the client sees our answer, not a reset."""
        if length > DRAIN_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(411, "length_required", "send a Content-Length (no chunked bodies)")
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            raise ApiError(411, "length_required", "send a Content-Length header")
        try:
            length = int(raw_length)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "bad_request", "invalid Content-Length") from None
        limit = self.service.limits.max_request_bytes
        if length > limit:
            self._drain(length)
            raise ApiError(413, "request_too_large",
                           f"request is {length} bytes; the limit is {limit} bytes "
                           f"({limit // (1024 * 1024)} MB)")
        return self.rfile.read(length)

    def _parse(self, body: bytes) -> PredictInput:
        ctype = self.headers.get("Content-Type", "")
        kind = ctype.split(";")[0].strip().lower()
        limits = self.service.limits
        if kind == "application/json":
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ApiError(400, "invalid_json",
                               f"request body is not valid JSON: {e}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "invalid_json", "request body must be a JSON object")
            unknown = set(data) - {"text", "audio_b64", "audio", "tasks", "top_k", "asr"}
            if unknown:
                raise ApiError(400, "unknown_fields", f"unknown field(s) {sorted(unknown)}")
            return PredictInput(
                text=data.get("text"),
                audio=decode_b64_audio(data.get("audio_b64", data.get("audio"))),
                tasks=parse_tasks(data.get("tasks")),
                top_k=parse_top_k(data.get("top_k"), limits),
                asr=parse_bool(data.get("asr", False)),
            )
        if kind == "multipart/form-data":
            fields = parse_multipart(body, ctype)

            def text_field(name: str) -> Optional[str]:
                if name not in fields:
                    return None
                try:
                    return fields[name][0].decode("utf-8")
                except UnicodeDecodeError:
                    raise ApiError(400, "invalid_text", f"{name} is not UTF-8 text") from None

            audio, audio_type = None, None
            if "audio" in fields and fields["audio"][0]:
                audio, _, audio_type = fields["audio"]
            return PredictInput(
                text=text_field("text"), audio=audio, audio_content_type=audio_type,
                tasks=parse_tasks(text_field("tasks")),
                top_k=parse_top_k(text_field("top_k"), limits),
                asr=parse_bool(text_field("asr") or False),
            )
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {kind or '(none)'!r} is not accepted; use "
                       f"multipart/form-data or application/json")


class AppServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the benchmark opens 32 concurrent connections at once


def make_server(client: EmotionClient, host: str = "127.0.0.1", port: int = 8080,
                limits: Limits = Limits(), quiet: bool = True) -> AppServer:
    """A bound (not yet serving) server; `port=0` picks a free port (tests)."""
    service = PredictService(client, limits)
    handler = type("Handler", (AppHandler,), {"service": service, "quiet": quiet})
    server = AppServer((host, port), handler)
    server.service = service  # type: ignore[attr-defined]
    return server


class BackgroundServer:
    """`make_server` running in a daemon thread: for tests, the benchmark and notebooks."""

    def __init__(self, client: EmotionClient, host: str = "127.0.0.1", port: int = 0,
                 limits: Limits = Limits()):
        self.server = make_server(client, host, port, limits)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="mer-serve")

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.server.service.close()  # type: ignore[attr-defined]
