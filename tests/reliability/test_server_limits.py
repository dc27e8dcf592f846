"""Probe 4 of issue 13: the web server cannot be held, and answers every refusal in JSON.

Raw sockets, because the cases are what an HTTP client library would not send: bad request
lines, negative or duplicate Content-Length, 100 KB headers, bodies that never come. Each reply
must be the API's JSON error with the right status, and slow clients must be cut off by the
server (the limits are lowered here so the test takes seconds; `mer serve`'s defaults are in
`serving.app.schemas.ServerLimits`).
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from serving.app.schemas import ServerLimits

LIMITS = ServerLimits(header_timeout_s=1.0, body_timeout_s=1.0, keep_alive_s=2.0,
                      max_header_bytes=8192, max_connections=40, max_in_flight=4)


@pytest.fixture(scope="module")
def server(tmp_path_factory, good_models):
    from serving.app.schemas import Limits
    from serving.app.server import BackgroundServer
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient
    from tests.reliability.conftest import copy_version

    root = tmp_path_factory.mktemp("limits")
    for task in ("ter", "ser", "mer"):
        copy_version(good_models / task, root / task, 1)
    client = EmotionClient(InProcessBackend(str(root)))
    with BackgroundServer(client, limits=Limits(max_request_bytes=256 * 1024),
                          server_limits=LIMITS) as srv:
        yield srv


def _address(server) -> tuple[str, int]:
    host, port = server.url.rsplit("//", 1)[1].split(":")
    return host, int(port)


def exchange(server, data: bytes, timeout: float = 10.0) -> tuple[int, dict, dict]:
    """Send `data`, read until the server closes or the response is complete."""
    with socket.create_connection(_address(server), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


def read_response(sock) -> tuple[int, dict, dict]:
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, json.loads(body[:length]) if length else {}


def request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _json(body: str) -> bytes:
    return request("POST", "/api/predict", body.encode(),
                   {"Content-Type": "application/json", "Content-Length": len(body.encode())})


CASES = {
    "PUT": (request("PUT", "/api/predict", b"{}", {"Content-Length": 2}), 405,
            "method_not_allowed"),
    "DELETE": (request("DELETE", "/"), 405, "method_not_allowed"),
    "unknown route": (request("GET", "/nope"), 404, "not_found"),
    "POST /api/predictX": (request("POST", "/api/predictX", b"{}", {"Content-Length": 2}), 404,
                           "not_found"),
    "bad request line": (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    "unknown method": (b"FROB / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"),
    "Content-Length -5": (request("POST", "/api/predict", b"", {"Content-Length": "-5"}), 400,
                          "bad_request"),
    "two Content-Length": (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"
                           b"{}", 400, "bad_request"),
    "100 KB header": (request("GET", "/api/health", headers={"X-Big": "a" * 100_000}), 431,
                      "headers_too_large"),
    "many headers": (request("GET", "/api/health",
                             headers={f"X-H{i}": "b" * 100 for i in range(200)}), 431,
                     "headers_too_large"),
    "100k-deep JSON": (_json("[" * 100_000 + "]" * 100_000), 400, "invalid_json"),
    "top_k 1e999": (_json('{"text": "hi", "top_k": 1e999}'), 400, "invalid_top_k"),
    "oversized body": (request("POST", "/api/predict", b"x" * 300_000,
                               {"Content-Type": "application/json", "Content-Length": 300_000}),
                       413, "request_too_large"),
    "wrong content type": (request("POST", "/api/predict", b"hi", {"Content-Type": "text/plain",
                                                                   "Content-Length": 2}),
                           415, "unsupported_media_type"),
    "text too long": (_json(json.dumps({"text": "a" * 3000})), 422, "text_too_long"),
    "wrong type": (_json('{"text": 5}'), 400, "invalid_text"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_refusal_is_a_json_error(server, case):
    data, status, code = CASES[case]
    got, headers, body = exchange(server, data)
    assert (got, body.get("error", {}).get("code")) == (status, code), (case, got, body)
    assert headers["content-type"].startswith("application/json")
    assert body["error"]["status"] == status and body["error"]["message"]


def test_slow_headers_are_cut_off_with_408(server):
    with socket.create_connection(_address(server), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        status, _, body = read_response(sock)
        waited = time.monotonic() - start
        assert sock.recv(1) == b""  # closed by the server
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert waited < LIMITS.header_timeout_s + 5


@pytest.mark.parametrize("length", [100, 52_428_800])
def test_a_body_that_never_comes_is_cut_off(server, length):
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(request("POST", "/api/predict", headers={
            "Content-Type": "application/json", "Content-Length": length}))
        status, _, body = read_response(sock)
        assert sock.recv(1) == b""
    # A body over the limit is refused at once (413); one under it times out (408).
    assert (status, body["error"]["code"]) in ((408, "request_timeout"),
                                               (413, "request_too_large"))


def test_idle_connections_are_closed(server):
    with socket.create_connection(_address(server), timeout=10) as sock:
        start = time.monotonic()
        status, _, _ = read_response(sock)
        assert time.monotonic() - start < LIMITS.header_timeout_s + 5
    assert status == 408


def test_connection_cap_answers_503_with_retry_after(server):
    socks = [socket.create_connection(_address(server), timeout=10)
             for _ in range(LIMITS.max_connections)]
    try:
        time.sleep(0.2)
        status, headers, body = exchange(server, request("GET", "/api/health"))
        assert status == 503 and headers["retry-after"] == str(LIMITS.retry_after_s)
        assert body["error"]["code"] == "server_busy"
    finally:
        for s in socks:
            s.close()
    time.sleep(0.3)
    assert exchange(server, request("GET", "/api/health"))[0] == 200


def test_in_flight_cap_answers_503_with_retry_after(server):
    """Requests whose bodies are still arriving are in flight; one more is refused."""
    held = []
    try:
        for _ in range(LIMITS.max_in_flight):
            sock = socket.create_connection(_address(server), timeout=10)
            sock.sendall(request("POST", "/api/predict", b"{", {
                "Content-Type": "application/json", "Content-Length": 20}))
            held.append(sock)
        time.sleep(0.2)
        status, headers, body = exchange(server, _json('{"text": "hi"}'))
        assert status == 503 and headers["retry-after"] == str(LIMITS.retry_after_s)
        assert body["error"]["code"] == "server_busy"
        assert exchange(server, request("GET", "/api/health"))[0] == 200  # probes still answer
    finally:
        for s in held:
            s.close()


def _metric_lines(server, status: str) -> list[str]:
    import urllib.request

    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return [ln for ln in text.splitlines() if ln.startswith("mer_http_requests_total{")
            and f'status="{status}"' in ln and 'route="/api/predict"' in ln]


def test_timeouts_and_hang_ups_are_not_server_errors(server, caplog, fault_report):
    """Issue 18 item 8: a body that never completes is a 408 and a client that hangs up
    mid-body a 499 in the access log and /metrics, without an ERROR traceback."""
    head = request("POST", "/api/predict", headers={"Content-Type": "application/json",
                                                     "Content-Length": 100})
    with caplog.at_level(logging.INFO, logger="mer.serve"):
        with socket.create_connection(_address(server), timeout=10) as sock:
            sock.sendall(head + b'{"text": "I am')
            status, _, _ = read_response(sock)  # the body deadline: 408
        with socket.create_connection(_address(server), timeout=10) as sock:
            sock.sendall(head + b'{"text": "I am')
            time.sleep(0.3)  # the route is reading the body: now hang up
        deadline = time.monotonic() + 5
        while not _metric_lines(server, "499") and time.monotonic() < deadline:
            time.sleep(0.1)
    assert status == 408
    assert _metric_lines(server, "408") and _metric_lines(server, "499")
    assert not _metric_lines(server, "500")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    fault_report("408 and mid-body hang-up", "/metrics: 408 and 499, no 500, no ERROR log")
