"""A Flink job that fails for memory stops `mer run` with the MER_FLINK_* setting to raise."""

from __future__ import annotations

import pytest

from components.core import errors
from pipeline import flink_errors

JAVA_STACK = """Pipeline BeamApp-root-1 failed in state FAILED: java.lang.RuntimeException: \
Error while obtaining new bundle
\tat org.apache.beam.runners.fnexecution.control.DefaultJobBundleFactory...
Caused by: java.io.IOException: Cannot write record to fresh sort buffer. Record too large.
\tat org.apache.flink.runtime.operators.sort.CombiningUnilateralSortMerger..."""


@pytest.mark.parametrize("marker, knob", [
    ("java.lang.OutOfMemoryError: Direct buffer memory", "MER_FLINK_TM_TASK_OFFHEAP"),
    (JAVA_STACK, "MER_FLINK_TM_MANAGED_FRACTION"),
    ("Insufficient number of network buffers: required 65", "MER_FLINK_TM_NETWORK"),
    ("java.lang.OutOfMemoryError: Java heap space", "MER_FLINK_TM_MEMORY"),
])
def test_a_memory_failure_names_the_knob(marker, knob):
    try:
        try:
            raise RuntimeError(marker)
        except RuntimeError as inner:  # TFX wraps the Beam failure
            raise ValueError("component StatisticsGen failed") from inner
    except ValueError as e:
        explained = flink_errors.explain(e)
    assert explained is not None and knob in str(explained)
    assert "scripts/flink_cluster.sh" in str(explained)
    assert "\tat org.apache" not in str(explained)
    assert isinstance(explained, errors.ConfigurationError)  # the CLI's exit 2, one line


def test_other_failures_are_left_alone():
    assert flink_errors.explain(RuntimeError("No module named 'apache_beam'")) is None
