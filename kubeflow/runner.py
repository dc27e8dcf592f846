"""Compiles create_pipeline() for Kubeflow Pipelines (KFP v2 pipeline spec JSON).

The same graph as the local runner; only paths, the container image and the Beam runner
differ. Upload the JSON with the KFP UI or `kfp.Client().create_run_from_pipeline_package`.
Two things the compiled spec adds that TFX's compiler does not know about (docs/scaling.md):
EmotionExampleGen's fingerprint hook (`kubeflow/example_gen_driver.py`, run by Vertex AI
Pipelines before its cache lookup), and, for the open-source KFP backend, which runs no such
hook, no cache for that one task unless `--cache-ingestion` says the data never changes in place.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

from tfx import v1 as tfx  # noqa: E402

from components.core.config import Preset  # noqa: E402
from components.core.errors import MerError, UsageError  # noqa: E402
from kubeflow import example_gen_driver  # noqa: E402
from pipeline import cli_config  # noqa: E402
from pipeline import pipeline as pipeline_def  # noqa: E402
from pipeline.beam_args import RUNNERS  # noqa: E402
from pipeline.configs import RunConfig, get_preset  # noqa: E402

DEFAULT_IMAGE = "ghcr.io/mer-pipeline/mer-pipeline:0.1.0"
PLATFORMS = ("kubeflow", "vertex")  # open-source KFP v2 backend; Vertex AI Pipelines
INGEST_TASK = "EmotionExampleGen"


def compile_pipeline(
    preset_name: str | Preset,
    data_root: str,
    output_dir: str,
    image: str = DEFAULT_IMAGE,
    package_path: str = "mer_pipeline.json",
    beam_args: Sequence[str] = (),
    runner: str = "direct",
    flink_master: str = "",
    platform: str = "kubeflow",
    cache_ingestion: bool = False,
    schema_dir: Optional[str] = None,
) -> str:
    """Writes the KFP pipeline spec; data_root/output_dir are paths the cluster sees (gs://...).

    The preset's contract schema is written at compile time to `schema_dir` (default
    `<output_dir>/schemas`), which the ImportSchemaGen pod must be able to read.
    """
    if platform not in PLATFORMS:
        raise UsageError(f"platform must be one of {PLATFORMS}, got {platform!r}")
    preset = preset_name if isinstance(preset_name, Preset) else get_preset(preset_name)
    # On the DirectRunner every pod uses all of its cores.
    config = RunConfig(preset=preset, data_root=data_root,
                       output_dir=output_dir, beam_mode="multi_processing", runner=runner,
                       flink_master=flink_master, beam_args=tuple(beam_args))
    config.beam_pipeline_args()  # a bad runner option (UsageError) is named before compiling
    p = pipeline_def.create_pipeline(config, schema_dir=schema_dir)
    out_dir, filename = os.path.split(os.path.abspath(package_path))
    runner_ = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=out_dir, output_filename=filename,
    )
    runner_.run(p)
    path = os.path.join(out_dir, filename)
    with open(path) as f:
        job = json.load(f)
    _add_ingest_fingerprint(job["pipelineSpec"], cache=cache_ingestion or platform == "vertex")
    with open(path, "w") as f:
        json.dump(job, f, indent=2, sort_keys=True)
    return path


def _add_ingest_fingerprint(spec: dict, cache: bool) -> None:
    """The fingerprint hook on the ingest task's container, and its cache policy."""
    task = spec["root"]["dag"]["tasks"][INGEST_TASK]
    executor = spec["components"][task["componentRef"]["name"]]["executorLabel"]
    container = spec["deploymentSpec"]["executors"][executor]["container"]
    container["lifecycle"] = {"preCacheCheck": {
        "command": list(example_gen_driver.COMMAND),
        "args": ["--json_serialized_invocation_args", "{{$}}"],
    }}
    task["cachingOptions"] = {"enableCache": bool(cache)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    cli_config.add_arguments(parser)  # --preset/--config/--set, as `mer run`'s
    parser.add_argument("--data-root", required=True, help="dataset path as the cluster sees it")
    parser.add_argument("--output-dir", required=True, help="pipeline root, e.g. gs://bucket/mer")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--package", default="mer_pipeline.json")
    parser.add_argument("--runner", default="direct", choices=RUNNERS,
                        help="Beam runner of the Beam components inside the pods")
    parser.add_argument("--flink-master", default="", metavar="HOST:PORT")
    parser.add_argument("--beam-arg", action="append", default=[], metavar="--OPTION=VALUE",
                        help="Beam option, repeatable (e.g. --beam-arg=--project=P)")
    parser.add_argument("--platform", default="kubeflow", choices=PLATFORMS,
                        help="kubeflow: open-source KFP v2 (no pre-cache hook, so ingestion is "
                             "not cached); vertex: Vertex AI Pipelines (runs the hook)")
    parser.add_argument("--cache-ingestion", action="store_true",
                        help="keep KFP's cache for ingestion on open-source KFP: only when the "
                             "files under --data-root never change in place")
    parser.add_argument("--schema-dir",
                        help="where the contract schema is written for ImportSchemaGen "
                             "(default: <output-dir>/schemas; the pods must be able to read it)")
    args = parser.parse_args(argv)
    try:
        run_file = cli_config.load(args, with_flags=False)
        path = compile_pipeline(run_file.preset, args.data_root, args.output_dir, args.image,
                                args.package, args.beam_arg, args.runner, args.flink_master,
                                args.platform, args.cache_ingestion, args.schema_dir)
    except MerError as err:  # the user's to fix; anything else is a bug, with its traceback
        print(f"kubeflow.runner: error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"compiled {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
