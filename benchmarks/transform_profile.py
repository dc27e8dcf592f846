"""Where the DirectRunner's Transform time goes on RAVDESS, and what the pipeline's settings save.

Why: issue 17 measured the Transform of RAVDESS (1440 clips) at about 0.05 of its own feature
kernel. This runs the pipeline's prefix once (EmotionExampleGen .. DataGate, the preset's own
ingestion), then TFX's Transform executor on those examples in variants, each in a fresh child
process (wall seconds and CPU seconds of all its threads and children; CPU time moves much less
with other load on a shared machine):

  tfx_defaults   TFX's Transform as the pipeline ran it before: pre- and post-transform TFDV
                 statistics and the analyzer cache on, tfx-bsl's adaptive batches (1..1000)
  no_stats       TFX's executor with statistics and analyzer cache off
  pipeline       what `create_pipeline` sets: those off, and its executor's batches
                 bounded by bytes (tft_beam.Context(desired_batch_size=...), 69 clips here),
                 with TFX's ephemeral sdist built as before
  analyze_only   pipeline without materialising: the analyze pass and writing the graph
  no_sdist       pipeline as `mer run` runs it now: the DirectRunner's args name the
                 project's setup.py (`pipeline/beam_args.py`), so TFX builds no sdist
  read_only      the TFXIO read of both splits into Arrow record batches, nothing else

and, in the parent, the kernel (decode + the preset's utterance features, `benchmarks/
features.py`'s) over the clips the Transform computes features for (the train split in the
analyze pass, both splits in the transform pass) and the cost of tracing the preprocessing_fn.

    python benchmarks/transform_profile.py [--variants ...] [--repeats 1]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

VARIANTS = ("tfx_defaults", "no_stats", "pipeline", "analyze_only", "no_sdist", "read_only")


def _cpu_s() -> float:
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _artifact(cls, uri: str, splits=("train", "eval")):
    from tfx.types import artifact_utils

    a = cls()
    a.uri = uri
    if splits:
        a.split_names = artifact_utils.encode_split_names(list(splits))
    return a


def prepare(work: Path, data_root: str):
    """The pipeline's prefix up to the DataGate; returns its RunConfig and pipeline."""
    from pipeline.configs import RunConfig, get_preset
    from pipeline.local_runner import run_prefix

    config = RunConfig(preset=get_preset("ravdess"), data_root=data_root,
                       output_dir=str(work / "run"))
    return config, run_prefix(config, "DataGate")


def run_variant(variant: str, config_json: str, out: Path) -> dict:
    """One variant in this process: wall and CPU seconds."""
    from tfx.components.transform import executor as transform
    from tfx.components.util import examples_utils
    from tfx.dsl.components.base import base_beam_executor
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    spec = json.loads(config_json)
    examples = _artifact(standard_artifacts.Examples, spec["examples"])
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    schema = _artifact(standard_artifacts.Schema, spec["schema"], ())
    beam_args = [a for a in spec["beam_args"] if not a.startswith("--setup_file=")]
    if variant in ("no_sdist", "read_only"):
        beam_args.append(f"--setup_file={REPO / 'setup.py'}")
    cpu, wall = _cpu_s(), time.time()
    if variant == "read_only":
        import apache_beam as beam
        from tfx.components.util import tfxio_utils

        with beam.Pipeline(argv=beam_args) as p:
            for split in ("train", "eval"):
                factory = tfxio_utils.get_tfxio_factory_from_artifact([examples], ["mer"])
                tfxio = factory(os.path.join(spec["examples"], f"Split-{split}", "*"))
                _ = (p | f"Read{split}" >> tfxio.BeamSource()
                     | f"Count{split}" >> beam.combiners.Count.Globally())
        return {"wall_s": time.time() - wall, "cpu_s": _cpu_s() - cpu}
    props = dict(spec["props"])
    outputs = {"transform_graph": [_artifact(standard_artifacts.TransformGraph,
                                             str(out / "graph"), ())]}
    if variant in ("tfx_defaults", "no_stats"):
        executor = transform.Executor
    else:  # the pipeline's executor class
        module, name = spec["executor"].rsplit(".", 1)
        executor = getattr(importlib.import_module(module), name)
    if variant == "tfx_defaults":
        props.pop("disable_statistics", None)
        props.pop("disable_analyzer_cache", None)
        outputs["updated_analyzer_cache"] = [_artifact(standard_artifacts.TransformCache,
                                                       str(out / "cache"), ())]
    if variant != "analyze_only":
        outputs["transformed_examples"] = [_artifact(standard_artifacts.Examples,
                                                     str(out / "examples"))]
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args, tmp_dir=str(out / "tmp"), unique_id="profile")
    executor(context).Do({"examples": [examples], "schema": [schema]}, outputs, props)
    return {"wall_s": time.time() - wall, "cpu_s": _cpu_s() - cpu}


def kernel_and_trace(examples_uri: str, preset) -> dict:
    """Kernel seconds for the clips analyze + transform compute, and one trace's seconds."""
    import tensorflow as tf

    from benchmarks import features as fb
    from components.core import contract

    def wavs(split: str) -> list[bytes]:
        files = sorted(Path(examples_uri, f"Split-{split}").glob("*"))
        return [tf.train.Example.FromString(r).features.feature[contract.AUDIO].bytes_list.value[0]
                for r in tf.data.TFRecordDataset([str(f) for f in files], "GZIP")
                .as_numpy_iterator()]

    train, evals = wavs("train"), wavs("eval")
    samples = int(round(preset.features.duration_s * contract.SAMPLE_RATE))
    fb.make_kernel(samples, preset.features).get_concrete_function()  # TF's first-use costs
    cpu, wall = _cpu_s(), time.time()
    fb.make_kernel(samples, preset.features).get_concrete_function()
    trace = {"wall_s": time.time() - wall, "cpu_s": _cpu_s() - cpu}
    fn = fb.make_kernel(samples, preset.features)
    rate = fb.kernel_clips_per_s(fn, train + evals, repeats=1)
    cpu = _cpu_s()
    fb.kernel_clips_per_s(fn, train + evals, repeats=1)  # one batch warm-up + one timed pass
    cpu_per_clip = (_cpu_s() - cpu) / (len(train) + len(evals) + min(64, len(train) + len(evals)))
    clips = 2 * len(train) + len(evals)
    return {"trace": trace, "clips_per_s": rate, "train": len(train), "eval": len(evals),
            "kernel": {"wall_s": clips / rate, "cpu_s": clips * cpu_per_clip}}


def main(argv=None) -> int:
    from pipeline import run_metadata
    from pipeline.configs import SHARED_DATASETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=str(SHARED_DATASETS / "ravdess"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # child
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        print("RESULT " + json.dumps(run_variant(args.variant, args.spec, Path(args.out))))
        return 0
    work = Path(tempfile.mkdtemp(prefix="mer-transform-profile-"))
    config, p = prepare(work, args.data_root)
    transform = next(c for c in p.components if c.id == "Transform")
    cls = transform.executor_spec.executor_class
    spec = json.dumps({
        "examples": run_metadata.latest_output(config.metadata_path, "EmotionExampleGen",
                                               "examples"),
        "schema": run_metadata.latest_output(config.metadata_path, "DataGate", "checked_schema"),
        "beam_args": config.beam_pipeline_args(),
        "executor": f"{cls.__module__}.{cls.__qualname__}",
        "props": {k: v for k, v in transform.exec_properties.items()
                  if k in ("preprocessing_fn", "custom_config", "disable_statistics",
                           "disable_analyzer_cache")}})
    results = {}
    for rep in range(args.repeats):
        for variant in args.variants.split(","):
            done = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--spec", spec,
                 "--out", str(work / f"{variant}-{rep}")], capture_output=True, text=True)
            line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode or not line:
                print(f"{variant}: FAILED {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(line[0][7:])
            results.setdefault(variant, []).append(r)
            print(f"{variant:13s} wall {r['wall_s']:6.1f} s  CPU {r['cpu_s']:6.1f} s  "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    k = kernel_and_trace(json.loads(spec)["examples"], config.preset)
    print(f"kernel: {k['clips_per_s']:.0f} clips/s; analyze ({k['train']}) + transform "
          f"({k['train'] + k['eval']}) clips = wall {k['kernel']['wall_s']:.1f} s, CPU "
          f"{k['kernel']['cpu_s']:.1f} s; one trace of the feature graph: wall "
          f"{k['trace']['wall_s']:.2f} s, CPU {k['trace']['cpu_s']:.2f} s")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    (work / "profile.json").write_text(json.dumps({"variants": results, "kernel": k}, indent=1))
    print(f"results: {work / 'profile.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
