"""A command's run configuration from its arguments: the one door every command goes through.

`mer run`, `mer ingest`, `mer experiment`, `mer evaluate`, `mer config show --resolved` and
`kubeflow/runner.py` all take `--preset`/`--config`/`--set` here and build the preset with
`config_file.load`, whose precedence is: preset < --config file < --set < convenience flags
(--epochs, --split, --duration: shorthands for a --set that say so when they replace a file's
value). Nothing here imports TensorFlow, so a bad option or a missing data root fails in well
under a second.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional

from components.core.errors import MissingDataError, UsageError
from pipeline import config_file
from pipeline.configs import PRESETS, RunConfig

# The convenience flags: attribute of the parsed arguments -> (option, the field it sets).
FLAGS = {"epochs": ("--epochs", "train.epochs"), "split": ("--split", "split.method"),
         "duration": ("--duration", "features.duration_s")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--preset, --config and --set, the same on every command that takes a configuration."""
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="the preset to run (or the base a --config file starts from)")
    add_file_arguments(parser)


def add_file_arguments(parser: argparse.ArgumentParser) -> None:
    """--config and --set (for a command whose --preset has a default of its own)."""
    parser.add_argument("--config", metavar="FILE",
                        help="YAML or JSON run configuration: `preset:` plus any field of the "
                             "schema (see `mer config show PRESET`)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override one field, repeatable: --set train.epochs=20 "
                             "--set models.ser=cnn2d (wins over --config)")


def flags_of(args: argparse.Namespace) -> list[config_file.Flag]:
    """The convenience flags given on the command line, as the --set they stand for."""
    out = []
    for attr, (option, key) in FLAGS.items():
        value = getattr(args, attr, None)
        if value is not None:
            out.append(config_file.Flag(option, key, value))
    return out


def load(args: argparse.Namespace, with_flags: bool = True) -> config_file.RunFile:
    """The validated preset of --preset/--config/--set and (`with_flags`) the convenience
    flags; a command whose --epochs means something else (the studies) passes False."""
    if not getattr(args, "preset", None) and not getattr(args, "config", None):
        raise UsageError("Give --preset NAME or --config FILE (`mer config show NAME` prints a "
                         "preset as a file to start from).")
    config_path = getattr(args, "config", None)
    if config_path and not os.path.isfile(config_path):
        raise MissingDataError(f"--config {config_path}: no such file (`mer config show NAME > "
                               f"{config_path}` writes one to start from)")
    return config_file.load(config_path, getattr(args, "set", None) or (),
                            preset_name=getattr(args, "preset", None),
                            flags=flags_of(args) if with_flags else ())


def data_root(args: argparse.Namespace, run_file: config_file.RunFile, output_dir: str,
              required: bool = True) -> Optional[str]:
    """--data-root, else the file's `data_root:`, else (demo) the generated corpus; checked to
    exist now, so a typo is one line at once and not a component failure minutes later."""
    from pipeline.local_runner import default_data_root

    preset = run_file.preset
    root = config_file.resolve_data_root(run_file, getattr(args, "data_root", None))
    if not root and preset.name == "demo":
        return os.path.abspath(default_data_root(output_dir, preset.name))
    if not root:
        if not required:
            return None
        raise UsageError(f"--data-root is required for preset {preset.name!r} (or `data_root:` "
                         f"in the configuration file).")
    if "://" not in root and not os.path.exists(root):
        raise MissingDataError(f"Data root {root} does not exist. Pass --data-root pointing at "
                               f"the {preset.name} dataset (see docs/datasets.md for the "
                               f"expected layout).")
    return os.path.abspath(root) if "://" not in root else root


def run_config(args: argparse.Namespace, run_file: Optional[config_file.RunFile] = None
               ) -> RunConfig:
    """The run's configuration from --config/--set/--preset and the shortcut flags; a bad
    value fails here, before anything runs (and before TensorFlow is imported)."""
    run_file = run_file or load(args)
    output_dir = os.path.abspath(args.output_dir)
    config = RunConfig(
        preset=run_file.preset, data_root=data_root(args, run_file, output_dir),
        output_dir=output_dir, enable_cache=not getattr(args, "no_cache", False),
        **runner_options(args), **infer_options(args, run_file.preset),
    )
    config.beam_pipeline_args()  # a bad runner option (UsageError) fails here, before any run
    return config


def runner_options(args: argparse.Namespace) -> dict:
    """The RunConfig fields of --runner, --beam-mode, --flink-master and --beam-arg."""
    runner = getattr(args, "runner", "direct")
    beam_mode = getattr(args, "beam_mode", None)
    if beam_mode and runner != "direct":
        raise UsageError(f"--beam-mode applies to --runner direct only (got --runner {runner}); "
                         f"pass the runner's own options with --beam-arg=--OPTION=VALUE")
    for flag in ("flink_master", "flink_job_server_jar"):
        if getattr(args, flag, None) and runner != "flink":
            raise UsageError(f"--{flag.replace('_', '-')} needs --runner flink")
    return {
        "beam_mode": beam_mode or "in_memory", "runner": runner,
        "flink_master": getattr(args, "flink_master", None) or "",
        "flink_job_server_jar": getattr(args, "flink_job_server_jar", None) or "",
        "beam_args": tuple(getattr(args, "beam_arg", None) or ()),
    }


def infer_options(args: argparse.Namespace, preset) -> dict:
    """The RunConfig fields of `mer run --infer-root DIR [--infer-timeline]`, checked now."""
    root = getattr(args, "infer_root", None)
    if not root:
        if getattr(args, "infer_timeline", False):
            raise UsageError("--infer-timeline needs --infer-root DIR (what to score)")
        return {}
    if "ser" not in preset.tasks:
        raise UsageError(f"--infer-root scores recordings with the SER model; preset "
                         f"{preset.name!r} trains {', '.join(preset.tasks)}")
    if not os.path.exists(root):
        raise MissingDataError(f"--infer-root {root} does not exist: give the folder or "
                               f"manifest of the recordings to score")
    if getattr(args, "infer_timeline", False):
        from pipeline.configs import clip_window_s

        clip_window_s(preset)  # a preset without a fixed clip length fails here, not later
    return {"infer_root": os.path.abspath(root),
            "infer_timeline": bool(getattr(args, "infer_timeline", False))}


def tasks(args: argparse.Namespace, config: RunConfig) -> Optional[list[str]]:
    """--tasks, checked against the preset's tasks."""
    from components.core.tasks import validate_tasks

    if not getattr(args, "tasks", None):
        return None
    try:
        chosen = list(validate_tasks([t.strip() for t in args.tasks.split(",") if t.strip()]))
    except ValueError as err:
        raise UsageError(f"--tasks: {err}") from None
    missing = [t for t in chosen if t not in config.preset.tasks]
    if missing:
        raise UsageError(f"--tasks: preset {config.preset.name!r} runs "
                         f"{', '.join(config.preset.tasks)}, not {', '.join(missing)}")
    if config.infer_root and "ser" not in chosen:
        raise UsageError("--infer-root scores with the SER model: add ser to --tasks")
    return chosen
