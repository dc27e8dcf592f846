"""Timelines and bulk inference, measured: real-time factor, memory of an hour, clips per second.

Why: issue 21 promises that a recording of any length gives a timeline in bounded memory and
that `mer infer` scales out on Flink. Each measurement runs the command a user runs, as a child
process, so its wall time and peak RSS are its own (`os.wait4`'s rusage):

  timeline   a synthetic 60-minute 16 kHz mono WAV (speech-like bursts with pauses, written in
             blocks to a temporary file) through `mer predict --timeline --json` with the given
             SER model: wall seconds, audio seconds per wall second (RTF) and peak RSS
  api        the same recording POSTed to `mer serve`'s /api/timeline (what the page sends):
             the server's peak RSS (VmHWM) after answering, and the RTF of the request
  direct     `mer infer` over RAVDESS x N (a generated manifest naming the same files under new
             ids; nothing copied) on the DirectRunner: clips per second
  flink      the same on scripts/flink_cluster.sh with 1 and then 2 TaskManagers (ports
             8091/6133, its own run dir): clips per second of each and their ratio

    python benchmarks/inference.py --model-dir artifacts/serving/ser [--minutes 60]
        [--copies 10] [--parts timeline,api,direct,flink] [--out DIR]

Ends with `key: value` headlines: timeline_rtf, timeline_peak_rss_mb_60min (with --minutes 60;
and _1min, to show it does not grow with the length), timeline_api_peak_rss_mb_60min,
bulk_clips_per_s_direct, bulk_flink_2tm_vs_1tm. Not a test and not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.scaling import REST_PORT, replicate_ravdess  # noqa: E402
from benchmarks.scaling import _cluster as cluster  # noqa: E402

RAVDESS = REPO.parent / "shared" / "datasets" / "ravdess"
SAMPLE_RATE = 16_000


def synthetic_recording(path: Path, minutes: float, seed: int = 0) -> float:
    """Speech-like audio: 1-4 s bursts of a modulated harmonic tone at varying loudness, with
    0.3-2 s pauses (one in ten 5-15 s: silence the VAD skips); written block by block, so
    generating an hour holds one block."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * SAMPLE_RATE)
    written = 0
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, subtype="PCM_16", format="WAV") as f:
        while written < total:
            burst = int(rng.uniform(1, 4) * SAMPLE_RATE)
            t = np.arange(burst) / SAMPLE_RATE
            f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 6) * t))
            phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
            voice = sum(np.sin(k * phase) / k for k in range(1, 6))
            voice *= rng.uniform(0.02, 0.5) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
            gap = rng.uniform(5, 15) if rng.random() < 0.1 else rng.uniform(0.3, 2)
            pause = np.zeros(int(gap * SAMPLE_RATE))
            block = np.concatenate([voice, pause]).astype(np.float32)[:total - written]
            f.write(0.9 * block / max(1.0, float(np.abs(block).max())))
            written += block.size
    return total / SAMPLE_RATE


def run_child(cmd: list[str], log: Path, timeout_s: float,
              stdout: Path | None = None) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS MB) of one command run as a child process; its
    output goes to `log` (stdout to `stdout` when given)."""
    started = time.perf_counter()
    with open(log, "w") as err, open(stdout or os.devnull, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out if stdout else err, stderr=err, cwd=REPO)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - started, usage.ru_maxrss / 1024


def mer(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def measure_timeline(model_dir: str, minutes: float, work: Path) -> dict:
    wav = work / f"recording-{minutes:g}min.wav"
    seconds = synthetic_recording(wav, minutes)
    out = work / "timeline.json"
    status, wall, rss = run_child(
        mer("predict", "--model-dir", model_dir, "--audio", str(wav), "--timeline", "--no-asr",
            "--json"), work / "timeline.log", timeout_s=3600, stdout=out)
    row = {"part": "timeline", "minutes": minutes, "status": status, "wall_s": round(wall, 1),
           "peak_rss_mb": round(rss, 1), "rtf": round(seconds / wall, 1)}
    if status == 0:
        timeline = json.loads(out.read_text())
        row.update(segments=len(timeline["segments"]), silent=timeline["silent_windows"])
    wav.unlink()
    return row


def _vm_hwm_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")) / 1024


def measure_api(repository: str, minutes: float, work: Path, port: int = 8093) -> dict:
    """`mer serve` in a child; the recording POSTed to /api/timeline as a multipart body
    streamed from a file (what the page sends); the server's peak RSS (VmHWM) after it."""
    import http.client
    import signal

    wav = work / f"recording-{minutes:g}min.wav"
    seconds = synthetic_recording(wav, minutes)
    body = work / "body.multipart"
    boundary = "mer-bench-boundary"
    with open(body, "wb") as f, open(wav, "rb") as audio:
        f.write(f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename='
                f'"rec.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode())
        while chunk := audio.read(1 << 20):
            f.write(chunk)
        f.write(f"\r\n--{boundary}--\r\n".encode())
    wav.unlink()
    log = open(work / "serve.log", "w")
    server = subprocess.Popen(mer("serve", "--model-dir", repository, "--port", str(port)),
                              stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    row = {"part": "api", "minutes": minutes, "status": 1}
    try:
        deadline = time.time() + 300
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/health")
                conn.getresponse().read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("mer serve did not start (see serve.log)") from None
                time.sleep(1)
        idle = _vm_hwm_mb(server.pid)
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
        with open(body, "rb") as f:
            conn.request("POST", "/api/timeline", body=f, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(body.stat().st_size)})
            resp = conn.getresponse()
            reply = json.loads(resp.read())
        wall = time.perf_counter() - started
        row.update(status=0 if resp.status == 200 else resp.status, wall_s=round(wall, 1),
                   rtf=round(seconds / wall, 1), upload_mb=round(body.stat().st_size / 2**20, 1),
                   server_peak_rss_mb=round(_vm_hwm_mb(server.pid), 1),
                   server_rss_after_start_mb=round(idle, 1),
                   segments=len(reply.get("segments", [])))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        log.close()
        body.unlink()
    return row


def measure_bulk(model_dir: str, copies: int, work: Path, runner: str,
                 taskmanagers: int = 0) -> dict:
    data = work / f"ravdess-x{copies}"
    clips = replicate_ravdess(RAVDESS, data, copies)
    args = ["infer", "--model-dir", model_dir, "--data-root", str(data), "--out",
            str(work / f"out-{runner}-{taskmanagers}")]
    run_dir = work / f"cluster-{taskmanagers}"
    if runner == "flink":
        cluster("start", taskmanagers, run_dir)
        args += ["--runner", "flink", "--flink-master", f"localhost:{REST_PORT}"]
    try:
        status, wall, rss = run_child(mer(*args), work / f"infer-{runner}-{taskmanagers}.log",
                                      timeout_s=3600)
    finally:
        if runner == "flink":
            cluster("stop", taskmanagers, run_dir)
    return {"part": runner, "taskmanagers": taskmanagers, "clips": clips, "status": status,
            "wall_s": round(wall, 1), "clips_per_s": round(clips / wall, 1),
            "submitter_peak_rss_mb": round(rss, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True, help="a pushed SER model (its base or version)")
    ap.add_argument("--repository", help="for the api part: the model repository `mer serve` "
                                         "loads (default: --model-dir's parent)")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--copies", type=int, default=10, help="RAVDESS x N for the bulk parts")
    ap.add_argument("--parts", default="timeline,api,direct,flink")
    ap.add_argument("--out", help="keep the work folder here (default: a temporary one)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    args.repository = args.repository or str(Path(args.model_dir).resolve().parent)
    work = Path(args.out or tempfile.mkdtemp(prefix="mer-inference-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    if "timeline" in parts:  # 1 minute too: the peak RSS must not grow with the length
        rows.append(measure_timeline(args.model_dir, 1.0, work))
        rows.append(measure_timeline(args.model_dir, args.minutes, work))
    if "api" in parts:
        rows.append(measure_api(args.repository, args.minutes, work))
    if "direct" in parts:
        rows.append(measure_bulk(args.model_dir, args.copies, work, "direct"))
    if "flink" in parts:
        for tms in (1, 2):
            rows.append(measure_bulk(args.model_dir, args.copies, work, "flink", tms))
    for row in rows:
        print(json.dumps(row))
    (work / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    by = {(r["part"], r.get("taskmanagers", r.get("minutes"))): r for r in rows
          if r["status"] == 0}
    if ("timeline", args.minutes) in by:
        t = by["timeline", args.minutes]
        print(f"timeline_rtf: {t['rtf']}")
        print(f"timeline_peak_rss_mb_{t['minutes']:g}min: {t['peak_rss_mb']}")
        if ("timeline", 1.0) in by:
            print(f"timeline_peak_rss_mb_1min: {by['timeline', 1.0]['peak_rss_mb']}")
    if ("api", args.minutes) in by:
        print(f"timeline_api_peak_rss_mb_{args.minutes:g}min: "
              f"{by['api', args.minutes]['server_peak_rss_mb']}")
    if ("direct", 0) in by:
        print(f"bulk_clips_per_s_direct: {by['direct', 0]['clips_per_s']}")
    if ("flink", 1) in by and ("flink", 2) in by:
        ratio = by["flink", 2]["clips_per_s"] / by["flink", 1]["clips_per_s"]
        print(f"bulk_flink_2tm_vs_1tm: {ratio:.2f}")
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
