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
