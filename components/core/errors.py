"""The errors a user can fix, as a small taxonomy the CLI maps to exit codes and messages.

Why a taxonomy: "user error, exit 2, no traceback" used to be any `ValueError` or `OSError`,
so a bug (a `KeyError` in an executor, a typo'd path in our own code) looked like bad input and
its traceback was hidden. Now only a `MerError` is the user's to fix; anything else is a bug:
the CLI exits 1 and says where the traceback is (docs/running.md#exit-status).

Each class also derives from the builtin error it used to be (`ValueError`,
`FileNotFoundError`), so callers that caught those keep working.

| error                | meaning                                              | exit |
|----------------------|------------------------------------------------------|------|
| `UsageError`         | a command-line option or combination that cannot run | 2    |
| `ConfigurationError` | a preset / configuration-file / --set value           | 2    |
| `DataError`          | the user's data cannot be used as given               | 2    |
| `MissingDataError`   | a data root, manifest or input file that is not there | 2    |
| `ModelError`         | a model that is not there or cannot be served         | 2    |
| anything else        | a bug                                                 | 1    |
"""

from __future__ import annotations

USER_ERROR_EXIT = 2  # as argparse's: fix the input and rerun
BUG_EXIT = 1


class MerError(Exception):
    """Base of every error the user can fix; `exit_code` is what the CLI exits with."""

    exit_code = USER_ERROR_EXIT
    kind = "error"


class UsageError(MerError, ValueError):
    """An option, or a combination of options, that cannot run (names the flag and the fix)."""

    kind = "usage"


class ConfigurationError(MerError, ValueError):
    """A configuration value that cannot run: a preset field, a file key or a --set."""

    kind = "configuration"


class DataError(MerError, ValueError):
    """The user's data cannot be used as given (nothing valid in it, anomalies that would
    corrupt training, a malformed manifest)."""

    kind = "data"


class MissingDataError(MerError, FileNotFoundError):
    """A data root, manifest or input file that does not exist or cannot be read."""

    kind = "data"


class ModelError(MerError, ValueError):
    """A model that is not there, cannot be loaded or does not take the input given."""

    kind = "model"


def exit_code(error: BaseException) -> int:
    """The exit status for `error`: its own for a MerError, BUG_EXIT for anything else."""
    return error.exit_code if isinstance(error, MerError) else BUG_EXIT


def is_user_error(error: BaseException) -> bool:
    return isinstance(error, MerError)
