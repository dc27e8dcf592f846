"""Sends everything a run prints (TensorFlow, absl, Beam, Keras, the executors) to a log file
and keeps the terminal for the runner's own lines.

Why file descriptors and not just Python logging: TensorFlow's C++ runtime writes to file
descriptor 2 directly, Beam worker processes inherit the descriptors, and Keras and the
executors print to stdout. Pointing descriptors 1 and 2 at the log file catches all of them;
the console keeps a duplicate of the original stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, TextIO


@contextlib.contextmanager
def redirected_to(log_path: str) -> Iterator[TextIO]:
    """Within the block, fds 1 and 2 write to `log_path` (appended); yields the real stdout."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    console = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8",
                        errors="replace")
    try:
        for fd in (1, 2):
            os.dup2(log_fd, fd)
        yield console
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(log_fd)
        console.close()
