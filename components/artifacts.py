"""The custom artifact types this pipeline's components exchange, and their file formats.

A consumer reads an artifact through the functions here, never through the executor that
produced it: the gate reads the baselines' metrics, the run summary reads the ingestion report
and the gate's verdict, and each producer writes with the same functions, so a format lives
in one place. Types are namespaced (`mer.<Name>`) because KFP v2 requires it.
"""

from __future__ import annotations

import json
import os

from tfx.types import artifact
from tfx.utils import io_utils


class IngestReport(artifact.Artifact):
    """ingest_report.json (counts), quarantine.csv (each rejected record), splits.csv."""

    TYPE_NAME = "mer.IngestReport"


class BaselineResults(artifact.Artifact):
    """metrics.json (train/eval accuracy, per-class metrics) and <model>.joblib files."""

    TYPE_NAME = "mer.BaselineResults"


# IngestReport's files.
REPORT_FILE = "ingest_report.json"
QUARANTINE_FILE = "quarantine.csv"
SPLITS_FILE = "splits.csv"
# BaselineResults' summary.
METRICS_FILE = "metrics.json"
# What the Gate writes into the (standard) ModelBlessing artifact besides TFX's marker file.
VERDICT_FILE = "gate.json"


def _read_json(uri: str, name: str) -> dict:
    return json.loads(io_utils.read_string_file(os.path.join(uri, name)))


def _write_json(uri: str, name: str, payload: dict) -> None:
    io_utils.write_string_file(os.path.join(uri, name),
                               json.dumps(payload, indent=2, sort_keys=True))


def read_ingest_report(uri: str) -> dict:
    """The counts of an IngestReport (listed, written, quarantined, by split and class)."""
    return _read_json(uri, REPORT_FILE)


def write_baseline_metrics(uri: str, summary: dict) -> None:
    _write_json(uri, METRICS_FILE, summary)


def read_baseline_metrics(uri: str) -> dict:
    """{"best": name, "models": {name: {"accuracy": ..., ...}}, "labels": [...], ...}."""
    return _read_json(uri, METRICS_FILE)


def write_verdict(blessing_uri: str, verdict: dict) -> None:
    _write_json(blessing_uri, VERDICT_FILE, verdict)


def read_verdict(blessing_uri: str) -> dict:
    """{"blessed": bool, "reasons": [...], "notes": [...], "best_baseline": ..., ...}."""
    return _read_json(blessing_uri, VERDICT_FILE)
