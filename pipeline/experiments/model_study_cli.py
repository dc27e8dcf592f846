"""``mer experiment models``: the model study's options and its command-line entry point.

Why this exists: the options must parse without importing TensorFlow or scikit-learn (so
``mer --help`` stays fast), and turning parsed arguments into a call of
:func:`~pipeline.experiments.model_study.run_model_study` (default folders, errors as exit
status 2, the printed table) is a job of its own, apart from running the study.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from components.core.errors import MerError
from components.core.tasks import TASKS
from pipeline.experiments.model_study import DEFAULT_OUTPUT_ROOT, run_model_study
from pipeline.experiments.model_study_names import parse_splits


def _model_list(value: str) -> list[str]:
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one model, e.g. linsvm,rf,cnn1d")
    return names


def _split_list(value: str) -> list[str]:
    try:
        return parse_splits(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mer experiment models`` (no TensorFlow import: ``--help`` stays fast)."""
    from pipeline.configs import PRESETS

    parser.add_argument("--preset", default="ravdess", choices=sorted(PRESETS),
                        help="pipeline preset: reader, labels, features, hyperparameters")
    from pipeline.cli_config import add_file_arguments

    add_file_arguments(parser)  # --config FILE, --set KEY=VALUE: as `mer run`'s
    parser.add_argument("--models", type=_model_list, required=True,
                        help="comma-separated: baselines linsvm,rf,mnb,lr and/or Keras models "
                             "by name (e.g. cnn1d, cnn2d, tfidf_dense, tfidf+cnn1d)")
    parser.add_argument("--runs", type=int, default=3,
                        help="seeded runs per model for random/speaker (the reference used "
                             "10); loso/kfold run every fold")
    parser.add_argument("--split", type=_split_list, default=["random"],
                        help="random (speaker-dependent, the reference's), speaker (held-out "
                             "speakers), loso or kfold; comma-separated for several, e.g. "
                             "random,speaker for the Table 4.6 comparison")
    parser.add_argument("--data-root",
                        help="dataset folder (default: ../shared/datasets/<preset> if present)")
    parser.add_argument("--output-dir",
                        help="report folder (default: artifacts/experiments/model_study/"
                             "<preset>-<split>)")
    parser.add_argument("--epochs", type=int,
                        help="Keras epochs (default: the preset's, with early stopping)")
    parser.add_argument("--seed", type=int, default=0, help="run i uses seed + i - 1")
    parser.add_argument("--task", choices=TASKS,
                        help="ter/ser/mer (default: the preset's, or implied by the models)")
    parser.add_argument("--cache-dir",
                        help="per-clip feature cache (default: artifacts/experiments/model_study/"
                             "cache without --output-dir, else <output-dir>/cache)")


def _command(args: argparse.Namespace) -> str:
    parts = ["mer experiment models", f"--preset {args.preset}",
             f"--models {','.join(args.models)}", f"--runs {args.runs}",
             f"--split {','.join(args.split)}"]
    for opt in ("data_root", "output_dir", "epochs", "task", "cache_dir"):
        if getattr(args, opt, None) is not None:
            parts.append(f"--{opt.replace('_', '-')} {getattr(args, opt)}")
    if getattr(args, "seed", 0):
        parts.append(f"--seed {args.seed}")
    return " ".join(parts)


def main(args: argparse.Namespace) -> int:
    """Runs the study from parsed arguments; prints the table and where the report is."""
    from pipeline import cli_config, config_file
    from pipeline.configs import shared_dataset_root

    run_file = cli_config.load(args, with_flags=False)  # --preset/--config/--set
    name = run_file.preset.name
    data_root = config_file.resolve_data_root(run_file, args.data_root) or shared_dataset_root(name)
    if not data_root:
        print(f"error: --data-root is required for preset {name!r}", file=sys.stderr)
        return 2
    splits = args.split if isinstance(args.split, list) else parse_splits(args.split)
    output_dir = args.output_dir or str(DEFAULT_OUTPUT_ROOT / f"{name}-{'+'.join(splits)}")
    cache_dir = args.cache_dir or (str(Path(args.output_dir) / "cache") if args.output_dir
                                   else str(DEFAULT_OUTPUT_ROOT / "cache"))
    try:
        result = run_model_study(
            run_file.preset, os.path.abspath(data_root), args.models, args.runs, splits,
            os.path.abspath(output_dir), epochs=args.epochs, seed=args.seed,
            task=getattr(args, "task", None), cache_dir=os.path.abspath(cache_dir),
            command=_command(args))
    except MerError as err:  # the user's to fix (anything else is a bug: the CLI's edge)
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    print()
    for line in result.table_lines():
        print(line)
    print(f"\nwall time {result.wall_seconds:.0f} s; report: {result.files['html']}")
    return 0


if __name__ == "__main__":  # python -m pipeline.experiments.model_study_cli ...
    _parser = argparse.ArgumentParser(prog="model_study", description=__doc__.split("\n")[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
