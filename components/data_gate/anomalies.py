"""ExampleValidator's anomalies, read per split and told as one line each.

The DataGate stops a run on them and the run summary and report name them, both through this
module, so what counts as blocking is decided in one place.
"""

from __future__ import annotations

import dataclasses
import os

from tensorflow_data_validation.utils import anomalies_util
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.core import contract

# What an anomaly on a contract field means for this pipeline, where TFDV's words do not say it.
_MEANING = {
    (contract.DURATION_S, anomalies_pb2.AnomalyInfo.FLOAT_TYPE_SMALL_FLOAT):
        "audio missing: an utterance without samples where the preset requires audio",
    (contract.LABEL, anomalies_pb2.AnomalyInfo.INT_TYPE_BIG_INT):
        "a label id beyond the preset's label set",
}


@dataclasses.dataclass(frozen=True)
class Anomaly:
    split: str
    feature: str
    short: str  # e.g. "Unexpected string values"
    detail: str  # e.g. "Examples contain values missing from the schema: joyful (~3%)."
    blocking: bool  # severity ERROR: training on it would learn from corrupt data

    meaning: str = ""  # what it means for the contract, when TFDV's text does not say

    def line(self) -> str:
        text = f"{self.split}: {self.feature}: {self.short}: {self.detail.strip()}"
        return f"{text} ({self.meaning})" if self.meaning else text


def read_anomalies(uri: str, split_names: str) -> list[Anomaly]:
    """Every anomaly of an ExampleAnomalies artifact (its uri and encoded split names)."""
    found = []
    for split in artifact_utils.decode_split_names(split_names):
        path = os.path.join(uri, f"Split-{split}", DEFAULT_FILE_NAME)
        if not fileio.exists(path):
            continue
        anomalies = anomalies_util.load_anomalies_binary(path)
        for feature, info in sorted(anomalies.anomaly_info.items()):
            found.append(_anomaly(split, feature, info))
        if anomalies.HasField("dataset_anomaly_info"):
            found.append(_anomaly(split, "(dataset)", anomalies.dataset_anomaly_info))
    return found


def _anomaly(split: str, feature: str, info: anomalies_pb2.AnomalyInfo) -> Anomaly:
    meanings = [_MEANING[(feature, r.type)] for r in info.reason if (feature, r.type) in _MEANING]
    return Anomaly(split=split, feature=feature, short=info.short_description,
                   detail=info.description,
                   blocking=info.severity == anomalies_pb2.AnomalyInfo.ERROR,
                   meaning="; ".join(meanings))
