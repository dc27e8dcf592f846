"""Beam batches bounded by bytes of audio: the preset's longest clip sets StatisticsGen's and
the Transform's batch size; text-only data keeps the runners' dynamic batching."""

from __future__ import annotations

from components.core.batching import TARGET_BATCH_BYTES, audio_batch_size
from components.transform import executor as transform_executor
from pipeline import pipeline as pipeline_def
from pipeline.configs import RunConfig, get_preset


def test_the_longest_clip_bounds_the_batch():
    # 30 s of 16 kHz 16-bit audio is 0.96 MB: 69 clips fill 64 MiB; longer clips, fewer.
    assert audio_batch_size(30.0) == 69
    assert audio_batch_size(30.0) * 30 * 16_000 * 2 <= TARGET_BATCH_BYTES
    assert audio_batch_size(600.0) == 3
    assert audio_batch_size(30.0, has_audio=False) is None


def _components(preset: str, tmp_path):
    config = RunConfig(preset=get_preset(preset), data_root="/data", output_dir=str(tmp_path))
    p = pipeline_def.create_pipeline(config, features_only=True)
    return {c.id: c for c in p.components}


def test_audio_presets_bound_statistics_and_transform_batches(tmp_path):
    import tensorflow_data_validation as tfdv

    components = _components("ravdess", tmp_path)
    options = tfdv.StatsOptions.from_json(
        components["StatisticsGen"].exec_properties["stats_options_json"])
    preset = get_preset("ravdess")
    assert options.desired_batch_size == audio_batch_size(preset.features.max_duration_s)
    assert components["Transform"].executor_spec.executor_class is transform_executor.Executor


def test_text_presets_keep_dynamic_batching(tmp_path):
    components = _components("psychexp", tmp_path)
    assert not components["StatisticsGen"].exec_properties.get("stats_options_json")


def test_the_evaluator_runs_with_byte_size_batching(tmp_path):
    from components.evaluator import executor as evaluator_executor

    config = RunConfig(preset=get_preset("ravdess"), data_root="/data", output_dir=str(tmp_path))
    components = {c.id: c for c in pipeline_def.create_pipeline(config).components}
    evaluators = [c for name, c in components.items() if name.startswith("Evaluator")]
    assert evaluators
    for evaluator in evaluators:
        assert evaluator.executor_spec.executor_class is evaluator_executor.Executor


def _check_batches(path: str, n: int, record_bytes: int, max_bytes: int) -> None:
    """Runs the TFXIO source the Evaluator reads (raw records) and checks its batches' rows
    (in the matcher: Beam runs it on its side of the pickling boundary)."""
    import apache_beam as beam
    from apache_beam.testing.util import BeamAssertException, assert_that
    from tfx_bsl.tfxio.raw_tf_record import RawTfRecordTFXIO

    def check(rows):
        if sum(rows) != n or max(rows) * record_bytes > max_bytes:
            raise BeamAssertException(f"rows per batch {sorted(rows)}: {n} records of "
                                      f"{record_bytes} bytes, at most {max_bytes} bytes a batch")

    source = RawTfRecordTFXIO(path, raw_record_column_name="raw", telemetry_descriptors=["test"])
    with beam.Pipeline() as p:
        assert_that(p | source.BeamSource() | beam.Map(lambda b: b.num_rows), check)


def test_byte_size_batching_bounds_the_evaluators_batches(tmp_path):
    """Inside the executor's switch, no batch passes tfx-bsl's 20 MiB target by more than one
    record (Beam's adaptive batching, the default, grew past 25 MB on these 1000 records of 100
    KB); the switch is off again after (nothing else's batching changes)."""
    import tensorflow as tf
    from absl import flags
    from tfx_bsl.coders import batch_util

    from components.evaluator.executor import BYTE_SIZE_BATCHING_FLAG, byte_size_batching

    record_bytes, n = 100 * 1024, 1000
    path = str(tmp_path / "records.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(n):
            writer.write(bytes([i % 256]) * record_bytes)
    parsed_before = flags.FLAGS.is_parsed()  # other tests in the session may have parsed them
    with byte_size_batching():
        _check_batches(path, n, record_bytes, 20 * 1024 * 1024 + record_bytes)
    assert batch_util.GetBatchElementsKwargs(None)["max_batch_size"] == 1000
    assert flags.FLAGS.is_parsed() == parsed_before
    assert flags.FLAGS[BYTE_SIZE_BATCHING_FLAG].value is False


def test_the_transforms_batch_bound_reaches_tfxs_processor(monkeypatch):
    """TFX's executor asks its TransformProcessor for the batch size, inside Do: the bound must
    be there (an override on the executor alone is never called)."""
    import json

    from tensorflow_metadata.proto.v0 import schema_pb2
    from tfx.components.transform import executor as tfx_transform
    from tfx.proto import example_gen_pb2

    from components.core import contract

    schema = schema_pb2.Schema()
    schema.feature.add(name=contract.AUDIO)
    seen = {}

    def tfx_do(self, input_dict, output_dict, exec_properties):
        processor = tfx_transform.TransformProcessor()  # as TFX's Do builds it
        seen["size"] = processor._GetDesiredBatchSize(
            example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE, schema)

    monkeypatch.setattr(tfx_transform.Executor, "Do", tfx_do)
    preset = get_preset("ravdess")
    transform_executor.Executor().Do({}, {}, {"custom_config": json.dumps(
        {"preset": preset.part_json("features")})})
    assert seen["size"] == audio_batch_size(preset.features.max_duration_s)
    assert tfx_transform.TransformProcessor is transform_executor._TFX_PROCESSOR
    plain = tfx_transform.TransformProcessor()._GetDesiredBatchSize(
        example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE, schema)
    assert plain is None  # restored: TFX's own batching outside the executor
