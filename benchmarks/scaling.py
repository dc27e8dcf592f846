"""StatisticsGen + Transform throughput on the DirectRunner and on a local Flink cluster.

RAVDESS (../shared/datasets/ravdess) is replicated to --clips clips by a manifest that repeats
its files under new ids, ingested once, then TFX's StatisticsGen and Transform executors run on
the same examples with the pipeline's own preprocessing_fn on each runner:

  direct_in_memory      DirectRunner, one worker
  direct_mp2            DirectRunner multi_processing, 2 worker processes
  flink_1tm, flink_2tm  scripts/flink_cluster.sh with 1 or 2 TaskManagers (1 slot each)

    python benchmarks/scaling.py --clips 10000

prints clips/s per runner and ends with `flink_2tm_vs_direct: X` (2 TaskManagers against the
in-memory DirectRunner) and `flink_2tm_vs_1tm: Y`. A throwaway cluster on its own ports is
started and stopped for each Flink row. On a 2-core machine the ceiling of any ratio is ~2x.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "scripts" / "flink_cluster.sh"
REST_PORT, RPC_PORT = 8091, 6133  # not the default cluster's, which may be running


def replicate_ravdess(source: Path, out: Path, clips: int) -> Path:
    """A manifest naming `clips` rows that cycle through RAVDESS's files (absolute paths)."""
    from components.core import contract
    from components.example_gen.readers import get_reader

    rows = [r for r in get_reader("ravdess")(source) if isinstance(r, contract.Source)]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio_path", "text", "emotion", "speaker"])
        for i in range(clips):
            r = rows[i % len(rows)]
            w.writerow([f"{r.id}-{i // len(rows)}", r.audio_path, "", r.emotion,
                        f"{r.speaker}-{i // len(rows)}"])
    return out


def _artifact(cls, uri: str, splits=("train", "eval")):
    from tfx.types import artifact_utils

    a = cls()
    a.uri = uri
    if splits:
        a.split_names = artifact_utils.encode_split_names(list(splits))
    return a


def ingest(preset, data_root: Path, out: Path):
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    from components.example_gen import ingest as ingest_mod

    examples = _artifact(standard_artifacts.Examples, str(out / "examples"))
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    report = ingest_mod.run_ingest(preset, str(data_root), str(out / "examples"),
                                   report_dir=str(out / "report"),
                                   beam_args=["--direct_running_mode=multi_processing",
                                              "--direct_num_workers=2"])
    return examples, report


def schema_for(examples, out: Path):
    from tfx.components.schema_gen import executor as schema_gen
    from tfx.components.statistics_gen import executor as statistics_gen
    from tfx.types import standard_artifacts

    stats = _artifact(standard_artifacts.ExampleStatistics, str(out / "statistics"))
    statistics_gen.Executor().Do({"examples": [examples]}, {"statistics": [stats]}, {})
    schema = _artifact(standard_artifacts.Schema, str(out / "schema"), splits=())
    schema_gen.Executor().Do({"statistics": [stats]}, {"schema": [schema]},
                             {"infer_feature_shape": 1})
    return schema


def statistics_and_transform(examples, schema, preset, out: Path, beam_args: list[str]) -> dict:
    """Seconds of StatisticsGen and of Transform with these Beam args."""
    from tfx.components.statistics_gen import executor as statistics_gen
    from tfx.components.transform import executor as transform
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import standard_artifacts

    from pipeline.pipeline import PREPROCESSING_FN, optional_features

    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args, tmp_dir=str(out / "tmp"), unique_id="bench")
    started = time.time()
    stats = _artifact(standard_artifacts.ExampleStatistics, str(out / "statistics"))
    statistics_gen.Executor(context).Do({"examples": [examples]}, {"statistics": [stats]}, {})
    stats_s = time.time() - started
    started = time.time()
    tasks = list(preset.tasks)
    transform.Executor(context).Do(
        {"examples": [examples], "schema": [schema]},
        {"transform_graph": [_artifact(standard_artifacts.TransformGraph,
                                       str(out / "transform_graph"), splits=())],
         "transformed_examples": [_artifact(standard_artifacts.Examples,
                                            str(out / "transformed_examples"))]},
        {"preprocessing_fn": PREPROCESSING_FN, "disable_statistics": 1,
         "custom_config": json.dumps({"preset": preset.to_json(), "tasks": tasks,
                                      "features": optional_features(preset, tasks)})})
    return {"statistics_s": stats_s, "transform_s": time.time() - started}


def _cluster(command: str, taskmanagers: int, run_dir: Path) -> None:
    env = dict(os.environ, MER_FLINK_TASKMANAGERS=str(taskmanagers),
               MER_FLINK_REST_PORT=str(REST_PORT), MER_FLINK_RPC_PORT=str(RPC_PORT),
               MER_FLINK_RUN_DIR=str(run_dir))
    subprocess.run([str(CLUSTER), command], check=True, env=env)


def main(argv=None) -> int:
    from pipeline.configs import SHARED_DATASETS, RunConfig, get_preset

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=10000)
    parser.add_argument("--source", default=str(SHARED_DATASETS / "ravdess"))
    parser.add_argument("--runners", default="direct_in_memory,direct_mp2,flink_1tm,flink_2tm")
    args = parser.parse_args(argv)
    source = Path(args.source)
    if not source.is_dir():
        print(f"RAVDESS not found at {source} (pass --source)", file=sys.stderr)
        return 2
    preset = get_preset("ravdess").replace(reader="manifest", require_text=False)
    work = Path(tempfile.mkdtemp(prefix="mer-scaling-"))
    data = replicate_ravdess(source, work / "data", args.clips)
    started = time.time()
    examples, report = ingest(preset, data, work / "ingest")
    print(f"clips: {report.written} written of {args.clips} listed (RAVDESS x"
          f"{args.clips / 1440:.1f}); ingestion {time.time() - started:.0f}s on the "
          f"DirectRunner (2 processes), not part of the comparison")
    schema = schema_for(examples, work / "reference")
    base = RunConfig(preset=preset, data_root=str(data), output_dir=str(work))
    configs = {
        "direct_in_memory": (base, 0),
        "direct_mp2": (RunConfig(preset=preset, data_root=str(data), output_dir=str(work),
                                 beam_mode="multi_processing", beam_workers=2), 0),
        "flink_1tm": (RunConfig(preset=preset, data_root=str(data), output_dir=str(work),
                                runner="flink", flink_master=f"localhost:{REST_PORT}"), 1),
        "flink_2tm": (RunConfig(preset=preset, data_root=str(data), output_dir=str(work),
                                runner="flink", flink_master=f"localhost:{REST_PORT}"), 2),
    }
    rates = {}
    for name in args.runners.split(","):
        config, taskmanagers = configs[name]
        run_dir = work / f"cluster-{name}"
        if taskmanagers:
            _cluster("start", taskmanagers, run_dir)
        try:
            t = statistics_and_transform(examples, schema, preset, work / name,
                                         config.beam_pipeline_args())
        except RuntimeError as err:  # a runner that fails at this size says why; the rest go on
            print(f"{name:18s} FAILED: {str(err).splitlines()[-1][:300]}")
            continue
        finally:
            if taskmanagers:
                _cluster("stop", taskmanagers, run_dir)
        total = t["statistics_s"] + t["transform_s"]
        rates[name] = report.written / total
        print(f"{name:18s} statistics {t['statistics_s']:7.1f}s  transform "
              f"{t['transform_s']:7.1f}s  {rates[name]:7.1f} clips/s")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if {"flink_2tm", "direct_in_memory"} <= rates.keys():
        print(f"flink_2tm_vs_direct: {rates['flink_2tm'] / rates['direct_in_memory']:.2f}")
    if {"flink_2tm", "flink_1tm"} <= rates.keys():
        print(f"flink_2tm_vs_1tm: {rates['flink_2tm'] / rates['flink_1tm']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
