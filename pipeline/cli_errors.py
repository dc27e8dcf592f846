"""The CLI's edge: what a command's error becomes on the terminal and as the exit status.

A `components.core.errors.MerError` is the user's to fix: one line `mer: error: ...` and its
exit code (2), the traceback only with -v. Anything else is a bug: exit 1, the traceback in the
command's log (a run's own `run.log`, else `artifacts/logs/mer-<command>.log`) and one line
saying what failed, where in the code, and where the traceback is. Library noise (TensorFlow's
C++ start-up lines, absl, Python warnings) goes to the same log unless -v
(`components.core.logs`, `components.core.tf_env`).

Inputs named on the command line are checked before TensorFlow is imported, so a missing file
is reported in well under a second, not after TF's four-second start-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Optional

from components.core import errors, logs, tf_env
from pipeline.configs import DEFAULT_OUTPUT_DIR, REPO_ROOT

LOG_DIR = DEFAULT_OUTPUT_DIR / "logs"
# Commands that load TensorFlow: its start-up lines go to the log unless -v.
TF_COMMANDS = ("predict", "evaluate", "serve", "infer")
# Arguments naming an input file that must exist: attribute -> option (--config and
# --data-root are checked where the configuration is built: pipeline/cli_config.py).
INPUT_PATHS = {"audio": "--audio"}
INTERRUPTED = 130  # as a shell reports SIGINT


def command_log(args: argparse.Namespace) -> Path:
    """Where a command's library output and a bug's traceback go (appended)."""
    return LOG_DIR / f"mer-{getattr(args, 'command', 'command')}.log"


def check_inputs(args: argparse.Namespace) -> None:
    """A MissingDataError naming the option when an input file it names is not there."""
    for attr, option in INPUT_PATHS.items():
        path = getattr(args, attr, None)
        if isinstance(path, str) and path and not os.path.exists(path):
            raise errors.MissingDataError(f"{option} {path}: no such file")
    if getattr(args, "command", "") == "evaluate":
        for attr, option in (("model_dir", "--model-dir"), ("data_root", "--data-root")):
            path = getattr(args, attr, None)
            if path and "://" not in path and not os.path.exists(path):
                raise errors.MissingDataError(f"{option} {path}: no such file or folder")


def where(error: BaseException) -> str:
    """`path:line in function` where `error` was raised, and the deepest frame of this
    project's code on the way when the raise was in a library."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    if not frames:
        return "(no traceback)"

    def ours(frame: traceback.FrameSummary) -> bool:
        return (frame.filename.startswith(str(REPO_ROOT) + os.sep)
                and f"{os.sep}.venv{os.sep}" not in frame.filename)

    def show(frame: traceback.FrameSummary) -> str:
        name = frame.filename
        if ours(frame):
            name = os.path.relpath(name, REPO_ROOT)
        return f"{name}:{frame.lineno} in {frame.name}"

    text = show(frames[-1])
    project = [f for f in frames if ours(f)]
    if project and project[-1] is not frames[-1]:
        text += f" (from {show(project[-1])})"
    return text


def bug_line(error: BaseException, log: Optional[str], verbose: bool) -> str:
    """The one line a bug gets on the terminal: what, where in the code, where the traceback is."""
    detail = f"{type(error).__name__}: {error}".splitlines()[0]
    trace = "above" if verbose or not log else f"in {log}"
    return (f"mer: internal error (a bug, not your input): {detail}\n"
            f"  at {where(error)}; full traceback {trace}. Please report it with that log.")


def _write_traceback(error: BaseException, log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as f:
        f.write("".join(traceback.format_exception(type(error), error, error.__traceback__)))


def run_command(args: argparse.Namespace) -> int:
    """Runs `args.fn(args)` and maps what it raises to a message and an exit status."""
    verbose = bool(getattr(args, "verbose", False))
    command = getattr(args, "command", "")
    log = command_log(args)
    if command != "run":  # a run sends everything to its own run.log (pipeline/run_log.py)
        logs.configure(verbose, str(log))
    try:
        check_inputs(args)
        if command in TF_COMMANDS and not verbose:
            tf_env.import_tensorflow(str(log))
        return args.fn(args)
    except errors.MerError as e:
        if verbose:
            traceback.print_exc()
        message = str(e)
        if isinstance(e, errors.ConfigurationError) and not message.startswith("configuration"):
            message = f"configuration: {message}"
        print(message if message.startswith("mer: ") else f"mer: error: {message}",
              file=sys.stderr)
        return e.exit_code
    except SystemExit as e:  # a command module's message (`raise SystemExit("...")`)
        if not isinstance(e.code, str):
            raise
        print(e.code if e.code.startswith("mer: ") else f"mer: error: {e.code}", file=sys.stderr)
        return errors.USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("mer: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as e:  # noqa: BLE001 - a bug: reported with where its traceback is
        if verbose:
            traceback.print_exc()
        else:
            _write_traceback(e, log)
        print(bug_line(e, None if verbose else str(log), verbose), file=sys.stderr)
        return errors.BUG_EXIT
