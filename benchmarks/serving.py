"""Load benchmark of the serving path: latency, throughput, and how close it is to the model.

What is measured, for TER, SER (3 s clips) and MER at concurrency 1, 8 and 32:

* **ours**: `POST /api/predict` (JSON, base64 WAV) on the web app that `mer serve` runs,
  started as a separate process (so the load generator does not share its GIL), backed by
  the pushed SavedModels in-process with micro-batching (default) or by TF Serving
  (`--server URL`). Clients keep their HTTP connection alive, as browsers and API clients do.
* **model limit**: the same exported model's own throughput, `predict_raw` called in this
  process on batches of `--limit-batch` rows of the same inputs for `--seconds`, right after
  the task's API runs (the app is idle then). `<task>_fraction_of_model_limit` is the API's
  throughput at concurrency 8 divided by it: what HTTP, JSON/base64, the upload conversion and
  batching leave of what the model could do. The load generator shares the 2 cores with the
  app, so its own CPU is part of what the fraction pays for.
* **reference** (context): the reference system's per-request path, measured in the same run
  on the same inputs: every call loads the pickled scikit-learn models from disk and recomputes
  the librosa features (mean MFCC 40 / log-mel 128 / chroma 12) from the WAV bytes. It is
  called as a plain function, without HTTP, which favours the reference.

Models for the reference path are trained here on the demo corpus (TF-IDF + logistic
regression, librosa features + logistic regression, both concatenated for MER) and pickled
with joblib, as the reference did.

Usage: ``make demo && python benchmarks/serving.py [--model-dir artifacts/serving]
[--server grpc://localhost:8500] [--seconds 3]``. The last lines are machine-readable:
``ter_p50_ms``, ``ser_p50_ms``, ``mer_p50_ms`` (ours, concurrency 1), ``errors`` (ours, all
runs) and ``ter_fraction_of_model_limit``, ``ser_...``, ``mer_...`` (concurrency 8). The
throughput ratio to the reference is printed above them as context.
"""

from __future__ import annotations

import argparse
import base64
import csv
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# This script is named serving.py: its folder, first on sys.path, would shadow the `serving`
# package that the model-limit measurement imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)

TASKS = ("ter", "ser", "mer")
CLIP_S = 3.0
SR = 16000


@dataclass
class Sample:
    text: str
    wav: bytes  # 3 s, 16 kHz mono PCM_16
    emotion: str


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


# --------------------------------------------------------------------------- inputs


def load_samples(data_root: Path, n: int) -> list[Sample]:
    """`n` demo utterances, clips padded/trimmed to 3 s (generates the corpus if absent)."""
    import soundfile as sf

    from components.example_gen.audio_io import encode_wav

    if not (data_root / "manifest.csv").exists():
        from pipeline import demo_corpus

        demo_corpus.generate(str(data_root))
    with open(data_root / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    step = max(1, len(rows) // n)
    out = []
    for row in rows[::step][:n]:
        y, sr = sf.read(data_root / row["audio_path"], dtype="float32")
        assert sr == SR, f"{row['audio_path']}: {sr} Hz"
        clip = np.zeros(int(CLIP_S * SR), np.float32)
        clip[: min(len(y), len(clip))] = y[: len(clip)]
        out.append(Sample(row["text"], encode_wav(clip), row["emotion"]))
    return out


# --------------------------------------------------------------------------- load generator


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


def model_limit(model_dir: str, task: str, samples: Sequence[Sample], batch: int,
                seconds: float) -> tuple[float, str]:
    """Rows/s of the task's newest exported model, `predict_raw` on `batch`-row calls."""
    from serving.backends.inprocess import InProcessModel

    model = InProcessModel(str(Path(model_dir) / task))
    rows = [samples[i % len(samples)] for i in range(batch)]
    inputs = {}
    if "text" in model.inputs:
        inputs["text"] = [s.text.encode("utf-8") for s in rows]
    if "audio" in model.inputs:
        inputs["audio"] = [s.wav for s in rows]
    model.run(inputs)  # trace / warm up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or done < 3 * batch:
        model.run(inputs)
        done += batch
    return done / (time.perf_counter() - start), model.version


def batch_sizes(url: str) -> dict[str, float]:
    """Mean rows per in-process batch so far, per task, from the app's /metrics."""
    host, port = url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    totals: dict[str, dict[str, float]] = {}
    for name, task, value in re.findall(
            r'^mer_inprocess_(batches|batch_rows)_total\{task="(\w+)"\} ([0-9.e+]+)$', text,
            re.MULTILINE):
        totals.setdefault(task, {})[name] = float(value)
    return {t: v["batch_rows"] / v["batches"] for t, v in totals.items()
            if v.get("batches")}


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
        import socket

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


def start_app(port: int, model_dir: str, server: Optional[str], log_path: Path,
              batching_config: Optional[str] = None) -> subprocess.Popen:
    """`mer serve` in its own process; its access log goes to a file (a pipe nobody reads
    would fill up and block the server)."""
    cmd = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port),
           "--model-dir", model_dir]
    if server:
        cmd += ["--server", server]
    if batching_config:
        cmd += ["--batching-config", batching_config]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mer serve exited:\n{log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/health")
            resp = conn.getresponse()
            health = json.loads(resp.read())
            conn.close()
            if health["status"] == "ok":
                return proc
            if resp.status == 503 or health["status"] == "degraded":
                proc.terminate()
                raise SystemExit(f"models missing ({health['models']}): run `make demo` first")
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("mer serve did not become healthy within 120 s")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", default=str(REPO / "artifacts" / "serving"))
    parser.add_argument("--server", help="TF Serving URL for the app (default: in-process)")
    parser.add_argument("--batching-config",
                        help="the app's in-process batching file (default: its own)")
    parser.add_argument("--data-root", default=str(REPO / "artifacts" / "data" / "demo"))
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=3.0, help="per run (ours)")
    parser.add_argument("--reference-seconds", type=float, default=4.0)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--limit-batch", type=int, default=64,
                        help="rows per call when measuring the model's own throughput")
    parser.add_argument("--port", type=int, default=0, help="app port (default: a free one)")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]

    samples = load_samples(Path(args.data_root), args.samples)
    print(f"{len(samples)} inputs: demo utterances, clips padded/trimmed to {CLIP_S:g} s")

    port = args.port
    if not port:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    log_dir = tempfile.mkdtemp(prefix="bench-serving-")
    app = start_app(port, args.model_dir, args.server, Path(log_dir) / "mer-serve.log",
                    args.batching_config)
    url = f"http://127.0.0.1:{port}"
    results: list[RunStats] = []
    limits: dict[str, float] = {}
    mean_batch: dict[str, float] = {}
    try:
        for task in TASKS:
            bodies = []
            for s in samples:
                body = {"tasks": [task]}
                if task in ("ter", "mer"):
                    body["text"] = s.text
                if task in ("ser", "mer"):
                    body["audio_b64"] = base64.b64encode(s.wav).decode()
                bodies.append(json.dumps(body).encode())
            caller = ApiCaller(url, bodies)
            run_load(caller, 4, 1.0, 64)  # warm-up: graph tracing, connections, caches
            for c in levels:
                lat, err, wall = run_load(caller, c, args.seconds, 100_000)
                results.append(stats(task, "ours", c, lat, err, wall))
                print(_row(results[-1]), flush=True)
            if not args.server:
                mean_batch.update(batch_sizes(url))
            limits[task], version = model_limit(args.model_dir, task, samples, args.limit_batch,
                                                args.seconds)
            print(f"{task:<4} model limit: {limits[task]:8.1f} rows/s (v{version}, predict_raw "
                  f"in-process, batches of {args.limit_batch})", flush=True)
    finally:
        app.terminate()
        app.wait(timeout=30)

    with tempfile.TemporaryDirectory() as tmp:
        from benchmarks.serving_reference import build_reference

        train = load_samples(Path(args.data_root), 96)
        reference = build_reference(train, Path(tmp))
        for task in TASKS:
            reference(task, samples[0])  # warm-up (imports)
            for c in levels:
                lat, err, wall = run_load(
                    lambda i, t=task: bool(reference(t, samples[i % len(samples)])),
                    c, args.reference_seconds, max(4 * c, 400))
                results.append(stats(task, "reference", c, lat, err, wall))
                print(_row(results[-1]), flush=True)

    print("\n" + _table(results, levels))
    by = {(r.task, r.path, r.concurrency): r for r in results}
    c8 = 8 if 8 in levels else levels[-1]
    ratios = {t: by[(t, "ours", c8)].throughput / by[(t, "reference", c8)].throughput
              for t in TASKS}
    fractions = {t: by[(t, "ours", c8)].throughput / limits[t] for t in TASKS}
    c1 = 1 if 1 in levels else levels[0]
    print(f"\nat concurrency {c8}: " + "; ".join(
        f"{t} {by[(t, 'ours', c8)].throughput:.0f} req/s through the API vs {limits[t]:.0f} "
        f"rows/s model limit" for t in TASKS))
    if mean_batch:
        print("mean in-process batch (rows), all runs: " + ", ".join(
            f"{t} {b:.1f}" for t, b in sorted(mean_batch.items())))
    print(f"context, not a headline: throughput vs the reference path at concurrency {c8}: "
          + ", ".join(f"{t} {r:.1f}x" for t, r in ratios.items()))
    for t in TASKS:
        print(f"{t}_p50_ms: {by[(t, 'ours', c1)].p50_ms:.2f}")
    print(f"errors: {sum(r.errors for r in results if r.path == 'ours')}")
    for t in TASKS:
        print(f"{t}_fraction_of_model_limit: {fractions[t]:.2f}")
    return 0


def _row(r: RunStats) -> str:
    return (f"{r.task:<4} {r.path:<10} c={r.concurrency:<3} n={r.requests:<6} "
            f"errors={r.errors:<3} p50={r.p50_ms:8.2f} ms  p99={r.p99_ms:8.2f} ms  "
            f"{r.throughput:8.1f} req/s")


def _table(results: Sequence[RunStats], levels: Sequence[int]) -> str:
    lines = ["| task | path | concurrency | requests | errors | p50 ms | p99 ms | req/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r.task} | {r.path} | {r.concurrency} | {r.requests} | {r.errors} | "
                     f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.throughput:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
