"""Compiles create_pipeline() for Kubeflow Pipelines (KFP v2 pipeline spec JSON).

The same graph as the local runner; only paths and the container image
differ. Upload the JSON with the KFP UI or `kfp.Client().create_run_from_pipeline_package`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfx import v1 as tfx  # noqa: E402

from pipeline import pipeline as pipeline_def  # noqa: E402
from pipeline.configs import RunConfig, get_preset  # noqa: E402

DEFAULT_IMAGE = "ghcr.io/mer-pipeline/mer-pipeline:0.1.0"


def compile_pipeline(
    preset_name: str,
    data_root: str,
    output_dir: str,
    image: str = DEFAULT_IMAGE,
    package_path: str = "mer_pipeline.json",
    beam_args: Sequence[str] = (),
) -> str:
    """Writes the KFP pipeline spec; data_root/output_dir are paths the cluster sees (gs://...)."""
    config = RunConfig(preset=get_preset(preset_name), data_root=data_root,
                       output_dir=output_dir, beam_mode="multi_processing")
    p = pipeline_def.create_pipeline(config)
    if beam_args:
        p.beam_pipeline_args = list(beam_args)
    out_dir, filename = os.path.split(os.path.abspath(package_path))
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=out_dir, output_filename=filename,
    )
    runner.run(p)
    return os.path.join(out_dir, filename)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--data-root", required=True, help="dataset path as the cluster sees it")
    parser.add_argument("--output-dir", required=True, help="pipeline root, e.g. gs://bucket/mer")
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--package", default="mer_pipeline.json")
    parser.add_argument("--beam-arg", action="append", default=[],
                        help="Beam option, repeatable (e.g. --runner=DataflowRunner)")
    args = parser.parse_args(argv)
    path = compile_pipeline(args.preset, args.data_root, args.output_dir, args.image,
                            args.package, args.beam_arg)
    print(f"compiled {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
