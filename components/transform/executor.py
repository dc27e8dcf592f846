"""TFX's Transform executor with batches bounded by bytes (`components/core/batching.py`) and
reads spread over the workers on Flink and Spark (`components/core/spread.py`).

TFX's Transform passes tf.Transform no batch size (tfx-bsl then batches up to 1000 examples by
count), so the longest clip the contract allows (`features.max_duration_s`) could make a Python
worker's batch ~1 GB of WAV; and on Flink its reads stay in the partition that read them. Both
are decided by TFX's `TransformProcessor` (`_GetDesiredBatchSize`, `_CreateTFXIO`), which TFX's
executor constructs by name inside `Do`; TFX 1.16 offers no hook for another processor. So
`Do` runs with that name bound to the processor below, and restores it after (components run
one at a time in a process).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Optional

from tfx.components.transform import executor as tfx_transform

from components.core import contract
from components.core.batching import audio_batch_size
from components.core.config import PresetPart
from components.core.spread import needs_spread, spread_reads

_TFX_PROCESSOR = tfx_transform.TransformProcessor


class Processor(_TFX_PROCESSOR):
    """TFX's TransformProcessor, with the preset's batch bound and (on Flink/Spark) spread
    reads."""

    max_duration_s: Optional[float] = None  # the preset's longest clip; None: TFX's batching
    spread: bool = False

    def _GetDesiredBatchSize(self, data_format: int, schema) -> Optional[int]:
        size = super()._GetDesiredBatchSize(data_format, schema)
        if size is not None or self.max_duration_s is None:
            return size
        has_audio = any(f.name == contract.AUDIO for f in schema.feature)
        return audio_batch_size(self.max_duration_s, has_audio)

    def _CreateTFXIO(self, dataset, schema):
        tfxio = super()._CreateTFXIO(dataset, schema)
        return spread_reads(tfxio) if self.spread else tfxio


@contextlib.contextmanager
def _processor(max_duration_s: Optional[float], spread: bool) -> Iterator[None]:
    """TFX's executor builds `Processor`, so configured, where it builds its TransformProcessor,
    inside the block. (A module-level class, so anything Beam pickles that names it unpickles.)"""
    Processor.max_duration_s, Processor.spread = max_duration_s, spread
    tfx_transform.TransformProcessor = Processor
    try:
        yield
    finally:
        tfx_transform.TransformProcessor = _TFX_PROCESSOR
        Processor.max_duration_s, Processor.spread = None, False


class Executor(tfx_transform.Executor):
    def Do(self, input_dict, output_dict, exec_properties: dict[str, Any]) -> None:
        custom = json.loads(exec_properties.get("custom_config") or "{}")
        preset = PresetPart.from_json(custom["preset"]) if "preset" in custom else None
        with _processor(preset.features.max_duration_s if preset else None,
                        needs_spread(self._beam_pipeline_args)):
            super().Do(input_dict, output_dict, exec_properties)
