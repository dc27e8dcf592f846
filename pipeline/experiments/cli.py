"""`mer experiment ...`: offline studies that justify pipeline defaults.

Kept out of pipeline/cli.py so the studies can grow without touching the main command line;
cli.py calls :func:`register`. Only argparse and the preset registry are imported here: the
study's TensorFlow/scikit-learn imports happen when the command runs, so `mer --help` stays fast.
"""

from __future__ import annotations

import argparse
import os

from components.core.errors import UsageError
from pipeline import cli_config, config_file
from pipeline.configs import DEFAULT_OUTPUT_DIR, PRESETS, SHARED_DATASETS, shared_dataset_root
from pipeline.experiments import model_study_cli
from pipeline.experiments.feature_study import DEFAULT_MODELS

MODEL_CHOICES = DEFAULT_MODELS  # what the feature study can train


def _models(value: str) -> tuple[str, ...]:
    names = tuple(m.strip() for m in value.split(",") if m.strip())
    bad = [m for m in names if m not in MODEL_CHOICES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {bad or value!r}; choose a comma-separated subset of "
            f"{','.join(MODEL_CHOICES)}")
    return names


def cmd_experiment_features(args: argparse.Namespace) -> int:
    """Run the feature study and print the reference's two tables."""
    from pipeline.experiments.feature_study import run_feature_study

    run_file = cli_config.load(args, with_flags=False)
    preset = run_file.preset
    data_root = (config_file.resolve_data_root(run_file, args.data_root)
                 or shared_dataset_root(preset.name))
    if not data_root:
        raise UsageError(f"--data-root is required for preset {preset.name!r} (no "
                         f"{SHARED_DATASETS / preset.name} beside the repo).")
    output_dir = args.output_dir or str(
        DEFAULT_OUTPUT_DIR / "experiments" / "feature_study" / f"{preset.name}-{args.split}")
    result = run_feature_study(
        os.path.abspath(data_root), preset=preset, runs=args.runs, split=args.split,
        models=args.models, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
        output_dir=os.path.abspath(output_dir))
    print()
    for line in result.table_lines():
        print(line)
    print(f"wall time {result.wall_seconds:.0f} s; results: "
          + ", ".join(result.files.values()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `experiment features` and `experiment models` to the `mer` parser's subcommands."""
    exp = subparsers.add_parser("experiment", help="offline studies behind pipeline defaults")
    studies = exp.add_subparsers(dest="experiment", required=True)

    feats = studies.add_parser(
        "features",
        help="MFCC/Mel/Chroma: the 7 combinations x baselines + 1D CNN (reference tables)",
        description="Trains the four scikit-learn baselines and the 1D CNN on each of the 7 "
                    "combinations of the in-graph utterance features and prints max and mean "
                    "test accuracy per combination beside the reference's IEMOCAP values.")
    feats.add_argument("--preset", default="ravdess", choices=sorted(PRESETS))
    cli_config.add_file_arguments(feats)  # --config FILE, --set KEY=VALUE: as `mer run`'s
    feats.add_argument("--data-root",
                       help="dataset folder (default: ../shared/datasets/<preset> if present)")
    feats.add_argument("--runs", type=int, default=3,
                       help="seeded 80/20 splits (the reference used 10)")
    feats.add_argument("--split", default="random", choices=("random", "speaker"),
                       help="random: stratified, speaker-dependent (reference); "
                            "speaker: held-out speakers")
    feats.add_argument("--epochs", type=int, default=40, help="1D CNN epochs (fixed)")
    feats.add_argument("--batch-size", type=int, default=32, help="1D CNN batch size")
    feats.add_argument("--models", type=_models, default=MODEL_CHOICES,
                       help=f"comma-separated subset of {','.join(MODEL_CHOICES)}")
    feats.add_argument("--seed", type=int, default=42)
    feats.add_argument("--output-dir",
                       help="where CSV + Markdown go (default: "
                            "artifacts/experiments/feature_study/<preset>-<split>)")
    feats.set_defaults(fn=cmd_experiment_features)

    models = studies.add_parser(
        "models",
        help="N seeded runs per model: mean ± std, confusion matrices, curves, HTML report",
        description="Trains each named model (baselines and/or Keras models) on N seeded splits "
                    "and writes runs/summary CSV, Markdown and an HTML report beside the "
                    "reference's results where dataset and protocol match.")
    model_study_cli.add_arguments(models)
    models.set_defaults(fn=model_study_cli.main)
