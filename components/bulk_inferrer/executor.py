"""Executor of EmotionBulkInferrer: `mer infer`'s job on the version the Pusher published."""

from __future__ import annotations

import json
import time
from typing import Any

from absl import logging
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.bulk_inferrer import job
from components.bulk_inferrer.listing import list_for_scoring
from components.core.config import PresetPart
from components.core.errors import DataError
from components.core.segments import SegmentSettings

PUSHED_MODEL_KEY = "pushed_model"
RESULT_KEY = "inference_result"


def model_class_names(version_dir: str) -> tuple[str, ...]:
    """The class names a pushed SER version answers with, from its own answer to a tone (the
    check a server makes before serving it: loads, has `predict_raw`, replays its warm-up)."""
    import tensorflow as tf

    from components.core.saved_model_check import VersionCheckError, load_checked
    from components.core.signatures import EMOTIONS
    from components.core.wav import tone_wav

    try:
        _, signature = load_checked(version_dir)
    except VersionCheckError as e:
        raise DataError(f"the pushed model at {e.path} cannot be scored with: {e.reason}") \
            from None
    out = signature(audio=tf.constant([tone_wav(0.5)]))
    return tuple(n.decode("utf-8") for n in out[EMOTIONS][0].numpy())


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]],
           output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        pushed = artifact_utils.get_single_instance(input_dict[PUSHED_MODEL_KEY])
        result = artifact_utils.get_single_instance(output_dict[RESULT_KEY])
        if not pushed.get_int_custom_property("pushed"):
            logging.info("EmotionBulkInferrer: the model was not pushed; nothing scored")
            result.set_int_custom_property("inferred", 0)
            return
        version_dir = pushed.get_string_custom_property("pushed_destination")
        version = pushed.get_string_custom_property("pushed_version")
        names = model_class_names(version_dir)
        preset = PresetPart.from_json(exec_properties["preset"])
        started = time.perf_counter()
        sources, refused = list_for_scoring(preset, exec_properties["data_root"])
        if not sources:
            raise DataError(f"no recording listed under {exec_properties['data_root']} with the "
                            f"{preset.name} reader ({len(refused)} rows refused); check the "
                            f"infer root and the preset")
        timeline = exec_properties.get("timeline") or ""
        spec = job.JobSpec(model_path=version_dir, model_version=version, class_names=names,
                           out_dir=result.uri,
                           timeline=SegmentSettings(**json.loads(timeline)) if timeline else None)
        with self._make_beam_pipeline() as p:
            job.build(p, sources, refused, spec)
        summary = job.finish(result.uri, names, len(sources), len(refused),
                             time.perf_counter() - started)
        for key, value in summary.lines:
            print(f"  {key:<28} {value}")
        result.set_int_custom_property("inferred", 1)
        result.set_string_custom_property("model_version", version)
        result.set_int_custom_property("scored", summary.scored)
        result.set_int_custom_property("quarantined", summary.quarantined)
        if not summary.complete:
            raise DataError(f"{summary.listed} recordings listed under "
                            f"{exec_properties['data_root']} but {summary.scored} scored and "
                            f"{summary.quarantined} quarantined; see {result.uri}")
