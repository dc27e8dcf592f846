"""The runtime dataset fingerprint: a changed dataset reruns ingestion, an unchanged one not."""

from __future__ import annotations

import csv
import os

import pytest
from tfx import v1 as tfx

from components.example_gen.component import EmotionExampleGen
from components.example_gen.driver import FINGERPRINT_PROPERTY, dataset_fingerprint
from pipeline import run_metadata
from pipeline.configs import get_preset
from tests.example_gen.conftest import write_wav


def _manifest(data, n: int) -> None:
    with open(data / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio_path", "text", "emotion", "speaker"])
        for i in range(n):
            w.writerow([f"u{i}", f"c{i}.wav", f"words number {i}", ("happy", "sad")[i % 2],
                        f"s{i % 3}"])


@pytest.fixture
def dataset(tmp_path):
    data = tmp_path / "data"
    for i in range(12):
        write_wav(data / f"c{i}.wav", seconds=0.2)
    _manifest(data, 10)
    return data


def test_fingerprint_sees_every_kind_of_change(dataset):
    first = dataset_fingerprint(str(dataset))
    assert dataset_fingerprint(str(dataset)) == first  # stable, and order-independent
    assert first.startswith("files:13,")
    wav = dataset / "c3.wav"
    st = os.stat(wav)
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # touched
    touched = dataset_fingerprint(str(dataset))
    assert touched != first
    os.rename(wav, dataset / "c3b.wav")  # renamed
    assert dataset_fingerprint(str(dataset)) not in (first, touched)
    # A manifest file as data root fingerprints its folder too (the files it names live there).
    assert dataset_fingerprint(str(dataset / "manifest.csv")) != dataset_fingerprint(str(dataset))


def test_missing_data_root_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*--data-root"):
        dataset_fingerprint(str(tmp_path / "nowhere"))


def _ingest(dataset, root) -> tuple[str, dict]:
    """Runs EmotionExampleGen alone with TFX's cache; returns its examples URI and report."""
    from components.artifacts import read_ingest_report

    metadata = root / "metadata.sqlite"
    preset = get_preset("manifest").replace(require_text=True, require_audio=True)
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name="fingerprint-test", pipeline_root=str(root / "pipeline"),
        components=[EmotionExampleGen(preset=preset, data_root=str(dataset))],
        enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(metadata)),
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"]))
    examples = run_metadata.latest_output(str(metadata), "EmotionExampleGen", "examples")
    report = run_metadata.latest_output(str(metadata), "EmotionExampleGen", "report")
    return examples, read_ingest_report(report)


def _examples_fingerprints(root) -> list[str]:
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(root / "metadata.sqlite")
    store = metadata_store.MetadataStore(config)
    return [a.custom_properties[FINGERPRINT_PROPERTY].string_value
            for a in store.get_artifacts_by_type("Examples")]


def test_changed_dataset_reruns_ingestion_and_unchanged_one_is_cached(dataset, tmp_path):
    root = tmp_path / "run"
    first, report = _ingest(dataset, root)
    assert report["written"] == 10
    again, _ = _ingest(dataset, root)
    assert again == first, "an unchanged dataset must be a cache hit"

    _manifest(dataset, 12)  # two more clips: same files, a changed manifest
    changed, report = _ingest(dataset, root)
    assert changed != first, "a changed dataset must rerun ingestion"
    assert report["written"] == 12
    fingerprints = _examples_fingerprints(root)
    assert len(fingerprints) == 2 and len(set(fingerprints)) == 2
    assert fingerprints[-1] == dataset_fingerprint(str(dataset))
