"""TFX's `beam_pipeline_args` for `mer run --runner`: where the Beam components run.

One home for the runner options (docs/scaling.md): the DirectRunner's modes, the FlinkRunner's
job server and SDK workers, Dataflow's required options. `RunConfig.beam_pipeline_args()`
(`pipeline/configs.py`) calls `beam_pipeline_args()` here with its fields; the user's
`--beam-arg`s come last, so they override every default.

On a loopback Flink master (the cluster of `scripts/flink_cluster.sh`) the Python work runs in
SDK worker *processes* started by this process (Beam's loopback worker pool with
`use_loopback_process_worker`, as TFX's penguin_pipeline_local.py runs Flink): one per slot of
each TaskManager, so WAV decoding, TFDV and the tf.Transform graph use as many cores as the
cluster has slots. Plain LOOPBACK would run them as threads of this one process (measured: 2
TaskManagers 0.99x one).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import urlsplit

from components.core.errors import UsageError

BEAM_MODES = ("in_memory", "multi_processing", "multi_threading")
# Where the Beam components (ExampleGen, StatisticsGen, Transform, Evaluator) run: `mer run
# --runner`. "direct" is Beam's embedded runner (with BEAM_MODES); the others hand the same
# pipelines to a cluster (docs/scaling.md).
RUNNERS = ("direct", "flink", "spark", "dataflow")
_BEAM_RUNNER_CLASS = {"direct": "DirectRunner", "flink": "FlinkRunner", "spark": "SparkRunner",
                      "dataflow": "DataflowRunner"}
# Options Dataflow cannot run without; `mer run` names the missing ones rather than let Beam fail
# after the first components ran.
_DATAFLOW_REQUIRED = ("project", "region", "temp_location")
# scripts/flink_cluster.sh installs Beam's Flink job server under this cache (`paths` prints it;
# tests/pipeline/test_runner_options.py checks the two agree). The job server it builds stages
# no jars because that cluster has them, so it is the default for a loopback --flink-master only.
FLINK_CACHE_ENV = "MER_FLINK_CACHE"
FLINK_JOB_SERVER_JAR_ENV = "MER_FLINK_JOB_SERVER_JAR"
_FLINK_JOB_SERVER = ("beam-flink-job-server-2.62.0", "beam-flink-job-server.jar")
# Keep an SDK worker process alive between the stages of a job: each new one imports
# TensorFlow, TFDV and tf.Transform again (~10 s on 2 cores). Not TFX's 1,000,000 ms: workers
# (~0.7 GB each) then outlive their job by 16 minutes and pile up over a run's 6 Beam jobs.
_ENVIRONMENT_CACHE_MILLIS = 30_000
# The project's own package description, named to the DirectRunner as `--setup_file`. Why: a
# TFX Beam executor given Beam args that name no dependency (`--setup_file`, `--extra_package`,
# an SDK image) copies TFX's installed package and runs `setup.py sdist` on it
# (`tfx/utils/dependency_utils.py`) for remote workers to install: ~4 s on 2 idle cores for each
# of ExampleGen, StatisticsGen, the Transform and every Evaluator, on every run. The DirectRunner
# has no remote workers and never stages or reads the file (docs/scaling.md, "The Transform near
# its kernel"), so naming it only stops that wasted build. Not for Flink: its job server would
# stage it.
PROJECT_SETUP_FILE = Path(__file__).resolve().parents[1] / "setup.py"


def local_flink_job_server_jar() -> Path:
    """Where `scripts/flink_cluster.sh install` puts the job server for its local cluster."""
    cache = os.environ.get(FLINK_CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"),
        "mer-pipeline", "flink")
    return Path(cache).joinpath(*_FLINK_JOB_SERVER)


def has_option(args: Sequence[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in args)


def is_loopback(host_port: str) -> bool:
    host = urlsplit(host_port if "://" in host_port else f"//{host_port}").hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def flink_slots(flink_master: str) -> Optional[tuple[int, int]]:
    """(TaskManagers, slots in all) from the cluster's REST API, or None when it does not answer
    (the job submission then fails with Beam's own message)."""
    url = flink_master if "://" in flink_master else f"http://{flink_master}"
    try:
        with urllib.request.urlopen(f"{url}/overview", timeout=5) as r:
            overview = json.load(r)
        return int(overview["taskmanagers"]), int(overview["slots-total"])
    except (OSError, ValueError, KeyError):
        return None


def _put_this_python_first_on_path() -> None:
    """Beam's loopback worker pool starts each process worker as plain `python` from PATH; a
    `.venv/bin/mer` run without an activated venv would start one without Beam installed."""
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + path


def beam_pipeline_args(runner: str, *, beam_mode: str = "in_memory", beam_workers: int = 0,
                       flink_master: str = "", flink_job_server_jar: str = "",
                       user_args: Sequence[str] = ()) -> list[str]:
    """The runner's own options, then the user's pass-through (`--beam-arg`, last wins)."""
    if runner not in RUNNERS:
        raise UsageError(f"--runner must be one of {RUNNERS}, got {runner!r}")
    if runner == "direct":
        args = _direct_args(beam_mode, beam_workers)
    elif runner == "flink":
        args = _flink_args(flink_master, flink_job_server_jar, user_args)
    else:
        args = [f"--runner={_BEAM_RUNNER_CLASS[runner]}"]
    if runner == "dataflow":
        missing = [o for o in _DATAFLOW_REQUIRED if not has_option(user_args, o)]
        if missing:
            raise UsageError(
                "--runner dataflow needs " + " ".join(f"--beam-arg=--{o}=..." for o in missing)
                + " (see docs/scaling.md)")
    return args + list(user_args)


def _direct_args(beam_mode: str, beam_workers: int) -> list[str]:
    if beam_mode not in BEAM_MODES:
        raise UsageError(f"--beam-mode must be one of {BEAM_MODES}, got {beam_mode!r}")
    workers = 1 if beam_mode == "in_memory" else beam_workers
    args = [f"--direct_running_mode={beam_mode}", f"--direct_num_workers={workers}"]
    if PROJECT_SETUP_FILE.is_file():  # an installed wheel has none: TFX's sdist runs as before
        args.append(f"--setup_file={PROJECT_SETUP_FILE}")
    return args


def _flink_args(flink_master: str, job_server_jar: str, user_args: Sequence[str]) -> list[str]:
    if not flink_master:
        raise UsageError(
            "--runner flink needs --flink-master HOST:PORT, the Flink REST address "
            "(localhost:8081 after `scripts/flink_cluster.sh start`)")
    local = is_loopback(flink_master)
    args = ["--runner=FlinkRunner", f"--flink_master={flink_master}"]
    jar = job_server_jar or os.environ.get(FLINK_JOB_SERVER_JAR_ENV, "")
    if not jar and local:
        default = local_flink_job_server_jar()
        if not default.exists():
            raise UsageError(
                f"No Flink job server at {default}: run `scripts/flink_cluster.sh start` "
                f"(it installs one) or pass --flink-job-server-jar PATH")
        jar = str(default)
    if jar:  # else Beam fetches its published job server for --flink_version
        args.append(f"--flink_job_server_jar={jar}")
    if has_option(user_args, "environment_type"):
        return args
    if not local:
        raise UsageError(
            f"TaskManagers at {flink_master} cannot reach Python workers in this "
            "process (LOOPBACK): pass --beam-arg=--environment_type=DOCKER with "
            "--beam-arg=--sdk_container_image=IMAGE, or EXTERNAL with "
            "--beam-arg=--environment_config=HOST:PORT of a Beam worker pool "
            "(docs/scaling.md)")
    # The SDK workers are processes this one starts: they see its code and files, and there are
    # as many as the cluster has slots (per TaskManager: its slots). Flink's parallelism is set
    # explicitly because Beam's job server reads no flink-conf (it would run everything at 1).
    _put_this_python_first_on_path()
    args += ["--environment_type=LOOPBACK", "--experiments=use_loopback_process_worker=True",
             f"--environment_cache_millis={_ENVIRONMENT_CACHE_MILLIS}"]
    slots = flink_slots(flink_master)
    if slots:
        taskmanagers, total = slots
        args += [f"--parallelism={total}",
                 f"--sdk_worker_parallelism={max(1, total // max(1, taskmanagers))}"]
    return args
