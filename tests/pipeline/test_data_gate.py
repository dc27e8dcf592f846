"""Examples that break the data contract stop the run before the Transform, with the anomalies
named in the summary and the report.

Ingestion quarantines bad records itself, so to feed the validator a dataset with anomalies the
test stands in for a buggy reader: its loader lets a label outside the preset's set and a clip
without audio through.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.core import contract
from pipeline import demo_corpus, local_runner, run_metadata
from pipeline.configs import RunConfig, get_preset


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    from components.example_gen import ingest

    out = tmp_path_factory.mktemp("anomalies")
    demo_corpus.generate(out / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=4))
    config = RunConfig(preset=get_preset("demo"), data_root=str(out / "data"),
                       output_dir=str(out / "artifacts"))
    real = ingest.load_or_reject
    seen = []

    def buggy_loader(source, labels, require_text, require_audio):
        result = real(source, labels, require_text, require_audio)
        seen.append(source.id)
        if isinstance(result, contract.Utterance) and len(seen) % 5 == 0:
            return dataclasses.replace(result, emotion="joyful")
        if isinstance(result, contract.Utterance) and len(seen) % 7 == 0:
            return dataclasses.replace(result, audio=b"", duration_s=0.0)
        return result

    mp = pytest.MonkeyPatch()
    mp.setattr(ingest, "load_or_reject", buggy_loader)
    try:
        with pytest.raises(local_runner.RunFailed) as failure:
            local_runner.run(config, tasks=["ter"])
    finally:
        mp.undo()
    return config, failure.value


def test_the_run_stops_at_the_data_gate_before_the_transform(stopped_run):
    config, failure = stopped_run
    assert failure.summary.failed == "DataGate"
    record = run_metadata.read_run(run_metadata.open_store(config.metadata_path))
    assert record.node("ExampleValidator").state == "COMPLETE"
    assert record.node("DataGate").state == "FAILED"
    assert record.node("Transform") is None and record.node("Trainer.ter") is None


def test_the_summary_names_each_anomaly(stopped_run):
    _, failure = stopped_run
    text = "\n".join(failure.summary.lines())
    assert "anomalies" in text
    assert any("emotion" in a and "joyful" in a for a in failure.summary.anomalies), text
    assert any("duration_s" in a and "audio missing" in a for a in failure.summary.anomalies), text
    assert "ter: not evaluated" in text
    assert "joyful" in str(failure.cause)


def test_the_report_shows_the_anomalies(stopped_run):
    _, failure = stopped_run
    page = Path(failure.summary.report_path).read_text()
    assert "Anomalies that stopped the run" in page and "joyful" in page
    assert (Path(failure.summary.report_path).parent / "anomalies.html").exists()
