"""Faster tracing for tests that train Keras models: autograph stops re-converting tf_keras."""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def skip_tf_keras_autograph() -> Iterator[None]:
    """Halves tracing time: autograph stops re-converting tf_keras' own code on every trace.

    TF lists ``keras`` as do-not-convert but not its TF 2.16 home ``tf_keras``, so each model
    re-converts Keras' train step and layer internals (an LSTM's most of all: minutes on 2
    loaded cores). Keras 2 code was written for that setting (it was the default until TF
    2.15); this project's own layers are still converted. Private API, so a TF without it
    simply runs slower. Restored on exit.
    """
    try:
        from tensorflow.python.autograph.core import config as autograph_config

        saved = autograph_config.CONVERSION_RULES
        autograph_config.CONVERSION_RULES = (
            autograph_config.DoNotConvert("tf_keras"),) + tuple(saved)
    except (ImportError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        autograph_config.CONVERSION_RULES = saved
