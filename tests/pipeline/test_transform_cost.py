"""The Transform's savings change nothing a model reads.

The pipeline's Transform skips TFX's pre/post-transform statistics and the analyzer cache
(docs/scaling.md, "The Transform near its kernel"). This runs the pipeline up to its Transform
on a small demo corpus (speech and text), reruns TFX's Transform executor with TFX's defaults
(both on) on the same examples, and checks that the transformed examples (every feature of every
row) and the transform graph's vocabularies equal the pipeline's. Two Transforms: `make
test-slow`.
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from pipeline import demo_corpus, run_metadata
from pipeline import pipeline as pipeline_def
from pipeline.configs import RunConfig, get_preset

pytestmark = pytest.mark.slow
SPLITS = ("train", "eval")


def _rows(examples_uri: str, split: str) -> list[dict]:
    """Every transformed example as {feature: values}, in a canonical order (the rows carry no
    id, and Beam's write order is not part of the contract)."""
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    assert files, f"no records under {examples_uri} for {split}"
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        feats = tf.train.Example.FromString(record).features.feature
        rows.append({name: np.asarray(getattr(f, f.WhichOneof("kind")).value)
                     for name, f in feats.items()})
    return sorted(rows, key=lambda r: [tuple(np.round(r[k], 3)) if r[k].dtype.kind in "fiu"
                                       else tuple(r[k]) for k in sorted(r)])  # (speaker: bytes)


def _artifact(cls, uri: str, splits=SPLITS):
    from tfx.types import artifact_utils

    a = cls()
    a.uri = uri
    if splits:
        a.split_names = artifact_utils.encode_split_names(list(splits))
    return a


def test_transform_without_statistics_and_cache_writes_what_tfx_defaults_write(tmp_path):
    from tfx import v1 as tfx
    from tfx.components.transform import executor as transform
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    demo_corpus.generate(tmp_path / "data", demo_corpus.DemoCorpusConfig(
        n_speakers=2, utterances_per_class_per_speaker=3))
    config = RunConfig(preset=get_preset("demo"), data_root=str(tmp_path / "data"),
                       output_dir=str(tmp_path / "artifacts"))
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    prefix = pipeline_def.create_pipeline(
        config, features_only=True, metadata_connection_config=tfx.orchestration.metadata
        .sqlite_metadata_connection_config(config.metadata_path))
    tfx.orchestration.LocalDagRunner().run(prefix)
    component = next(c for c in prefix.components if c.id == "Transform")
    props = dict(component.exec_properties)
    assert props["disable_statistics"]
    assert "updated_analyzer_cache" not in component.outputs  # TFX: disable_analyzer_cache

    def output(node: str, key: str) -> str:
        uri = run_metadata.latest_output(config.metadata_path, node, key)
        assert uri, (node, key)
        return uri

    examples = _artifact(standard_artifacts.Examples, output("EmotionExampleGen", "examples"))
    examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    schema = _artifact(standard_artifacts.Schema, output("DataGate", "checked_schema"), ())
    # TFX's defaults: statistics and the analyzer cache on.
    defaults = {"preprocessing_fn": props["preprocessing_fn"],
                "custom_config": json.dumps(json.loads(props["custom_config"]))}
    before = tmp_path / "tfx_defaults"
    transform.Executor().Do(
        {"examples": [examples], "schema": [schema]},
        {"transform_graph": [_artifact(standard_artifacts.TransformGraph,
                                       str(before / "graph"), ())],
         "transformed_examples": [_artifact(standard_artifacts.Examples,
                                            str(before / "examples"))],
         "updated_analyzer_cache": [_artifact(standard_artifacts.TransformCache,
                                              str(before / "cache"), ())]},
        defaults)
    assert os.path.exists(os.path.join(
        before, "graph", tft.TFTransformOutput.PRE_TRANSFORM_FEATURE_STATS_PATH))

    ours = output("Transform", "transformed_examples")
    for split in SPLITS:
        want, got = _rows(str(before / "examples"), split), _rows(ours, split)
        assert len(got) == len(want) > 0, split
        for g, w in zip(got, want, strict=True):  # same features; float32 sums in any order
            assert g.keys() == w.keys(), split
            for name in w:
                if w[name].dtype.kind not in "fiu":  # the speaker id, passed through
                    np.testing.assert_array_equal(g[name], w[name], err_msg=f"{split} {name}")
                    continue
                np.testing.assert_allclose(g[name], w[name], rtol=1e-5, atol=1e-5,
                                           err_msg=f"{split} {name}")
    want_graph = tft.TFTransformOutput(str(before / "graph"))
    got_graph = tft.TFTransformOutput(output("Transform", "transform_graph"))
    assert got_graph.transformed_feature_spec() == want_graph.transformed_feature_spec()
    vocab_dir = os.path.join(want_graph.transform_savedmodel_dir, "assets")
    for name in sorted(os.listdir(vocab_dir)):
        assert (got_graph.vocabulary_by_name(name) == want_graph.vocabulary_by_name(name)), name
