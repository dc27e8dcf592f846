"""The cost curve: RAVDESS x1, x4, x10 through the pipeline's StatisticsGen + Transform per runner.

Why: issue 17 asks what one machine and a Flink cluster buy as a dataset grows, and how close
the Beam Transform comes to its own feature kernel. Each row runs the pipeline's own prefix
(EmotionExampleGen .. Transform, TFX's partial run as `tests/pipeline/test_flink.py` does, the
cache off) on one runner, in a fresh child process so its peak RSS is its own:

  direct_in_memory      DirectRunner, one worker
  direct_mp             DirectRunner multi_processing, one worker process per core
  flink_1tm, flink_2tm  scripts/flink_cluster.sh with 1 or 2 TaskManagers, on ports 8091/6133
                        and its own run dir (a cluster on the default ports may be running)

RAVDESS (../shared/datasets/ravdess) is replicated by a generated manifest that names the same
files under new ids and speakers (nothing is copied). Per row: seconds per stage (from the
metadata store), clips/s of StatisticsGen + Transform, peak RSS of the submitting process, of
its largest child process (DirectRunner or loopback workers; TFX's sdist subprocess, forked
from it, also counts) and of each TaskManager. A failing row is recorded with its
error and the rest go on. The same run times the in-graph feature kernel (what the preset's
Transform computes per clip, `benchmarks/features.py`'s kernel) on 240 clips.

    python benchmarks/scaling.py [--sizes 1,4,10] [--runners direct_in_memory,...] [--out DIR]

Rows accumulate in DIR/results.json (so parts can run alone and add up); every invocation
prints the table of all rows, writes DIR/scaling.png (clips/s against clips per runner) and
ends with `key: value` headlines: flink_2tm_vs_1tm (at the largest size both finished),
flink_2tm_vs_direct (against the in-memory DirectRunner), transform_fraction_of_kernel (the
best runner's Transform clips/s over the kernel's) and max_clips_ok (the largest size every
runner tried finished). Not a test and not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CLUSTER = REPO / "scripts" / "flink_cluster.sh"
REST_PORT, RPC_PORT = 8091, 6133  # not the default cluster's, which may be running
RAVDESS_CLIPS = 1440
RUNNERS = ("direct_in_memory", "direct_mp", "flink_1tm", "flink_2tm")
STAGES = ("EmotionExampleGen", "StatisticsGen", "Transform")
KERNEL_CLIPS = 240


def replicate_ravdess(source: Path, out: Path, copies: int) -> int:
    """A manifest naming RAVDESS's files `copies` times under new ids and speakers; its rows."""
    from components.core import contract
    from components.example_gen.readers import get_reader

    rows = [r for r in get_reader("ravdess")(source) if isinstance(r, contract.Source)]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio_path", "text", "emotion", "speaker"])
        for copy in range(copies):
            for r in rows:
                w.writerow([f"{r.id}-{copy}", r.audio_path, "", r.emotion, f"{r.speaker}-{copy}"])
    return copies * len(rows)


def _run_config(runner: str, data_root: Path, output_dir: Path):
    from pipeline.configs import RunConfig, get_preset

    preset = get_preset("ravdess").replace(reader="manifest", require_text=False)
    common = dict(preset=preset, data_root=str(data_root), output_dir=str(output_dir),
                  enable_cache=False)
    if runner == "direct_in_memory":
        return RunConfig(**common)
    if runner == "direct_mp":
        return RunConfig(**common, beam_mode="multi_processing", beam_workers=os.cpu_count())
    return RunConfig(**common, runner="flink", flink_master=f"localhost:{REST_PORT}")


def stage_seconds(metadata_path: str) -> dict:
    """Seconds each component's execution took (MLMD create -> last update), by component."""
    db = sqlite3.connect(metadata_path)
    rows = db.execute(
        "SELECT c.name, e.create_time_since_epoch, e.last_update_time_since_epoch "
        "FROM Execution e JOIN Association a ON a.execution_id = e.id "
        "JOIN Context c ON c.id = a.context_id JOIN Type t ON t.id = c.type_id "
        "WHERE t.name = 'node' ORDER BY e.id").fetchall()
    return {name.split(".", 1)[-1]: (end - start) / 1000 for name, start, end in rows}


def run_row(runner: str, data_root: Path, output_dir: Path) -> dict:
    """The pipeline prefix up to the Transform on `runner` (in this process)."""
    from pipeline.local_runner import run_prefix

    config = _run_config(runner, data_root, output_dir)
    run_prefix(config, "Transform")
    seconds = stage_seconds(config.metadata_path)
    missing = [s for s in STAGES if s not in seconds]
    if missing:
        raise RuntimeError(f"no execution recorded for {missing}")
    return {"seconds": {s: seconds[s] for s in STAGES},
            "submitter_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _cluster(command: str, taskmanagers: int, run_dir: Path) -> None:
    env = dict(os.environ, MER_FLINK_TASKMANAGERS=str(taskmanagers),
               MER_FLINK_REST_PORT=str(REST_PORT), MER_FLINK_RPC_PORT=str(RPC_PORT),
               MER_FLINK_RUN_DIR=str(run_dir))
    subprocess.run([str(CLUSTER), command], check=True, env=env, stdout=subprocess.DEVNULL)


def taskmanager_peak_rss_mb(run_dir: Path) -> list[float]:
    """VmHWM (peak resident set) of each TaskManager JVM the cluster script started."""
    peaks = []
    for pid_file in sorted(run_dir.glob("taskmanager-*.pid")):
        try:
            status = Path(f"/proc/{pid_file.read_text().strip()}/status").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmHWM:")), 0)
        peaks.append(kb / 1024)
    return peaks


def measure(runner: str, clips: int, data_root: Path, work: Path, timeout_s: int) -> dict:
    """One row in a child process (its own peak RSS); Flink rows get a fresh cluster."""
    row = {"runner": runner, "clips": clips, "load_before": os.getloadavg()[0]}
    taskmanagers = {"flink_1tm": 1, "flink_2tm": 2}.get(runner, 0)
    run_dir = work / f"cluster-{runner}"
    out_json = work / f"{runner}-{clips}.json"
    started = time.time()
    try:
        if taskmanagers:
            _cluster("start", taskmanagers, run_dir)
        cmd = [sys.executable, __file__, "--row", runner, "--data-root", str(data_root),
               "--row-out", str(out_json)]
        with open(work / f"{runner}-{clips}.log", "w") as log:
            done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
        if done.returncode != 0 or not out_json.exists():
            tail = (work / f"{runner}-{clips}.log").read_text().strip().splitlines()[-3:]
            raise RuntimeError(f"exit {done.returncode}: " + " | ".join(tail)[-400:])
        row.update(json.loads(out_json.read_text()))
        row["taskmanager_peak_rss_mb"] = taskmanager_peak_rss_mb(run_dir) if taskmanagers else []
        s = row["seconds"]
        row["clips_per_s"] = clips / (s["StatisticsGen"] + s["Transform"])
        row["transform_clips_per_s"] = clips / s["Transform"]
        row["ok"] = True
    except (RuntimeError, subprocess.SubprocessError, OSError) as err:
        row.update(ok=False, error=str(err)[-500:])
    finally:
        if taskmanagers:
            try:
                _cluster("stop", taskmanagers, run_dir)
            except subprocess.SubprocessError:
                pass
    row["wall_s"] = time.time() - started
    row["load_after"] = os.getloadavg()[0]
    return row


def kernel_rate(source: Path) -> dict:
    """Clips/s of the preset's feature kernel (decode + utterance features), features.py's."""
    from benchmarks import features as fb
    from components.core.contract import SAMPLE_RATE
    from components.example_gen.audio_io import file_to_wav_bytes
    from pipeline.configs import get_preset

    feats = get_preset("ravdess").features
    wavs = [file_to_wav_bytes(c.audio_path) for c in fb.choose_clips(source, KERNEL_CLIPS, 0)]
    fn = fb.make_kernel(int(round(feats.duration_s * SAMPLE_RATE)), feats)
    return {"clips": len(wavs), "clips_per_s": fb.kernel_clips_per_s(fn, wavs),
            "load": os.getloadavg()[0]}


def headlines(rows: list[dict], kernel: dict | None) -> list[str]:
    ok = {(r["runner"], r["clips"]): r for r in rows if r["ok"]}
    lines = []

    def ratio(a: str, b: str) -> str:
        common = sorted(c for (r, c) in ok if r == a and (b, c) in ok)
        if not common:
            return f"n/a (no size where both {a} and {b} finished)"
        c = common[-1]
        value = ok[(a, c)]["clips_per_s"] / ok[(b, c)]["clips_per_s"]
        return f"{value:.2f} (at {c} clips)"

    lines.append(f"flink_2tm_vs_1tm: {ratio('flink_2tm', 'flink_1tm')}")
    lines.append(f"flink_2tm_vs_direct: {ratio('flink_2tm', 'direct_in_memory')}")
    if kernel and ok:
        best = max(ok.values(), key=lambda r: r["transform_clips_per_s"])
        lines.append(f"transform_fraction_of_kernel: "
                     f"{best['transform_clips_per_s'] / kernel['clips_per_s']:.3f} "
                     f"({best['runner']} at {best['clips']} clips)")
    else:
        lines.append("transform_fraction_of_kernel: n/a")
    tried = {r["runner"] for r in rows}
    sizes = sorted({r["clips"] for r in rows})
    good = [c for c in sizes if all((r, c) in ok for r in tried)]
    lines.append(f"max_clips_ok: {good[-1] if good else 0}")
    return lines


def plot(rows: list[dict], path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for runner in RUNNERS:
        pts = sorted((r["clips"], r["clips_per_s"]) for r in rows
                     if r["runner"] == runner and r["ok"])
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=runner)
    ax.set_xscale("log")
    ax.set_xlabel("clips (RAVDESS x1, x4, x10)")
    ax.set_ylabel("clips/s, StatisticsGen + Transform")
    ax.set_title("Throughput per runner (2 shared cores)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def print_table(rows: list[dict], kernel: dict | None) -> None:
    print(f"{'runner':17s} {'clips':>6s} {'ExampleGen':>10s} {'StatsGen':>9s} {'Transform':>9s} "
          f"{'clips/s':>8s} {'submit RSS':>10s} {'children':>8s}  TaskManager RSS / error")
    for r in sorted(rows, key=lambda r: (r["clips"], RUNNERS.index(r["runner"]))):
        if not r["ok"]:
            print(f"{r['runner']:17s} {r['clips']:6d} FAILED: {r['error'][-300:]}")
            continue
        s = r["seconds"]
        tms = ", ".join(f"{m:.0f} MB" for m in r["taskmanager_peak_rss_mb"]) or "-"
        print(f"{r['runner']:17s} {r['clips']:6d} {s['EmotionExampleGen']:9.1f}s "
              f"{s['StatisticsGen']:8.1f}s {s['Transform']:8.1f}s {r['clips_per_s']:8.1f} "
              f"{r['submitter_peak_rss_mb']:7.0f} MB {r['workers_peak_rss_mb']:5.0f} MB  {tms}")
    if kernel:
        print(f"kernel (decode + the preset's utterance features, {kernel['clips']} clips, "
              f"batch 64): {kernel['clips_per_s']:.1f} clips/s (load {kernel['load']:.1f})")


def main(argv=None) -> int:
    from pipeline.configs import SHARED_DATASETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4,10",
                        help="RAVDESS copies, comma-separated ('' with --no-kernel: only report)")
    parser.add_argument("--runners", default=",".join(RUNNERS))
    parser.add_argument("--out", default=str(REPO / "artifacts" / "benchmarks" / "scaling"))
    parser.add_argument("--source", default=str(SHARED_DATASETS / "ravdess"))
    parser.add_argument("--no-kernel", action="store_true", help="skip the kernel timing")
    parser.add_argument("--row-timeout", type=int, default=4 * 3600, help="seconds per row")
    parser.add_argument("--row", help=argparse.SUPPRESS)  # child: one row, in this process
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    parser.add_argument("--row-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.row:
        out = Path(args.row_out)
        result = run_row(args.row, Path(args.data_root), out.with_suffix(""))
        out.write_text(json.dumps(result))
        return 0
    source = Path(args.source)
    if not source.is_dir():
        print(f"RAVDESS not found at {source} (pass --source)", file=sys.stderr)
        return 2
    runners = args.runners.split(",")
    unknown = sorted(set(runners) - set(RUNNERS))
    if unknown:
        parser.error(f"unknown runners {unknown}; known {RUNNERS}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    saved = json.loads(results_path.read_text()) if results_path.exists() else {}
    rows, kernel = saved.get("rows", []), saved.get("kernel")
    if not args.no_kernel:
        kernel = kernel_rate(source)
        print(f"kernel: {kernel['clips_per_s']:.1f} clips/s", flush=True)
    for copies in sorted(int(x) for x in args.sizes.split(",") if x):  # largest sizes last
        work = Path(tempfile.mkdtemp(prefix=f"mer-scaling-x{copies}-"))
        clips = replicate_ravdess(source, work / "data", copies)
        for runner in runners:
            row = measure(runner, clips, work / "data", work, args.row_timeout)
            rows = [r for r in rows if (r["runner"], r["clips"]) != (runner, clips)] + [row]
            results_path.write_text(json.dumps({"rows": rows, "kernel": kernel}, indent=1))
            state = f"{row['clips_per_s']:.1f} clips/s" if row["ok"] else "FAILED"
            print(f"{runner} x{copies} ({clips} clips): {state}, {row['wall_s']:.0f} s "
                  f"(logs in {work})", flush=True)
    results_path.write_text(json.dumps({"rows": rows, "kernel": kernel}, indent=1))
    print()
    print_table(rows, kernel)
    if plot(rows, out / "scaling.png"):
        print(f"plot: {out / 'scaling.png'}")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(a shared machine: read the ratios)")
    for line in headlines(rows, kernel):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
