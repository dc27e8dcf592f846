"""TFX's Transform executor with batches bounded by bytes (`components/core/batching.py`).

TFX's Transform passes tf.Transform no batch size (tfx-bsl then batches up to 1000 examples by
count); this executor gives `tft_beam.Context` the preset's bound when the examples carry audio,
so the longest clip the contract allows (`features.max_duration_s`) cannot make a Python
worker's batch grow past ~64 MiB of WAV on any runner.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from tfx.components.transform import executor as tfx_transform

from components.core import contract
from components.core.batching import audio_batch_size
from components.core.config import PresetPart


class Executor(tfx_transform.Executor):
    def Do(self, input_dict, output_dict, exec_properties: dict[str, Any]) -> None:
        custom = json.loads(exec_properties.get("custom_config") or "{}")
        preset = PresetPart.from_json(custom["preset"]) if "preset" in custom else None
        self._max_duration_s = preset.features.max_duration_s if preset else None
        super().Do(input_dict, output_dict, exec_properties)

    def _GetDesiredBatchSize(self, data_format: int, schema) -> Optional[int]:
        size = super()._GetDesiredBatchSize(data_format, schema)
        max_duration_s = getattr(self, "_max_duration_s", None)
        if size is not None or max_duration_s is None:
            return size
        has_audio = any(f.name == contract.AUDIO for f in schema.feature)
        return audio_batch_size(max_duration_s, has_audio)
