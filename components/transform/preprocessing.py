"""The Transform module: `preprocessing_fn` for every preset.

Everything a model needs is computed here, in the TF graph, from the raw
contract fields (text string, WAV bytes), so the exported model accepts raw
inputs and serving computes exactly what training saw.
"""

from __future__ import annotations

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402

from components.core import contract  # noqa: E402
from components.core.config import FeatureConfig, Preset, PresetPart  # noqa: E402
from components.core.features import (  # noqa: E402
    AUDIO_FEATURES,
    LABEL,
    LOG_MEL,
    OPTIONAL_FEATURES,
    SPEAKER,
    TEXT_RAW,
    TEXT_TFIDF,
    WAVEFORM,
)
from components.core.tasks import uses_audio, uses_text  # noqa: E402
from components.transform import (  # noqa: E402
    audio_features,
    speech_encoder,
    text_features,
    wav_decode,
    whisper_weights,
)

# Vocabulary of "id:emotion" pairs seen in training: how label names travel
# with the transform graph even when a preset infers its label set from data.
LABEL_NAMES_VOCAB = "label_names"
# `duration_s: auto`: the chosen clip length in seconds, kept as a one-entry vocabulary.
AUTO_DURATION_VOCAB = "auto_duration_s"
# Quantile resolution for `duration_s: auto` (coverage is rounded to 1/_QUANTILE_BUCKETS).
_QUANTILE_BUCKETS = 200
_QUANTILE_EPSILON = 0.001


def _dense_1d(x, default):
    """Raw features arrive as [batch, 1] (or sparse if a schema says VarLen)."""
    if isinstance(x, tf.SparseTensor):
        x = tf.sparse.to_dense(x, default_value=default)
        x = tf.pad(x, [[0, 0], [0, 1]], constant_values=default)
        return x[:, 0]
    return tf.reshape(x, [-1])


def utterance_options(feats: FeatureConfig) -> dict:
    """``audio_features.utterance_features`` keyword arguments for a preset's features: the one
    mapping, so a study computing the vectors outside the Transform computes the same ones."""
    return dict(kinds=feats.audio_kinds, stats=feats.audio_stats, deltas=feats.audio_deltas,
                mel_db=feats.mel_db, segments=feats.audio_segments,
                active_db=feats.audio_active_db, prosody=feats.audio_prosody)


def utterance_vector(waveforms: tf.Tensor, params: audio_features.AudioFeatureParams,
                     feats: FeatureConfig) -> tf.Tensor:
    """The unscaled utterance vector a preset's Transform computes: the spectral and prosody
    statistics (``utterance_options``), then the speech encoder's pooled states when
    ``features.speech_encoder`` is set. The one definition, for the Transform and for studies."""
    utt = audio_features.utterance_features(waveforms, params, **utterance_options(feats))
    if not feats.speech_encoder:
        return utt
    if params.sample_rate != speech_encoder.SAMPLE_RATE:
        raise ValueError(f"features.speech_encoder needs {speech_encoder.SAMPLE_RATE} Hz audio, "
                         f"the Transform decodes at {params.sample_rate} Hz")
    encoder, layer = whisper_weights.load(feats.speech_encoder), feats.speech_encoder_layer
    weights = speech_encoder.constants(encoder, layer)  # once: in_chunks traces two paths
    states = audio_features.in_chunks(  # a few clips at a time: the encoder's activations
        lambda chunk: speech_encoder.pooled_states(chunk, encoder, layer, weights),
        waveforms, tf.TensorShape([speech_encoder.width(encoder)]))
    return tf.concat([utt, states], axis=1)


def transform_features(inputs: dict, preset: Preset, tasks, extra=()) -> dict:
    """Features for `tasks`; `extra` names optional features some model needs."""
    unknown = set(extra) - set(OPTIONAL_FEATURES)
    if unknown:
        raise ValueError(f"Unknown optional features {sorted(unknown)}; known {OPTIONAL_FEATURES}")
    outputs = {}
    feats = preset.features
    if uses_text(tasks):
        text = _dense_1d(inputs[contract.TEXT], "")
        if TEXT_RAW in extra:
            outputs[TEXT_RAW] = text
        outputs[TEXT_TFIDF] = text_features.tfidf(
            text, vocab_size=feats.tfidf_vocab_size, min_count=feats.tfidf_min_count,
            ngram_range=tuple(feats.tfidf_ngrams), stop_words=feats.stop_words,
        )
    if uses_audio(tasks):
        params = audio_features.AudioFeatureParams()
        wav = _dense_1d(inputs[contract.AUDIO], "")
        if feats.auto_duration:
            frame_features = sorted({f for f in (LOG_MEL, WAVEFORM) if f in extra}
                                    | ({LOG_MEL} if feats.with_log_mel else set()))
            if frame_features:
                raise ValueError(
                    f"features.duration_s 'auto' is decided by the analysis, but {frame_features}"
                    f" need a clip length known before it (their shape). Set duration_s to a "
                    f"number of seconds for models reading them.")
            max_samples = int(round(feats.max_duration_s * params.sample_rate))
            decoded, lengths = wav_decode.decode_wav(wav, max_samples)
            num_samples = auto_num_samples(lengths, feats.duration_coverage, max_samples,
                                           min_samples=params.n_fft,
                                           sample_rate=params.sample_rate)
            waveforms = decoded[:, :num_samples]
        else:
            num_samples = int(round(feats.duration_s * params.sample_rate))
            waveforms, _ = wav_decode.decode_wav(wav, num_samples)
        utt = utterance_vector(waveforms, params, feats)
        # Scaled with statistics from the train split (min-max, as in the reference, or z).
        if feats.audio_scaling == "z_score":
            outputs[AUDIO_FEATURES] = tft.scale_to_z_score(utt, elementwise=True)
        else:
            outputs[AUDIO_FEATURES] = tft.scale_to_0_1(utt, elementwise=True)
        if LOG_MEL in extra or feats.with_log_mel:
            # One global mean/variance (not per bin): keeps the spectro-temporal shape.
            outputs[LOG_MEL] = tft.scale_to_z_score(
                audio_features.log_mel_frames(waveforms, params), elementwise=False)
        if WAVEFORM in extra:
            outputs[WAVEFORM] = waveforms
    return outputs


def auto_num_samples(lengths: tf.Tensor, coverage: float, max_samples: int,
                     min_samples: int, sample_rate: int) -> tf.Tensor:
    """Clip length (samples) covering `coverage` of the analysed clips: a tft.quantiles analyzer.

    Why an analyzer: the length is then fixed by the train split once, written into the
    transform graph as a constant, and serving pads/trims exactly as training did. Clips
    without audio (length 0) are left out of the statistic. The chosen value is also stored
    as the vocabulary ``AUTO_DURATION_VOCAB`` (one entry, seconds) so run summaries can say it.
    """
    lengths = tf.cast(tf.reshape(lengths, [-1]), tf.float32)
    lengths = tf.boolean_mask(lengths, lengths > 0)
    if coverage >= 1.0:
        chosen = tft.max(lengths, reduce_instance_dims=True)
    else:
        boundaries = tf.reshape(
            tft.quantiles(lengths, num_buckets=_QUANTILE_BUCKETS, epsilon=_QUANTILE_EPSILON), [-1])
        index = min(max(int(round(coverage * _QUANTILE_BUCKETS)) - 1, 0), _QUANTILE_BUCKETS - 2)
        chosen = boundaries[index]
    samples = tf.clip_by_value(tf.math.ceil(chosen), float(min_samples), float(max_samples))
    samples = tf.cast(samples, tf.int32)
    seconds = tf.strings.as_string(tf.cast(samples, tf.float64) / sample_rate, precision=4)
    tft.vocabulary(tf.reshape(seconds, [1]), vocab_filename=AUTO_DURATION_VOCAB)
    return samples


def auto_duration_s(tft_output: tft.TFTransformOutput) -> float | None:
    """The clip length `duration_s: auto` chose in this Transform output (None: fixed length)."""
    try:
        entries = tft_output.vocabulary_by_name(AUTO_DURATION_VOCAB)
    except (ValueError, OSError, tf.errors.NotFoundError):
        return None
    if not entries:
        return None
    entry = entries[0]
    return float(entry.decode() if isinstance(entry, bytes) else entry)


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """tf.Transform entry point; `custom_config` carries the preset fields this reads (the
    pipeline's TRANSFORM_FIELDS), the tasks, the optional features and a `code_version` (unread
    here: it keys TFX's cache on this package's source)."""
    preset = PresetPart.from_json(custom_config["preset"])
    outputs = transform_features(
        inputs, preset, custom_config["tasks"], tuple(custom_config.get("features", ())))
    if contract.SPEAKER in inputs:
        # For the speaker-held-out carve-out only; serving sends no speaker, and the transform
        # layer then computes only the outputs the model reads (as for the label).
        outputs[SPEAKER] = _dense_1d(inputs[contract.SPEAKER], "")
    if contract.LABEL in inputs:
        label = _dense_1d(inputs[contract.LABEL], -1)
        outputs[LABEL] = label
        if contract.EMOTION in inputs:
            emotion = _dense_1d(inputs[contract.EMOTION], "")
            tft.vocabulary(
                tf.strings.join([tf.strings.as_string(label), emotion], separator=":"),
                vocab_filename=LABEL_NAMES_VOCAB,
            )
    return outputs


def label_names(tft_output: tft.TFTransformOutput, n_min: int = 0) -> list[str]:
    """Class names ordered by label id, read from the transform output."""
    pairs = {}
    for entry in tft_output.vocabulary_by_name(LABEL_NAMES_VOCAB):
        entry = entry.decode("utf-8") if isinstance(entry, bytes) else entry
        idx, name = entry.split(":", 1)
        pairs[int(idx)] = name
    n = max([n_min] + [i + 1 for i in pairs])
    return [pairs.get(i, f"class_{i}") for i in range(n)]
