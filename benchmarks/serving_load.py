"""The load generator of `benchmarks/serving.py`: keep-alive workers, latency statistics.

Kept apart from the benchmark's main script (what is measured and printed) so each stays one
readable unit.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass
class RunStats:
    task: str
    path: str
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    throughput: float


def run_load(call: Callable[[int], bool], concurrency: int, seconds: float,
             max_requests: int) -> tuple[list[float], int, float]:
    """`concurrency` workers call `call(i)` until `seconds` pass or `max_requests` are done."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    counter = iter(range(max_requests))
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                ok = call(i)
            except Exception:  # noqa: BLE001 - counted, not fatal
                ok = False
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                errors += not ok

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    return latencies, errors, time.perf_counter() - start


def stats(task: str, path: str, c: int, latencies: list[float], errors: int,
          wall: float) -> RunStats:
    ms = np.asarray(latencies) * 1000
    return RunStats(task, path, c, len(ms), errors, float(np.percentile(ms, 50)),
                    float(np.percentile(ms, 99)), len(ms) / wall)


class ApiCaller:
    """One keep-alive connection per worker thread, speaking minimal HTTP/1.1 on a raw socket.

    Why not http.client: the load generator shares the 2 cores with the app, and http.client's
    header parsing (email.parser) costs more CPU per request than the app's own HTTP layer; a
    wrk-style client (pre-built requests, a status line and Content-Length read) leaves the
    cores to what is measured. Replies are still checked: status 200 and every task "ok".
    """

    def __init__(self, url: str, bodies: Sequence[bytes]):
        host, port = url.split("//", 1)[1].rstrip("/").split(":")
        self.address = (host, int(port))
        self.requests = [
            (f"POST /api/predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: "
             f"application/json\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
            for b in bodies]
        self.local = threading.local()

    def _connect(self):
        sock = socket.create_connection(self.address, timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local.sock, self.local.buf = sock, b""
        return sock

    def _read_response(self, sock) -> tuple[int, bytes]:
        buf = self.local.buf
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the app closed the connection")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:])
                      if k.strip().lower() == b"content-length")
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the app closed the connection mid-reply")
            rest += chunk
        self.local.buf = rest[length:]
        return status, rest[:length]

    def __call__(self, i: int) -> bool:
        sock = getattr(self.local, "sock", None) or self._connect()
        try:
            sock.sendall(self.requests[i % len(self.requests)])
            status, data = self._read_response(sock)
        except Exception:
            sock.close()
            self.local.sock = None
            raise
        if status != 200:
            return False
        results = json.loads(data)["results"]
        return all(r["status"] == "ok" for r in results.values())


def stats_row(r: RunStats) -> str:
    return (f"{r.task:<4} {r.path:<10} c={r.concurrency:<3} n={r.requests:<6} "
            f"errors={r.errors:<3} p50={r.p50_ms:8.2f} ms  p99={r.p99_ms:8.2f} ms  "
            f"{r.throughput:8.1f} req/s")


def stats_table(results: Sequence[RunStats], levels: Sequence[int]) -> str:
    lines = ["| task | path | concurrency | requests | errors | p50 ms | p99 ms | req/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r.task} | {r.path} | {r.concurrency} | {r.requests} | {r.errors} | "
                     f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.throughput:.1f} |")
    return "\n".join(lines)
