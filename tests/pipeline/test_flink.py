"""The Beam components on a real Apache Flink cluster, on the demo corpus and on real data.

Needs the session cluster of `scripts/flink_cluster.sh start` (a JobManager and two TaskManagers
as separate JVMs on loopback, each running its Python work in SDK worker processes); `make
test-flink` and `.ci/run` start and stop it.

- The demo run goes whole through Flink (ExampleGen, StatisticsGen, Transform, the Evaluator)
  and must end with a pushed model; for time it trains the fusion task only (the one that reads
  text and audio), since the real-data runs below compare what the runners compute. Its clips
  run up to the contract's longest (`features.max_duration_s`, 30 s: ~1 MB of WAV a record), so
  every Beam stage's batching and the TaskManagers' memory meet the largest record allowed.
- All 1440 RAVDESS clips and PsychExp's 7480 texts go through ExampleGen, StatisticsGen and
  Transform on Flink and on the DirectRunner: examples, statistics, schema and transformed
  features (PsychExp: the TF-IDF vocabulary too) must be equal. Skipped, saying why, where the
  team's datasets (../shared/datasets) are absent.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from components.core import contract
from pipeline import demo_corpus, local_runner, run_metadata
from pipeline.configs import RunConfig, get_preset, shared_dataset_root

pytestmark = pytest.mark.flink

FLINK_MASTER = os.environ.get("MER_FLINK_MASTER", "localhost:8081")
SPLITS = ("train", "eval")
DEMO_TASKS = ("mer",)  # the fusion task reads text and audio: every Transform path


def _rest(path: str):
    with urllib.request.urlopen(f"http://{FLINK_MASTER}{path}", timeout=10) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def flink_master() -> str:
    try:
        overview = _rest("/overview")
    except OSError as e:
        pytest.skip(f"no Flink cluster at {FLINK_MASTER} ({e}); `make test-flink` starts one "
                    f"with scripts/flink_cluster.sh")
    assert overview["taskmanagers"] >= 1, overview
    return FLINK_MASTER


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, flink_master):
    """The whole demo run of the fusion task on Flink (the real-data runs below compare the
    runners' outputs; one Evaluator on Flink is what this adds)."""
    root = tmp_path_factory.mktemp("flink-demo")
    data_root = root / "data"
    preset = get_preset("demo")
    demo_corpus.generate(data_root, demo_corpus.DemoCorpusConfig(
        n_speakers=4, utterances_per_class_per_speaker=4,
        duration_s=(1.5, preset.features.max_duration_s)))
    # The wiring is under test, not the models: few epochs, and a gate that lets them through.
    preset = preset.replace(
        train=dataclasses.replace(preset.train, epochs=5),
        gate=dataclasses.replace(preset.gate, min_accuracy=0.0, baseline_margin=1.0))
    flink = RunConfig(preset=preset, data_root=str(data_root), output_dir=str(root / "flink"),
                      runner="flink", flink_master=flink_master)
    jobs_before = {j["jid"] for j in _rest("/jobs/overview")["jobs"]}
    summary = local_runner.run(flink, tasks=DEMO_TASKS)
    jobs = [j for j in _rest("/jobs/overview")["jobs"] if j["jid"] not in jobs_before]
    return {"flink": flink, "summary": summary, "jobs": jobs}


REAL_DATASETS = ("ravdess", "psychexp")


@pytest.fixture(scope="module", params=REAL_DATASETS)
def runs(request, tmp_path_factory, flink_master):
    """A real dataset through ExampleGen, StatisticsGen and Transform on Flink and on the
    DirectRunner (the same data, preset and split)."""
    name = request.param
    data_root = shared_dataset_root(name)
    if data_root is None:
        pytest.skip(f"../shared/datasets/{name} is absent (the team's datasets sit beside the "
                    f"checkout); the real-data Flink comparison needs it")
    root = tmp_path_factory.mktemp(f"flink-{name}")
    preset = get_preset(name)
    flink = RunConfig(preset=preset, data_root=data_root, output_dir=str(root / "flink"),
                      runner="flink", flink_master=flink_master)
    direct = RunConfig(preset=preset, data_root=data_root, output_dir=str(root / "direct"))
    for config in (flink, direct):
        local_runner.run_prefix(config, "Transform")
    return {"flink": flink, "direct": direct, "name": name}


def _output(config: RunConfig, component: str, key: str) -> str:
    path = run_metadata.latest_output(config.metadata_path, component, key)
    assert path, f"{component} wrote no {key} under {config.pipeline_root}"
    return path


def _records(split_dir: str) -> list[bytes]:
    files = sorted(glob.glob(os.path.join(split_dir, "*")))
    assert files, f"no records in {split_dir}"
    return list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())


def _feature_values(example: tf.train.Example) -> dict:
    out = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        out[name] = list(getattr(feature, kind).value) if kind else []
    return out


def test_every_beam_component_ran_as_a_flink_job(demo_run):
    # ExampleGen, StatisticsGen, Transform and one Evaluator per task.
    jobs = demo_run["jobs"]
    assert len(jobs) >= 3 + len(DEMO_TASKS), jobs
    assert {j["state"] for j in jobs} == {"FINISHED"}, jobs


def test_the_demo_run_carried_clips_near_the_longest_allowed(demo_run):
    """The records that went through Flink: the longest within 15% of the contract's limit."""
    import soundfile as sf

    flink = demo_run["flink"]
    longest = max(sf.info(p).duration for p in glob.glob(
        os.path.join(flink.data_root, "**", "*.wav"), recursive=True))
    limit = flink.preset.features.max_duration_s
    assert 0.85 * limit <= longest <= limit, (longest, limit)


def test_the_whole_demo_run_on_flink_pushes_the_model(demo_run):
    summary = demo_run["summary"]
    assert [t.task for t in summary.tasks] == list(DEMO_TASKS)
    for t in summary.tasks:
        assert t.blessed and t.pushed_this_run, t
        version_dir = os.path.join(t.serving_dir, t.pushed_version)
        assert os.path.exists(os.path.join(version_dir, "saved_model.pb")), version_dir
    assert summary.ingest["written"] > 0
    assert summary.ingest["written"] + summary.ingest["quarantined"] == summary.ingest["listed"]


def test_examples_equal_the_direct_runners(runs):
    for split in SPLITS:
        by_runner = {}
        for name in ("flink", "direct"):
            split_dir = os.path.join(_output(runs[name], "EmotionExampleGen", "examples"),
                                     f"Split-{split}")
            rows = {}
            for record in _records(split_dir):
                values = _feature_values(tf.train.Example.FromString(record))
                rows[values[contract.ID][0].decode()] = values
            by_runner[name] = rows
        assert by_runner["flink"].keys() == by_runner["direct"].keys(), split
        assert len(by_runner["flink"]) > 0
        for clip_id, values in by_runner["direct"].items():
            assert by_runner["flink"][clip_id] == values, (split, clip_id)


def _stats(config: RunConfig, split: str):
    import tensorflow_data_validation as tfdv

    path = os.path.join(_output(config, "StatisticsGen", "statistics"), f"Split-{split}",
                        "FeatureStats.pb")
    return tfdv.load_stats_binary(path).datasets[0]


def test_statistics_equal_the_direct_runners(runs):
    for split in SPLITS:
        flink, direct = _stats(runs["flink"], split), _stats(runs["direct"], split)
        assert flink.num_examples == direct.num_examples > 0
        features = {f.path.step[0]: f for f in flink.features}
        assert features.keys() == {f.path.step[0] for f in direct.features}
        for want in direct.features:
            got = features[want.path.step[0]]
            name = want.path.step[0]
            assert got.type == want.type, name
            kind = want.WhichOneof("stats")
            assert got.WhichOneof("stats") == kind, name
            got_stats, want_stats = getattr(got, kind), getattr(want, kind)
            assert (got_stats.common_stats.num_non_missing
                    == want_stats.common_stats.num_non_missing), name
            assert got_stats.common_stats.num_missing == want_stats.common_stats.num_missing
            if kind == "num_stats":
                for field in ("mean", "std_dev", "min", "max", "median"):
                    assert getattr(got_stats, field) == pytest.approx(
                        getattr(want_stats, field), rel=1e-6, abs=1e-9), (name, field)
            elif kind == "string_stats":
                assert got_stats.unique == want_stats.unique, name
                assert ({v.value: v.frequency for v in got_stats.top_values}
                        == {v.value: v.frequency for v in want_stats.top_values}), name


def test_schema_equals_the_direct_runners(runs):
    """The schema the Transform read (the contract schema as the DataGate passed it on): same
    features, types, shapes, presence and domains. Listing order is not compared."""
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tfx.utils import io_utils

    def schema(config) -> schema_pb2.Schema:
        path = os.path.join(_output(config, "DataGate", "checked_schema"), "schema.pbtxt")
        parsed = io_utils.parse_pbtxt_file(path, schema_pb2.Schema())
        features = sorted(parsed.feature, key=lambda f: f.name)
        domains = sorted(parsed.string_domain, key=lambda d: d.name)
        for d in domains:
            d.value[:] = sorted(d.value)
        del parsed.feature[:]
        parsed.feature.extend(features)
        del parsed.string_domain[:]
        parsed.string_domain.extend(domains)
        return parsed

    flink, direct = schema(runs["flink"]), schema(runs["direct"])
    assert [f.name for f in flink.feature] == [f.name for f in direct.feature]
    assert flink == direct


def _transformed(config: RunConfig, split: str) -> tuple[list[str], np.ndarray, dict]:
    """Rows of every numeric transformed feature, flattened and concatenated in name order,
    and each string feature's values, sorted (e.g. the raw text a text encoder reads)."""
    import tensorflow_transform as tft

    tft_output = tft.TFTransformOutput(_output(config, "Transform", "transform_graph"))
    spec = tft_output.transformed_feature_spec()
    split_dir = os.path.join(_output(config, "Transform", "transformed_examples"),
                             f"Split-{split}")
    parsed = tf.io.parse_example(tf.constant(_records(split_dir)), spec)
    names = sorted(k for k in spec if spec[k].dtype != tf.string)
    n = int(parsed[names[0]].shape[0])
    rows = np.concatenate([tf.cast(parsed[k], tf.float64).numpy().reshape(n, -1)
                           for k in names], axis=1)
    strings = {k: sorted(parsed[k].numpy().reshape(-1).tolist())
               for k in sorted(spec) if spec[k].dtype == tf.string}
    return names, rows, strings


def _pair_rows(flink: np.ndarray, direct: np.ndarray, chunk: int = 32) -> np.ndarray:
    """For each Flink row, its nearest DirectRunner row and the distance (max abs difference);
    in chunks, so 1440 rows of ~600 values stay small in memory."""
    nearest, distance = [], []
    for start in range(0, len(flink), chunk):
        d = np.abs(flink[start:start + chunk, None, :] - direct[None, :, :]).max(axis=2)
        nearest.append(d.argmin(axis=1))
        distance.append(d.min(axis=1))
    return np.concatenate(nearest), np.concatenate(distance)


def test_transformed_features_equal_the_direct_runners(runs):
    import tensorflow_transform as tft

    from components.transform import preprocessing as pp

    for split in SPLITS:
        names, flink, flink_strings = _transformed(runs["flink"], split)
        direct_names, direct, direct_strings = _transformed(runs["direct"], split)
        assert names == direct_names and flink.shape == direct.shape
        assert flink_strings == direct_strings, split
        if runs["name"] == "psychexp":
            # 7480 texts x 2201 TF-IDF columns: pairing rows would cost minutes; the column
            # sums and sorted row sums are order-free (the vocabulary is compared below).
            np.testing.assert_allclose(flink.sum(axis=0), direct.sum(axis=0), rtol=1e-5,
                                       atol=1e-4, err_msg=split)
            np.testing.assert_allclose(np.sort(flink.sum(axis=1)), np.sort(direct.sum(axis=1)),
                                       rtol=1e-5, atol=1e-5, err_msg=split)
            continue
        # The runners write rows in different orders: pair each Flink row with its nearest
        # DirectRunner row; equal outputs pair one to one at (float32) zero distance. The
        # speech encoder's float32 matmuls round by batch shape (the runners batch clips
        # differently): 1e-6 on a pooled state, up to 1e-4 on a z-scored row of 1592 values
        # whose norm is about 40, while distinct clips' rows lie units apart.
        nearest, distance = _pair_rows(flink, direct)
        assert sorted(nearest) == list(range(len(direct))), split
        assert distance.max() < 1e-3, split
    labels = [pp.label_names(tft.TFTransformOutput(_output(runs[r], "Transform",
                                                           "transform_graph")))
              for r in ("flink", "direct")]
    assert labels[0] == labels[1] == list(runs["flink"].preset.labels)


def test_vocabularies_equal_the_direct_runners(runs):
    """Every vocabulary the Transform computed (PsychExp's TF-IDF n-grams, the label names),
    entry for entry and in order (tf.Transform orders by frequency, then by value)."""
    import tensorflow_transform as tft

    vocabularies = {}
    for name in ("flink", "direct"):
        graph = _output(runs[name], "Transform", "transform_graph")
        folder = os.path.join(graph, tft.TFTransformOutput.TRANSFORM_FN_DIR, "assets")
        vocabularies[name] = {
            f: tf.io.gfile.GFile(os.path.join(folder, f), "rb").read()
            for f in sorted(tf.io.gfile.listdir(folder))}
    assert vocabularies["flink"] == vocabularies["direct"]
    if runs["name"] == "psychexp":
        assert len(vocabularies["direct"]["text_ngrams"].splitlines()) > 100
