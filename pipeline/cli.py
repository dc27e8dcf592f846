"""`mer`: the command line for running, ingesting and predicting."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.configs import BEAM_MODES, PRESETS, TASKS, RunConfig, get_preset  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = str(REPO_ROOT / "artifacts")


def _run_config(args) -> RunConfig:
    from pipeline.local_runner import default_data_root

    preset = get_preset(args.preset)
    output_dir = os.path.abspath(args.output_dir)
    data_root = args.data_root or (
        default_data_root(output_dir, preset.name) if preset.name == "demo" else None)
    if not data_root:
        raise SystemExit(f"--data-root is required for preset {preset.name!r}.")
    overrides = {}
    if getattr(args, "split", None):
        import dataclasses

        overrides["split"] = dataclasses.replace(preset.split, method=args.split)
    if getattr(args, "epochs", None):
        import dataclasses

        overrides["train"] = dataclasses.replace(preset.train, epochs=args.epochs)
    if overrides:
        preset = preset.replace(**overrides)
    return RunConfig(
        preset=preset, data_root=os.path.abspath(data_root), output_dir=output_dir,
        beam_mode=getattr(args, "beam_mode", "in_memory"),
    )


def cmd_run(args) -> int:
    from pipeline import local_runner

    config = _run_config(args)
    tasks = args.tasks.split(",") if args.tasks else None
    summary = local_runner.run(config, tasks)
    print("\n== run summary ==")
    for line in summary.lines():
        print(line)
    if config.preset.name == "demo":
        _demo_prediction(config, summary)
    return 0


def _demo_prediction(config: RunConfig, summary) -> None:
    """One prediction from raw text + WAV bytes through the pushed MER model."""
    import csv

    from serving.inprocess import InProcessModel

    task = "mer" if any(t.task == "mer" and t.pushed_version for t in summary.tasks) else None
    if task is None:
        print("no MER model served yet; skipping the demo prediction")
        return
    with open(os.path.join(config.data_root, "manifest.csv")) as f:
        row = next(csv.DictReader(f))
    wav = (Path(config.data_root) / row["audio_path"]).read_bytes()
    model = InProcessModel(os.path.join(config.serving_dir, task))
    preds = model.predict(text=row["text"], audio=wav)
    print(f"\nprediction ({task} v{model.version}) for text {row['text']!r} + "
          f"{row['audio_path']} (true: {row['emotion']}):")
    for p in preds:
        print(f"  {p.emotion:<10} {p.probability:.3f}")


def cmd_ingest(args) -> int:
    from components.example_gen import ingest

    config = _run_config(args)
    report = ingest.run_ingest(
        config.preset, config.data_root, examples_uri=os.path.abspath(args.out),
        beam_args=config.beam_pipeline_args(),
    )
    for line in report.summary_lines():
        print(line)
    print(f"report: {os.path.join(os.path.abspath(args.out), ingest.REPORT_FILE)}")
    return 0


def cmd_predict(args) -> int:
    from components.example_gen.audio_io import file_to_wav_bytes

    from serving.inprocess import InProcessModel

    if not args.text and not args.audio:
        raise SystemExit("Give --text and/or --audio.")
    model = InProcessModel(args.model_dir)
    audio = file_to_wav_bytes(args.audio) if args.audio else None
    preds = model.predict(text=args.text, audio=audio, top_k=args.top_k)
    print(f"model {model.path}")
    for p in preds:
        print(f"  {p.emotion:<12} {p.probability:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, data_root_required=False):
        p.add_argument("--preset", required=True, choices=sorted(PRESETS))
        p.add_argument("--data-root", required=data_root_required,
                       help="dataset folder (or manifest file); demo: generated if absent")
        p.add_argument("--output-dir", default=DEFAULT_OUTPUT,
                       help="where runs write (pipeline root, metadata, serving models)")
        p.add_argument("--beam-mode", default="in_memory", choices=BEAM_MODES)
        p.add_argument("--split", choices=("random", "speaker", "kfold", "loso"))

    run = sub.add_parser("run", help="run the full pipeline locally")
    common(run)
    run.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    run.add_argument("--epochs", type=int)
    run.set_defaults(fn=cmd_run)

    ing = sub.add_parser("ingest", help="read a dataset into contract TFRecords")
    common(ing)
    ing.add_argument("--out", required=True, help="output folder for TFRecords and reports")
    ing.set_defaults(fn=cmd_ingest)

    pred = sub.add_parser("predict", help="top emotions from raw text and/or audio")
    pred.add_argument("--model-dir", required=True,
                      help="a pushed model base (e.g. artifacts/serving/mer) or a version dir")
    pred.add_argument("--text")
    pred.add_argument("--audio", help="audio file (any format soundfile reads)")
    pred.add_argument("--top-k", type=int, default=3)
    pred.set_defaults(fn=cmd_predict)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"mer: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
