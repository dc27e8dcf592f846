"""TFX's Evaluator executor with its input batches bounded by bytes, not by count.

TFX's Evaluator reads the raw examples (WAV bytes included) through a TFXIO source that it gives
no batch size, so tfx-bsl lets Beam grow each batch up to 1000 examples: up to ~1 GB of audio in
one Python worker at the contract's longest clip (30 s), several batches in flight. TFX 1.16's
Evaluator takes no batch size, but tfx-bsl has its own remedy: with `tfxio_use_byte_size_batching`
on, its sources batch records to a target of bytes (20 MiB; a larger record is a batch of its
own). This executor turns that switch on while it builds its Beam pipeline, which is when tfx-bsl
reads it (in the submitting process, whatever the runner), and restores it after.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from absl import flags
from tfx.components.evaluator import executor as tfx_evaluator
from tfx_bsl.coders import batch_util  # noqa: F401  (defines the switch below)

BYTE_SIZE_BATCHING_FLAG = "tfxio_use_byte_size_batching"


@contextlib.contextmanager
def byte_size_batching() -> Iterator[None]:
    """tfx-bsl's byte-size batching on for TFXIO sources built inside the block.

    tfx-bsl reads the switch only once absl's flags count as parsed (it falls back to the
    default otherwise), and `mer` never parses absl flags: so the flags are marked parsed for
    the block, and returned to unparsed after it (every flag was at its default before, since
    nothing had parsed them).
    """
    values = flags.FLAGS
    was_parsed = values.is_parsed()
    previous = values[BYTE_SIZE_BATCHING_FLAG].value
    if not was_parsed:
        values.mark_as_parsed()
    values[BYTE_SIZE_BATCHING_FLAG].value = True
    try:
        yield
    finally:
        values[BYTE_SIZE_BATCHING_FLAG].value = previous
        if not was_parsed:
            values.unparse_flags()


class Executor(tfx_evaluator.Executor):
    def Do(self, input_dict: dict[str, list], output_dict: dict[str, list],
           exec_properties: dict[str, Any]) -> None:
        with byte_size_batching():
            super().Do(input_dict, output_dict, exec_properties)
