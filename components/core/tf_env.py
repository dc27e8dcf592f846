"""TensorFlow's process set-up, in one place: import this module before anything imports TF.

Why: TF 2.16 loads Keras 3 unless `TF_USE_LEGACY_KERAS=1` is set *before* the first
`import tensorflow`; our models, TFX's Trainer and TFMA need the legacy tf.keras (tf_keras).
Twelve modules used to set it themselves, so importing any other module first loaded Keras 3.
Every entry point (the CLI, the server, kubeflow/runner.py, the executors' module files, the
benchmarks) imports this first; tests/test_tf_env.py checks that importing any of a sample of
modules first still gives the legacy Keras.

It also sets TensorFlow's C++ log level, and `import_tensorflow` sends the lines TF's C++ side
prints at import to a log file; the Python warnings libraries raise (google.api_core's
FutureWarning on Python 3.10) go there through `components.core.logs`. Nothing here imports
TensorFlow itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, Optional

ENVIRONMENT = {
    "TF_USE_LEGACY_KERAS": "1",  # tf.keras is tf_keras (Keras 2), as TFX 1.16 needs
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TF's C++ INFO and WARNING lines off the terminal
    # pydantic (config files) would otherwise scan every installed package for plugins first.
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}

def configure() -> None:
    """Sets the environment flags (the user's own settings win)."""
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def native_stderr_to(log_path: Optional[str]) -> Iterator[None]:
    """Within the block, what C++ libraries write to fd 2 (TF's "Unable to register cuDNN
    factory" lines at import) goes to `log_path`; nothing changes when it is None."""
    if not log_path:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log_fd, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log_fd)


def import_tensorflow(log_path: Optional[str] = None):  # -> the tensorflow module
    """`import tensorflow` with its start-up lines in `log_path` (None: on the terminal)."""
    with native_stderr_to(log_path):
        import tensorflow as tf
    return tf


configure()
