"""A bug inside a component, as `mer run` reports it: exit 1, the line of code, the log.

The bug (a KeyError) is injected into ExampleGen's executor through a `sitecustomize.py` on the
subprocess's PYTHONPATH, so nothing in the shipped code is a test hook. It runs the real
pipeline (TFX's LocalDagRunner on the demo corpus, TER only) up to the failing component.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.pipeline.test_cli_errors import _mer

pytestmark = pytest.mark.faults

BUG_IN_THE_EXECUTOR = """
    import components.core.tf_env  # as every entry point: TF's environment first
    import components.example_gen.ingest as ingest

    def list_dataset(preset, data_root):
        return {}["split_of_" + preset.name]

    ingest.list_dataset = list_dataset
"""


def test_a_keyerror_in_an_executor_exits_1_with_its_location(tmp_path, fault_report):
    start = time.monotonic()
    done = _mer("run", "--preset", "demo", "--tasks", "ter", "--output-dir",
                str(tmp_path / "out"), inject=BUG_IN_THE_EXECUTOR, tmp_path=tmp_path,
                timeout=900)
    took = time.monotonic() - start
    assert done.returncode == 1, done.stdout + done.stderr
    err = done.stderr.splitlines()
    assert err[-2] == ("mer: internal error (a bug, not your input): KeyError: "
                       "'split_of_demo'"), err
    assert re.search(r"sitecustomize\.py:\d+ in list_dataset \(from "
                     r"components/example_gen/executor\.py:\d+ in Do\)", err[-1]), err
    log = Path(re.search(r"full traceback in (\S+run\.log)\.", err[-1]).group(1))
    assert "KeyError: 'split_of_demo'" in log.read_text()
    assert "run failed at EmotionExampleGen" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    fault_report("KeyError injected in ExampleGen's executor (`mer run`)",
                 f"exit 1, file:line + run.log named, {took:.0f} s")
