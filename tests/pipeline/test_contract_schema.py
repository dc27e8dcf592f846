"""The contract schema makes ExampleValidator's checks real: TFDV, run on statistics of
examples that break the contract, reports each break; clean contract examples pass."""

from __future__ import annotations

import pytest

from components.core import contract
from components.core.wav import tone_wav
from pipeline.configs import get_preset


def _utterance(**changes) -> contract.Utterance:
    fields = dict(id="u", dataset="demo", speaker="s1", gender="female", text="hello there",
                  audio=tone_wav(0.2), label=1, emotion="happy", duration_s=0.2)
    fields.update(changes)
    return contract.Utterance(**fields)


def _anomalies(preset, utterances, raw_examples=()) -> dict[str, str]:
    """feature -> anomaly description, validating like the pipeline does."""
    import tensorflow_data_validation as tfdv
    from tensorflow_data_validation.statistics import stats_impl
    from tfx_bsl.coders import example_coder

    from components.example_gen.tf_example import to_example
    from pipeline.contract_schema import contract_schema

    serialized = [to_example(u).SerializeToString() for u in utterances]
    serialized += [raw.SerializeToString() for raw in raw_examples]
    batch = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(serialized)
    schema = contract_schema(preset)
    # In memory (no Beam job): the same statistics generators StatisticsGen runs.
    stats = stats_impl.generate_statistics_in_memory(batch, tfdv.StatsOptions(schema=schema))
    found = tfdv.validate_statistics(stats, schema)
    return {k: f"{v.short_description}: {v.description}" for k, v in found.anomaly_info.items()}


@pytest.fixture
def demo():
    return get_preset("demo")


def test_contract_examples_pass(demo):
    clean = [_utterance(id=f"u{i}", label=i % 4, emotion=demo.labels[i % 4]) for i in range(8)]
    assert _anomalies(demo, clean) == {}


def test_a_label_outside_the_presets_set_is_an_anomaly(demo):
    found = _anomalies(demo, [_utterance(), _utterance(id="x", emotion="joyful",
                                                                 label=7)])
    assert "joyful" in found[contract.EMOTION]
    assert contract.LABEL in found  # 7 is outside 0..3


def test_missing_audio_is_an_anomaly_where_the_preset_requires_audio(demo):
    rows = [_utterance(), _utterance(id="silent", audio=b"", duration_s=0.0)]
    found = _anomalies(demo, rows)
    assert list(found) == [contract.DURATION_S] and "low" in found[contract.DURATION_S].lower()
    text_only = get_preset("psychexp")
    rows = [_utterance(emotion="joy", label=0, audio=b"", duration_s=0.0)]
    assert _anomalies(text_only, rows) == {}  # audio is not required there


def test_a_speaker_field_of_another_type_is_an_anomaly(demo):
    """A reader that starts writing speaker ids as integers (every example of the dataset)."""
    from components.example_gen.tf_example import to_example

    typed = []
    for i in range(4):
        example = to_example(_utterance(id=f"typed{i}"))
        example.features.feature[contract.SPEAKER].Clear()
        example.features.feature[contract.SPEAKER].int64_list.value.append(7 + i)
        typed.append(example)
    found = _anomalies(demo, [], raw_examples=typed)
    assert contract.SPEAKER in found and "INT" in found[contract.SPEAKER].upper(), found


def test_a_preset_that_infers_labels_only_asks_for_a_label():
    manifest = get_preset("manifest")
    rows = [_utterance(emotion="whatever", label=12, audio=b"", duration_s=0.0)]
    assert _anomalies(manifest, rows) == {}
    assert contract.LABEL in _anomalies(manifest, [_utterance(label=-1)])


def test_schema_file_is_named_by_its_content(tmp_path, demo):
    from pipeline.contract_schema import write_schema

    first = write_schema(demo, str(tmp_path))
    assert first == write_schema(demo, str(tmp_path))
    other = write_schema(demo.replace(labels=("calm", "angry")), str(tmp_path))
    assert other != first and "calm" in open(other).read()
