"""`duration_s: auto`: the Transform picks the clip length from the data, then pads/trims to it."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf

from components.core import features as ft
from components.core.config import FeatureConfig
from components.transform import preprocessing as pp
from pipeline.configs import PRESETS

SR = 16000
# 20 clips of 0.5 .. 2.4 s and one clip without audio (left out of the statistic).
LENGTHS_S = [0.5 + 0.1 * i for i in range(20)]


def _wav(seconds: float, freq: float) -> bytes:
    import soundfile as sf

    t = np.arange(int(round(seconds * SR))) / SR
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * freq * t), SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _transform(features: FeatureConfig, tmp_path, name: str):
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    preset = PRESETS["ravdess"].replace(features=features)
    spec = {"audio": tf.io.FixedLenFeature([1], tf.string),
            "label": tf.io.FixedLenFeature([1], tf.int64)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
    rows = [{"audio": [_wav(s, 200 + 20 * i)], "label": [i % 2]}
            for i, s in enumerate(LENGTHS_S)] + [{"audio": [b""], "label": [0]}]
    config = {"preset": preset.to_json(), "tasks": ["ser"]}
    out_dir = str(tmp_path / name)
    with tft_beam.Context(temp_dir=str(tmp_path / f"{name}-tmp"), force_tf_compat_v1=False):
        ((transformed, _), transform_fn) = ((rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: pp.preprocessing_fn(inputs, config), output_record_batches=False))
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
    features_out = np.stack([row[ft.AUDIO_FEATURES] for row in transformed])
    return features_out, tft.TFTransformOutput(out_dir)


def test_auto_duration_covers_the_configured_share_and_matches_that_fixed_length(tmp_path):
    auto = FeatureConfig(duration_s="auto", duration_coverage=0.9, max_duration_s=5.0)
    feats_auto, output = _transform(auto, tmp_path, "auto")
    chosen = pp.auto_duration_s(output)
    # 90% of the 20 clips are <= 2.3 s (clip 18 of 20); approximate quantiles may land a
    # neighbouring clip length, never outside them.
    assert chosen is not None and 2.2 - 1e-3 <= chosen <= 2.4 + 1e-3, chosen
    covered = np.mean(np.asarray(LENGTHS_S) <= chosen + 1e-6)
    assert 0.85 <= covered <= 0.95
    # Same features as a fixed-length run at the chosen length: auto only decides the length.
    feats_fixed, fixed_output = _transform(FeatureConfig(duration_s=chosen), tmp_path, "fixed")
    assert pp.auto_duration_s(fixed_output) is None
    assert feats_auto.shape == feats_fixed.shape == (len(LENGTHS_S) + 1, 180)
    np.testing.assert_allclose(feats_auto, feats_fixed, atol=1e-5)

    # The exported transform graph carries the length: serving pads/trims a long clip the same.
    layer = output.transform_features_layer()
    long_clip = tf.constant([[_wav(4.0, 300)]])
    served = layer({"audio": long_clip})[ft.AUDIO_FEATURES].numpy()
    fixed_layer = fixed_output.transform_features_layer()
    expected = fixed_layer({"audio": long_clip})[ft.AUDIO_FEATURES].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_auto_duration_with_frame_features_is_a_clear_error():
    preset = PRESETS["ravdess"].replace(features=FeatureConfig(duration_s="auto"))
    inputs = {"audio": tf.constant([[_wav(1.0, 200)]])}
    with pytest.raises(ValueError, match="log_mel.*number of seconds"):
        pp.transform_features(inputs, preset, ("ser",), extra=(ft.LOG_MEL,))


@pytest.mark.parametrize("value, expected", [("2.5", 2.5), (3, 3.0), ("auto", "auto")])
def test_duration_values(value, expected):
    assert FeatureConfig(duration_s=value).duration_s == expected


@pytest.mark.parametrize("kwargs, match", [
    ({"duration_s": "long"}, "seconds or 'auto'"),
    ({"duration_s": 0}, r"\(0, 600\]"),
    ({"duration_coverage": 1.5}, "share of clips"),
])
def test_bad_duration_settings_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureConfig(**kwargs)


def test_studies_need_a_fixed_duration():
    with pytest.raises(ValueError, match="feature study needs a fixed clip length"):
        FeatureConfig(duration_s="auto").fixed_duration_s("the feature study")


def test_auto_survives_the_preset_json_round_trip():
    from components.core.config import Preset

    preset = PRESETS["ravdess"].replace(features=FeatureConfig(duration_s="auto"))
    assert Preset.from_json(preset.to_json()).features.auto_duration
