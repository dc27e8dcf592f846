"""Reads spread over the workers on Flink and Spark (`components/core/spread.py`).

What a user on a cluster relies on: the Transform's reads are shuffled right after the raw
records, so its Python work runs in every worker, and nothing is lost or duplicated by it; a
local run keeps its reads as they were. (That a second TaskManager then speeds the Transform up
is measured by benchmarks/scaling.py, docs/scaling.md.)
"""

from __future__ import annotations

import pytest

from components.core.spread import needs_spread, spread_reads
from pipeline.beam_args import beam_pipeline_args

# These tests build a Flink run's arguments but start no job, so they name a job server jar
# instead of finding the local cluster's: `make test` runs before `.ci/run` installs Flink, and
# on a new machine there is none yet.
FLINK = dict(flink_master="localhost:8081", flink_job_server_jar="/opt/flink/job-server.jar")


@pytest.mark.parametrize("args, spread", [
    (beam_pipeline_args("direct"), False),
    (beam_pipeline_args("direct", beam_mode="multi_processing", beam_workers=2), False),
    (beam_pipeline_args("flink", **FLINK), True),
    (["--runner=SparkRunner"], True),
    (["--runner=PortableRunner", "--job_endpoint=localhost:8099"], True),
    (["--runner=DataflowRunner", "--project=p", "--region=r"], False),
    ([], False),
])
def test_only_runners_that_keep_a_read_in_one_partition_are_spread(args, spread):
    assert needs_spread(args) is spread


def _examples(path: str, n: int) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as w:
        for i in range(n):
            w.write(tf.train.Example(features=tf.train.Features(feature={
                "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"%d" % i]))}))
                .SerializeToString())


def test_a_spread_read_shuffles_the_raw_records_and_keeps_every_one(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to
    from tfx_bsl.tfxio.tf_example_record import TFExampleRecord

    path = str(tmp_path / "examples.tfrecord")
    _examples(path, 50)
    tfxio = spread_reads(TFExampleRecord(path))
    with beam.Pipeline() as p:
        ids = (p | "Source" >> tfxio.BeamSource(batch_size=7)
               | beam.FlatMap(lambda batch: [v[0] for v in batch.column("id").to_pylist()]))
        assert_that(ids, equal_to([b"%d" % i for i in range(50)]))
    reshuffles = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            if isinstance(node.transform, beam.Reshuffle):
                reshuffles.append(node.full_label)

    p.visit(Visitor())
    # Between the raw records and their decoding into record batches.
    assert reshuffles == ["Source/RawRecordBeamSource/Spread"], reshuffles


def test_the_transform_spreads_its_reads_on_flink_only(tmp_path):
    """Through TFX's TransformProcessor, which decides the reads (not the executor)."""
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tfx.components.transform import executor as tfx_transform
    from tfx.proto import example_gen_pb2
    from tfx_bsl.tfxio.tf_example_record import TFExampleRecord

    from components.transform import executor as transform_executor

    path = str(tmp_path / "examples.tfrecord")
    _examples(path, 3)

    class Dataset:  # what TFX's Transform passes _CreateTFXIO
        file_pattern = path
        file_format = "tfrecords_gzip"
        data_format = example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE
        data_view_uri = None

    for args, spread in [(beam_pipeline_args("direct"), False),
                         (beam_pipeline_args("flink", **FLINK), True)]:
        with transform_executor._processor(30.0, needs_spread(args)):
            # What TFX's executor constructs inside Do.
            processor = tfx_transform.TransformProcessor()
            tfxio = processor._CreateTFXIO(Dataset(), schema_pb2.Schema())
        assert isinstance(tfxio, TFExampleRecord)
        assert ("RawRecordBeamSource" in vars(tfxio)) is spread
    assert tfx_transform.TransformProcessor is transform_executor._TFX_PROCESSOR


def test_statistics_gen_spreads_its_reads_inside_its_run_only(tmp_path):
    from tfx.components.statistics_gen import executor as tfx_statistics_gen
    from tfx.types import standard_artifacts

    from components.statistics_gen import executor as statistics_executor
    from pipeline import pipeline as pipeline_def
    from pipeline.configs import RunConfig, get_preset

    config = RunConfig(preset=get_preset("ravdess"), data_root="/data",
                       output_dir=str(tmp_path), runner="flink", **FLINK)
    components = {c.id: c for c in pipeline_def.create_pipeline(
        config, features_only=True).components}
    assert components["StatisticsGen"].executor_spec.executor_class \
        is statistics_executor.Executor

    (tmp_path / "Split-train").mkdir()
    _examples(str(tmp_path / "Split-train" / "data.tfrecord"), 3)
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path)
    examples.split_names = '["train"]'
    utils = tfx_statistics_gen.tfxio_utils
    original = utils.get_split_tfxio
    with statistics_executor.spread_split_reads():
        tfxio = utils.get_split_tfxio(examples=[examples], split="train",
                                      telemetry_descriptors=["test"])
        assert "RawRecordBeamSource" in vars(tfxio)
    assert utils.get_split_tfxio is original
    assert "RawRecordBeamSource" not in vars(original(
        examples=[examples], split="train", telemetry_descriptors=["test"]))
