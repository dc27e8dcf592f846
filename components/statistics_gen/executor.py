"""TFX's StatisticsGen executor with its reads spread over the workers on Flink and Spark.

TFDV's statistics are Python work fused after the read; on Flink that work stays in the
partition that read the examples (`components/core/spread.py`). TFX's executor builds each
split's TFXIO with `tfxio_utils.get_split_tfxio` inside `Do` and offers no hook for another, so
on those runners `Do` runs with that function returning spread TFXIOs, and restores it after
(components run one at a time in a process). Other runners get TFX's executor unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from tfx.components.statistics_gen import executor as tfx_statistics_gen

from components.core.spread import needs_spread, spread_reads


@contextlib.contextmanager
def spread_split_reads() -> Iterator[None]:
    """TFX's `get_split_tfxio` returns TFXIOs with spread reads inside the block."""
    utils = tfx_statistics_gen.tfxio_utils
    original = utils.get_split_tfxio

    def get_split_tfxio(*args: Any, **kwargs: Any):
        return spread_reads(original(*args, **kwargs))

    utils.get_split_tfxio = get_split_tfxio
    try:
        yield
    finally:
        utils.get_split_tfxio = original


class Executor(tfx_statistics_gen.Executor):
    def Do(self, input_dict: dict[str, list], output_dict: dict[str, list],
           exec_properties: dict[str, Any]) -> None:
        spread = needs_spread(self._beam_pipeline_args)
        with spread_split_reads() if spread else contextlib.nullcontext():
            super().Do(input_dict, output_dict, exec_properties)
