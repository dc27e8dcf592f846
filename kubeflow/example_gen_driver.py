"""EmotionExampleGen's pre-cache hook on Kubeflow: the dataset fingerprint before the cache lookup.

The local runners run the component's driver (`components.example_gen.driver`) before TFX's
cache lookup. Kubeflow Pipelines v2 does not run TFX drivers; Vertex AI Pipelines runs a
container's `lifecycle.preCacheCheck` command instead, which TFX uses for its own
FileBasedExampleGen (`tfx.orchestration.kubeflow.v2.file_based_example_gen.driver`). This is
that hook for EmotionExampleGen: it writes the fingerprint as the `input_fingerprint` output
parameter and onto the examples artifact. `kubeflow/runner.py` adds it to the compiled spec.
The open-source KFP backend runs no pre-cache hook; see docs/scaling.md for what the runner
does there.

    python -m kubeflow.example_gen_driver --json_serialized_invocation_args '{...}'
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.io import fileio
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as kfp_utils
from tfx.types import artifact_utils
from tfx.types.standard_component_specs import EXAMPLES_KEY

from components.example_gen.driver import DATA_ROOT, FINGERPRINT_PROPERTY, dataset_fingerprint

COMMAND = ("python", "-m", "kubeflow.example_gen_driver")


def run_hook(executor_input: pipeline_spec_pb2.ExecutorInput) -> pipeline_spec_pb2.ExecutorOutput:
    """Fingerprints the data root and writes the ExecutorOutput where Kubeflow expects it."""
    data_root = _data_root(executor_input.inputs)
    name_from_id: dict = {}
    outputs = kfp_utils.parse_raw_artifact_dict(executor_input.outputs.artifacts, name_from_id)
    fingerprint = dataset_fingerprint(data_root)
    print(f"EmotionExampleGen pre-cache hook: {data_root} -> {fingerprint}")
    examples = artifact_utils.get_single_instance(outputs[EXAMPLES_KEY])
    examples.set_string_custom_property(FINGERPRINT_PROPERTY, fingerprint)
    result = pipeline_spec_pb2.ExecutorOutput()
    result.parameter_values[FINGERPRINT_PROPERTY].string_value = fingerprint
    result.artifacts[EXAMPLES_KEY].artifacts.add().CopyFrom(
        kfp_utils.to_runtime_artifact(examples, name_from_id))
    path = executor_input.outputs.output_file
    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path, "w") as f:
        f.write(json_format.MessageToJson(result, sort_keys=True))
    return result


def _data_root(inputs) -> str:
    """The data_root parameter, from pipeline spec 2.1's parameter_values or 2.0's parameters."""
    if DATA_ROOT in inputs.parameter_values:
        return inputs.parameter_values[DATA_ROOT].string_value
    if DATA_ROOT in inputs.parameters:
        return inputs.parameters[DATA_ROOT].string_value
    raise ValueError(f"EmotionExampleGen's invocation has no {DATA_ROOT!r} parameter")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json_serialized_invocation_args", required=True)
    # Beam options follow, as for TFX's own hook: not needed to fingerprint.
    args, _ = parser.parse_known_args(argv)
    executor_input = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(args.json_serialized_invocation_args, executor_input,
                      ignore_unknown_fields=True)
    run_hook(executor_input)
    return 0


if __name__ == "__main__":
    sys.exit(main())
