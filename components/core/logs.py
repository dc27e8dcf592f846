"""One logging set-up for the CLI and the server: library noise in a log file unless -v.

Why one: output used to go through print, absl logging and stdlib logging, each configured (or
not) where it was used, so `mer predict` showed absl and FutureWarning lines the user cannot act
on. Here the root logger, absl's and Python's warnings all go to one handler: the log file
(default) or stderr (`verbose`). The server's own JSON access/app loggers
(serving/app/server.py) do not propagate to the root, so they stay on stderr.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_installed: Optional[logging.Handler] = None  # the handler configure() added last


def configure(verbose: bool = False, log_file: Optional[str] = None,
              level: int = logging.INFO) -> Optional[str]:
    """Routes the root logger, absl and warnings to `log_file` (or stderr when `verbose` or no
    file is given). Returns the log file used, or None for stderr."""
    if verbose or not log_file:
        handler: logging.Handler = logging.StreamHandler()
        log_file = None
    else:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    global _installed
    root = logging.getLogger()
    if _installed is not None:  # configured before (e.g. several commands in one process)
        root.removeHandler(_installed)
        _installed.close()
    root.addHandler(handler)  # others' handlers (a test's capture) stay
    _installed = handler
    root.setLevel(level)
    logging.captureWarnings(True)
    try:  # absl installs its own stderr handler on first use; route it through the root
        from absl import logging as absl_logging

        absl_logging.get_absl_handler().setLevel(logging.CRITICAL + 1)
        absl_logging.use_python_logging(quiet=True)
    except ImportError:
        pass
    return log_file
