"""Executor of EmotionExampleGen: runs `ingest.run_ingest` on TFX's Beam."""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.core.config import PresetPart
from components.example_gen import ingest
from components.example_gen.driver import FINGERPRINT_PROPERTY, dataset_fingerprint


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        preset = PresetPart.from_json(exec_properties["preset"])
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        report = artifact_utils.get_single_instance(output_dict["report"])
        examples.split_names = artifact_utils.encode_split_names(list(ingest.SPLITS))
        examples_utils.set_payload_format(
            examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        # The driver took it before the cache lookup; where no driver runs (Kubeflow Pipelines'
        # open-source backend) it is taken here, so the examples still name their data.
        examples.set_string_custom_property(
            FINGERPRINT_PROPERTY, exec_properties.get(FINGERPRINT_PROPERTY)
            or dataset_fingerprint(exec_properties["data_root"]))
        with self._make_beam_pipeline() as p:
            listing = ingest.list_dataset(preset, exec_properties["data_root"])
            ingest.build_ingest(p, listing, preset, examples.uri, report.uri)
        result = ingest.finish_ingest(report.uri, preset, exec_properties["data_root"], listing)
        for line in result.summary_lines():
            print(line)
        report.set_int_custom_property("written", result.written)
        report.set_int_custom_property("quarantined", result.quarantined)
        if result.written == 0:
            raise ingest.NothingValidError(ingest.nothing_valid_message(result, report.uri))
