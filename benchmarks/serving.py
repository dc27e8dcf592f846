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
* **front end alone** (context): the same app over a stub backend that answers at once
  (`benchmarks/serving_frontend.py`), sent the same requests at concurrency 8: its CPU per
  request is what HTTP, the framework and the body cost without any model.
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
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# This script is named serving.py: its folder, first on sys.path, would shadow the `serving`
# package that the model-limit measurement imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)

from benchmarks.serving_load import (  # noqa: E402
    ApiCaller,
    RunStats,
    run_load,
    stats,
    stats_row,
    stats_table,
)

TASKS = ("ter", "ser", "mer")
CLIP_S = 3.0
from components.core.contract import SAMPLE_RATE as SR  # noqa: E402


@dataclass
class Sample:
    text: str
    wav: bytes  # 3 s, 16 kHz mono PCM_16
    emotion: str


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


class ModelLimit:
    """The task's newest exported model, `predict_raw` called here on `batch`-row batches."""

    def __init__(self, model_dir: str, task: str, samples: Sequence[Sample], batch: int):
        from serving.backends.inprocess import InProcessModel

        self.model = InProcessModel(str(Path(model_dir) / task))
        rows = [samples[i % len(samples)] for i in range(batch)]
        self.inputs: dict[str, list[bytes]] = {}
        if "text" in self.model.inputs:
            self.inputs["text"] = [s.text.encode("utf-8") for s in rows]
        if "audio" in self.model.inputs:
            self.inputs["audio"] = [s.wav for s in rows]
        self.batch = batch
        self.model.run(self.inputs)  # trace / warm up

    def measure(self, seconds: float) -> tuple[float, float]:
        """(rows/s, CPU ms per row) over about `seconds`."""
        done, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds or done < 3 * self.batch:
            self.model.run(self.inputs)
            done += self.batch
        wall = time.perf_counter() - start
        return done / wall, 1000 * (time.process_time() - cpu) / done


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all threads (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def request_bodies(task: str, samples: Sequence[Sample]) -> list[bytes]:
    """JSON bodies for `task` (text and/or base64 WAV), one per sample."""
    bodies = []
    for s in samples:
        body: dict = {"tasks": [task]}
        if task in ("ter", "mer"):
            body["text"] = s.text
        if task in ("ser", "mer"):
            body["audio_b64"] = base64.b64encode(s.wav).decode()
        bodies.append(json.dumps(body).encode())
    return bodies


def frontend_cpu(samples: Sequence[Sample], concurrency: int, seconds: float, log_dir: Path,
                 model_dir: str) -> dict[str, float]:
    """App CPU ms per request with a stub backend (no model), per task: the front end alone."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = start_app(port, model_dir, None, log_dir / "frontend.log", stub=True)
    try:
        out = {}
        for task in TASKS:
            caller = ApiCaller(f"http://127.0.0.1:{port}", request_bodies(task, samples))
            run_load(caller, 4, 1.0, 64)
            cpu0 = process_cpu_s(app.pid)
            lat, _, _ = run_load(caller, concurrency, seconds, 100_000)
            out[task] = 1000 * (process_cpu_s(app.pid) - cpu0) / max(len(lat), 1)
        return out
    finally:
        app.terminate()
        app.wait(timeout=30)


def start_app(port: int, model_dir: str, server: Optional[str], log_path: Path,
              batching_config: Optional[str] = None, stub: bool = False) -> subprocess.Popen:
    """`mer serve` in its own process (or, with `stub`, the same app over a stub backend); its
    access log goes to a file (a pipe nobody reads would fill up and block the server)."""
    cmd = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port),
           "--model-dir", model_dir]
    if stub:
        cmd = [sys.executable, str(REPO / "benchmarks" / "serving_frontend.py"), "--port",
               str(port)]
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating API / model-limit rounds behind each fraction")
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
    fractions: dict[str, float] = {}
    mean_batch: dict[str, float] = {}
    c8 = 8 if 8 in levels else levels[-1]
    round_errors = 0
    try:
        for task in TASKS:
            caller = ApiCaller(url, request_bodies(task, samples))
            run_load(caller, 4, 1.0, 64)  # warm-up: graph tracing, connections, caches
            for c in levels:
                lat, err, wall = run_load(caller, c, args.seconds, 100_000)
                results.append(stats(task, "ours", c, lat, err, wall))
                print(stats_row(results[-1]), flush=True)
            # The fraction: API at concurrency 8 and the model alone, alternating, so load
            # from other processes on a shared machine hits both about equally.
            limit = ModelLimit(args.model_dir, task, samples, args.limit_batch)
            rounds = []
            for _ in range(args.rounds):
                cpu0 = process_cpu_s(app.pid)
                lat, err, wall = run_load(caller, c8, args.seconds, 100_000)
                api_cpu = 1000 * (process_cpu_s(app.pid) - cpu0) / max(len(lat), 1)
                round_errors += err
                rounds.append((len(lat) / wall, api_cpu, *limit.measure(args.seconds)))
            api_rps, api_cpu, limit_rps, limit_cpu = (statistics.median(r[i] for r in rounds)
                                                      for i in range(4))
            single_cpu = ModelLimit(args.model_dir, task, samples, 1).measure(1.0)[1]
            fractions[task] = api_rps / limit_rps
            print(f"{task:<4} c={c8} through the API {api_rps:7.1f} req/s (app CPU {api_cpu:.2f} "
                  f"ms/request) | model limit {limit_rps:7.1f} rows/s (v{limit.model.version}, "
                  f"batches of {args.limit_batch}, {limit_cpu:.2f} ms CPU/row; one row per call: "
                  f"{single_cpu:.2f} ms) | fraction {fractions[task]:.2f} (medians of "
                  f"{args.rounds} alternating rounds)", flush=True)
            if not args.server:
                mean_batch.update(batch_sizes(url))
    finally:
        app.terminate()
        app.wait(timeout=30)
    frontend = frontend_cpu(samples, c8, args.seconds, Path(log_dir), args.model_dir)

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
                print(stats_row(results[-1]), flush=True)

    print("\n" + stats_table(results, levels))
    by = {(r.task, r.path, r.concurrency): r for r in results}
    ratios = {t: by[(t, "ours", c8)].throughput / by[(t, "reference", c8)].throughput
              for t in TASKS}
    c1 = 1 if 1 in levels else levels[0]
    if mean_batch:
        print("\nmean in-process batch (rows), all runs: " + ", ".join(
            f"{t} {b:.1f}" for t, b in sorted(mean_batch.items())))
    print(f"front end alone (the same app over a stub backend, no model), app CPU per request at "
          f"concurrency {c8}: " + ", ".join(f"{t} {ms:.2f} ms" for t, ms in frontend.items()))
    print(f"context, not a headline: throughput vs the reference path at concurrency {c8}: "
          + ", ".join(f"{t} {r:.1f}x" for t, r in ratios.items()))
    for t in TASKS:
        print(f"{t}_p50_ms: {by[(t, 'ours', c1)].p50_ms:.2f}")
    print(f"errors: {round_errors + sum(r.errors for r in results if r.path == 'ours')}")
    for t in TASKS:
        print(f"{t}_fraction_of_model_limit: {fractions[t]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
