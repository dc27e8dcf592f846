"""`mer run --runner ...`: the Beam options each runner gets, and clear errors for bad ones."""

from __future__ import annotations

import subprocess

import pytest

from components.core import errors
from pipeline import beam_args, cli, cli_config
from pipeline.beam_args import local_flink_job_server_jar
from pipeline.configs import REPO_ROOT, RunConfig, get_preset


def _config(**kwargs) -> RunConfig:
    return RunConfig(preset=get_preset("demo"), data_root="/data", output_dir="/out", **kwargs)


def _cli(*extra: str) -> RunConfig:
    args = cli.build_parser().parse_args(["run", "--preset", "ravdess", "--data-root", "/",
                                          *extra])
    return cli_config.run_config(args)


@pytest.fixture
def job_server(tmp_path, monkeypatch):
    """A stand-in for the jar scripts/flink_cluster.sh installs."""
    monkeypatch.setenv("MER_FLINK_CACHE", str(tmp_path))
    monkeypatch.delenv("MER_FLINK_JOB_SERVER_JAR", raising=False)
    jar = local_flink_job_server_jar()
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"")
    return jar


SKIP_TFX_SDIST = f"--setup_file={beam_args.PROJECT_SETUP_FILE}"


def test_direct_is_the_default_and_keeps_beam_mode():
    assert _config().beam_pipeline_args() == [
        "--direct_running_mode=in_memory", "--direct_num_workers=1", SKIP_TFX_SDIST]
    assert _cli("--beam-mode", "multi_processing").beam_pipeline_args() == [
        "--direct_running_mode=multi_processing", "--direct_num_workers=0", SKIP_TFX_SDIST]


def test_tfx_builds_no_sdist_for_the_direct_runner(monkeypatch):
    """TFX's Beam executors build an sdist of TFX for remote workers unless the Beam args name a
    dependency; the DirectRunner's args do, so no executor of a local run pays for it."""
    from tfx.utils import dependency_utils

    def refuse():
        raise AssertionError("TFX built its ephemeral sdist")

    monkeypatch.setattr(dependency_utils, "build_ephemeral_package", refuse)
    for mode in ("in_memory", "multi_processing"):
        args = _config(beam_mode=mode).beam_pipeline_args()
        assert dependency_utils.make_beam_dependency_flags(args) == args


LOOPBACK_PROCESS_WORKERS = ["--environment_type=LOOPBACK",
                            "--experiments=use_loopback_process_worker=True",
                            "--environment_cache_millis=30000"]


def test_local_flink_gets_the_clusters_job_server_and_a_worker_process_per_slot(
        job_server, monkeypatch):
    # A cluster of 2 TaskManagers x 3 slots: 6-way Flink parallelism, 3 SDK worker processes
    # per TaskManager; the user's --beam-arg comes last and wins.
    monkeypatch.setattr(beam_args, "flink_slots", lambda master: (2, 6))
    args = _cli("--runner", "flink", "--flink-master", "localhost:8081",
                "--beam-arg=--parallelism=2").beam_pipeline_args()
    assert args == ["--runner=FlinkRunner", "--flink_master=localhost:8081",
                    f"--flink_job_server_jar={job_server}", *LOOPBACK_PROCESS_WORKERS,
                    "--parallelism=6", "--sdk_worker_parallelism=3", "--parallelism=2"]


def test_local_flink_that_does_not_answer_leaves_parallelism_to_flink(job_server):
    args = _config(runner="flink", flink_master="127.0.0.1:1").beam_pipeline_args()
    assert args[-3:] == LOOPBACK_PROCESS_WORKERS


def test_local_flink_without_a_job_server_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_FLINK_CACHE", str(tmp_path))
    monkeypatch.delenv("MER_FLINK_JOB_SERVER_JAR", raising=False)
    with pytest.raises(errors.MerError, match="scripts/flink_cluster.sh start"):
        _cli("--runner", "flink", "--flink-master", "127.0.0.1:8081")


def test_remote_flink_needs_an_sdk_environment_and_uses_beams_job_server(job_server):
    with pytest.raises(ValueError, match="environment_type=DOCKER.*EXTERNAL"):
        _config(runner="flink", flink_master="flink-jm:8081").beam_pipeline_args()
    args = _config(runner="flink", flink_master="flink-jm:8081", beam_args=(
        "--environment_type=EXTERNAL", "--environment_config=localhost:50000")
    ).beam_pipeline_args()
    assert "--environment_type=LOOPBACK" not in args
    assert not any(a.startswith("--flink_job_server_jar") for a in args)
    assert args[-2:] == ["--environment_type=EXTERNAL", "--environment_config=localhost:50000"]


def test_flink_needs_a_master():
    with pytest.raises(errors.MerError, match="--flink-master HOST:PORT"):
        _cli("--runner", "flink")


def test_dataflow_names_the_missing_options_and_passes_the_rest():
    with pytest.raises(errors.MerError, match="--beam-arg=--region=.*--beam-arg=--temp_location"):
        _cli("--runner", "dataflow", "--beam-arg=--project=p")
    args = _cli("--runner", "dataflow", "--beam-arg=--project=p", "--beam-arg=--region=r",
                "--beam-arg=--temp_location=gs://b/tmp").beam_pipeline_args()
    assert args == ["--runner=DataflowRunner", "--project=p", "--region=r",
                    "--temp_location=gs://b/tmp"]


def test_spark_and_pass_through():
    assert _cli("--runner", "spark", "--beam-arg=--spark_master_url=spark://h:7077"
                ).beam_pipeline_args() == ["--runner=SparkRunner",
                                           "--spark_master_url=spark://h:7077"]


def test_options_of_another_runner_are_refused():
    with pytest.raises(errors.MerError, match="--beam-mode applies to --runner direct only"):
        _cli("--runner", "spark", "--beam-mode", "multi_processing")
    with pytest.raises(errors.MerError, match="--flink-master needs --runner flink"):
        _cli("--flink-master", "localhost:8081")


def test_gs_output_dir_stays_a_url():
    config = RunConfig(preset=get_preset("demo"), data_root="/data", output_dir="gs://b/mer")
    assert config.pipeline_root == "gs://b/mer/pipelines/mer-demo"
    assert config.serving_dir == "gs://b/mer/serving"


def test_script_and_configs_agree_on_the_job_server_path(tmp_path, monkeypatch):
    monkeypatch.setenv("MER_FLINK_CACHE", str(tmp_path))
    out = subprocess.run([str(REPO_ROOT / "scripts" / "flink_cluster.sh"), "paths"],
                         check=True, capture_output=True, text=True).stdout
    paths = dict(line.split(": ", 1) for line in out.splitlines())
    assert paths["job_server_jar"] == str(local_flink_job_server_jar())
