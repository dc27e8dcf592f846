"""DataGate executor: fails on blocking anomalies, otherwise passes the schema on."""

from __future__ import annotations

import os
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.core.contract import DataError
from components.data_gate.anomalies import read_anomalies


class DataAnomaliesError(DataError):
    """The examples break the data contract's schema; training on them would corrupt the run."""


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]],
           output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any]) -> None:
        anomalies = artifact_utils.get_single_instance(input_dict["anomalies"])
        found = read_anomalies(anomalies.uri, anomalies.split_names)
        blocking = [a for a in found if a.blocking]
        for a in found:
            print(("blocking anomaly: " if a.blocking else "anomaly (not blocking): ") + a.line())
        if blocking:
            raise DataAnomaliesError(
                "ExampleValidator found anomalies that would corrupt training, so the run stops "
                "before the Transform:\n  " + "\n  ".join(a.line() for a in blocking) +
                f"\nFix the data (or the reader) and rerun; details: {anomalies.uri}")
        schema = artifact_utils.get_single_instance(input_dict["schema"])
        out = artifact_utils.get_single_instance(output_dict["checked_schema"])
        source = io_utils.get_only_uri_in_dir(schema.uri)
        io_utils.copy_file(source, os.path.join(out.uri, os.path.basename(source)))
