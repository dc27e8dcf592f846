"""Parity of the in-graph audio features with librosa 0.11, plus decoding and shape contracts.

Error measure everywhere: max |ours - librosa| / max |librosa| over one clip's utterance vector
(or frame matrix). The budgets are set by what the models see: the utterance vectors (mfcc,
mel, chroma time averages) within 1e-5, the log-mel frames of the 2D CNN within 1e-4. The
frame-level mfcc/mel/chroma matrices are intermediate values no model reads; they are held to
1e-4 to catch real mistakes (a wrong window or filterbank is off by far more). librosa is run on
float32 audio exactly as ``librosa.load`` would return it, i.e. the reference a librosa-based
pipeline would produce.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from components.transform import audio_features as af
from components.transform.wav_decode import decode_wav
from pipeline.configs import SHARED_DATASETS

SR = 16000
TOL_VECTOR = 1e-5  # utterance vectors: what the dense models see
TOL_LOG_MEL = 1e-4  # log-mel frames: what the 2D CNN sees
TOL_FRAMES = 1e-4  # frame-level mfcc/mel/chroma: intermediate, not a model input
PARAMS = af.AudioFeatureParams()
NUM_SAMPLES = 48000  # 3 s, the pipeline's default clip duration
RAVDESS = SHARED_DATASETS / "ravdess"
FEATURES = ("mfcc", "mel", "chroma", "log_mel")


def rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |ours - ref| / max |ref|; absolute error when the reference is all zeros."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert np.all(np.isfinite(ours))
    scale = np.max(np.abs(ref))
    err = np.max(np.abs(ours - ref))
    return float(err / scale) if scale > 0 else float(err)


def matrix_tol(feature: str) -> float:
    return TOL_LOG_MEL if feature == "log_mel" else TOL_FRAMES


def vector_tol(feature: str) -> float:
    return TOL_LOG_MEL if feature == "log_mel" else TOL_VECTOR


def time_mean(x: np.ndarray, axis: int) -> np.ndarray:
    """Average over frames in float64: numpy's float32 mean over a strided axis sums naively
    and alone adds ~4e-6 relative error, which would be blamed on the features."""
    return np.mean(x, axis=axis, dtype=np.float64)


def librosa_features(y: np.ndarray, params: af.AudioFeatureParams = PARAMS) -> dict:
    """Reference features in our layouts: [n, frames] for mfcc/mel/chroma, [frames, n] log-mel."""
    common = dict(sr=params.sample_rate, n_fft=params.n_fft, hop_length=params.hop_length,
                  fmin=params.fmin, fmax=params.fmax)
    mel_spec = librosa.feature.melspectrogram(y=y, n_mels=params.n_mels, **common)
    log_mel = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=y, sr=params.sample_rate, n_fft=params.logmel_n_fft, hop_length=params.logmel_hop,
            n_mels=params.logmel_n_mels, fmin=params.fmin, fmax=params.fmax),
        ref=1.0, amin=1e-10, top_db=params.top_db)
    return {
        # librosa.feature.mfcc always uses power_to_db's default top_db=80.
        "mfcc": librosa.feature.mfcc(y=y, n_mfcc=params.n_mfcc, n_mels=params.n_mels, **common),
        "mel": mel_spec,
        "chroma": librosa.feature.chroma_stft(y=y, sr=params.sample_rate, n_fft=params.n_fft,
                                              hop_length=params.hop_length,
                                              n_chroma=params.n_chroma, tuning=0.0),
        "log_mel": log_mel.T,
    }


def our_features(waveforms: np.ndarray, params: af.AudioFeatureParams = PARAMS) -> dict:
    x = tf.constant(waveforms)
    return {
        "mfcc": af.mfcc(x, params).numpy(),
        "mel": af.melspectrogram(x, params).numpy(),
        "chroma": af.chroma_stft(x, params).numpy(),
        "log_mel": af.log_mel_frames(x, params).numpy(),
    }


def synthetic_signals() -> dict[str, np.ndarray]:
    t = np.arange(NUM_SAMPLES) / SR
    rng = np.random.default_rng(0)
    signals = {
        "sine": 0.5 * np.sin(2 * np.pi * 440.0 * t),
        "chirp": 0.8 * librosa.chirp(fmin=80.0, fmax=7000.0, sr=SR, length=NUM_SAMPLES),
        "noise": np.clip(rng.normal(0.0, 0.1, NUM_SAMPLES), -1, 1),
        "silence": np.zeros(NUM_SAMPLES),
        # A quiet clip batched with loud ones: catches a top_db floor taken per batch.
        "quiet_sine": 1e-3 * np.sin(2 * np.pi * 1000.0 * t),
        # Speech-like: noise bursts with silent gaps (exercises near-silent frames).
        "bursts": rng.normal(0.0, 0.2, NUM_SAMPLES) * (np.sin(2 * np.pi * 2.0 * t) > 0.3),
    }
    return {k: v.astype(np.float32) for k, v in signals.items()}


def wav_bytes(samples: np.ndarray, sr: int = SR) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, sr, subtype="PCM_16", format="WAV")
    return buf.getvalue()


# ------------------------------------------------------------------ synthetic parity


@pytest.fixture(scope="module")
def synthetic():
    signals = synthetic_signals()
    names = list(signals)
    batch = np.stack([signals[n] for n in names])
    return names, batch, our_features(batch), [librosa_features(signals[n]) for n in names]


@pytest.mark.parametrize("feature", FEATURES)
def test_synthetic_parity(synthetic, feature):
    names, _, ours, refs = synthetic
    errors = {n: rel_err(ours[feature][i], refs[i][feature]) for i, n in enumerate(names)}
    assert max(errors.values()) <= matrix_tol(feature), errors


def test_synthetic_log_mel_parity_per_frame(synthetic):
    """Every log-mel frame (one CNN input column), not only the clip as a whole, within 1e-4."""
    names, _, ours, refs = synthetic
    for i, name in enumerate(names):
        ref = refs[i]["log_mel"]
        err = np.abs(ours["log_mel"][i] - ref).max(axis=1) / np.abs(ref).max(axis=1)
        assert err.max() <= TOL_LOG_MEL, (name, err.max())


@pytest.mark.parametrize("feature", FEATURES)
def test_synthetic_time_average_parity(synthetic, feature):
    names, _, ours, refs = synthetic
    axis = 0 if feature == "log_mel" else 1
    errors = {n: rel_err(time_mean(ours[feature][i], axis), time_mean(refs[i][feature], axis))
              for i, n in enumerate(names)}
    assert max(errors.values()) <= vector_tol(feature), errors


def test_utterance_features_match_librosa_means(synthetic):
    names, batch, _, refs = synthetic
    got = af.utterance_features(tf.constant(batch), PARAMS).numpy()
    bounds = np.cumsum([0, PARAMS.n_mfcc, PARAMS.n_mels, PARAMS.n_chroma])
    for i, name in enumerate(names):
        for j, kind in enumerate(af.FEATURE_KINDS):
            part = got[i, bounds[j]:bounds[j + 1]]
            err = rel_err(part, time_mean(refs[i][kind], 1))
            assert err <= TOL_VECTOR, (name, kind, err)
        whole = np.concatenate([time_mean(refs[i][kind], 1) for kind in af.FEATURE_KINDS])
        assert rel_err(got[i], whole) <= TOL_VECTOR, name


def test_utterance_statistics_deltas_db_mel_and_segments_match_librosa(synthetic):
    """The richer utterance vector (mean + std, dB mel, MFCC deltas, MFCC segment means) is
    those statistics of librosa's frames, in the documented column order."""
    names, batch, _, refs = synthetic
    got = af.utterance_features(tf.constant(batch), PARAMS, stats=("mean", "std"), deltas=True,
                                mel_db=True, segments=3).numpy()
    assert got.shape[1] == af.feature_dim(stats=("mean", "std"), deltas=True, segments=3)
    for i, name in enumerate(names):
        mfcc = refs[i]["mfcc"].astype(np.float64)
        mel_db = librosa.power_to_db(refs[i]["mel"], ref=1.0, amin=1e-10, top_db=PARAMS.top_db)
        delta = np.diff(mfcc, axis=1)
        bounds = np.linspace(0, mfcc.shape[1], 4).astype(int)
        want = np.concatenate(
            [np.concatenate([m.mean(axis=1), m.std(axis=1)])
             for m in (mfcc, mel_db.astype(np.float64), refs[i]["chroma"].astype(np.float64),
                       delta)]
            + [mfcc[:, bounds[k]:bounds[k + 1]].mean(axis=1) for k in range(3)])
        start = 0
        for width in (2 * PARAMS.n_mfcc, 2 * PARAMS.n_mels, 2 * PARAMS.n_chroma,
                      2 * PARAMS.n_mfcc, 3 * PARAMS.n_mfcc):
            err = rel_err(got[i, start:start + width], want[start:start + width])
            assert err <= 1e-4, (name, start, err)
            start += width


def test_top_db_is_per_clip_not_per_batch(synthetic):
    names, batch, ours, _ = synthetic
    quiet = names.index("quiet_sine")
    alone = af.log_mel_frames(tf.constant(batch[quiet:quiet + 1])).numpy()[0]
    np.testing.assert_allclose(ours["log_mel"][quiet], alone, rtol=0, atol=1e-4)
    # Its own peak (not the loud clips') sets the floor, bounded below by 10*log10(amin).
    floor = max(alone.max() - PARAMS.top_db, -100.0)
    assert ours["log_mel"][quiet].min() == pytest.approx(floor, abs=1e-3)
    loudest = ours["log_mel"].max()
    assert loudest - PARAMS.top_db > floor + 10.0  # a per-batch floor would differ clearly


def test_silence_is_finite(synthetic):
    names, batch, ours, refs = synthetic
    i = names.index("silence")
    for feature, values in ours.items():
        assert np.all(np.isfinite(values)), feature
    assert np.all(ours["mel"][i] == 0.0)
    assert np.all(ours["chroma"][i] == 0.0)
    np.testing.assert_allclose(ours["log_mel"][i], -100.0)  # 10 * log10(amin)
    # MFCC of constant -100 dB: only c0 is non-zero, -100 * sqrt(n_mels).
    np.testing.assert_allclose(ours["mfcc"][i][0], -100.0 * np.sqrt(PARAMS.n_mels), rtol=1e-5)
    np.testing.assert_allclose(ours["mfcc"][i][1:], 0.0, atol=1e-3)
    assert rel_err(ours["mfcc"][i], refs[i]["mfcc"]) <= TOL_VECTOR
    utt = af.utterance_features(tf.zeros([2, NUM_SAMPLES])).numpy()
    assert np.all(np.isfinite(utt))


def test_float64_waveforms_give_float64_features(synthetic):
    names, batch, _, refs = synthetic
    i = names.index("chirp")
    got = af.mfcc(tf.constant(batch[i:i + 1].astype(np.float64))).numpy()[0]
    assert got.dtype == np.float64
    assert rel_err(got, refs[i]["mfcc"]) <= TOL_VECTOR


# ------------------------------------------------------------------ real clips


def _pick_ravdess_clips() -> list[Path]:
    """Two clips per emotion from 16 different actors (8 male, 8 female), varied statements."""
    if not (RAVDESS / "manifest.csv").is_file():
        pytest.skip(f"RAVDESS dataset not found at {RAVDESS} (expected 16 kHz FLAC + manifest.csv)")
    with open(RAVDESS / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    emotions = sorted({r["emotion"] for r in rows})
    picked = []
    for k, emotion in enumerate(emotions):
        for actor in (1 + 3 * k, 2 + 3 * k):
            match = [r for r in rows if r["emotion"] == emotion and r["actor"] == str(actor)]
            if match:
                picked.append(RAVDESS / match[(k + actor) % len(match)]["path"])
    if not picked:
        pytest.skip(f"no usable clips listed in {RAVDESS / 'manifest.csv'}")
    return picked


@pytest.fixture(scope="module")
def ravdess():
    clips = []
    for path in _pick_ravdess_clips():
        if not path.is_file():
            pytest.skip(f"RAVDESS clip missing: {path}")
        y, sr = sf.read(path, dtype="float32")  # what librosa.load(sr=None) returns
        assert sr == SR and y.ndim == 1, (path, sr, y.shape)
        clips.append(y)
    return clips


def test_ravdess_parity_full_clips(ravdess):
    errors = {f: 0.0 for f in FEATURES}
    mean_errors = {f: 0.0 for f in FEATURES}
    for y in ravdess:  # full, unpadded clips (lengths differ, so one at a time)
        ours = {k: v[0] for k, v in our_features(y[None, :]).items()}
        ref = librosa_features(y)
        for f in FEATURES:
            axis = 0 if f == "log_mel" else 1
            errors[f] = max(errors[f], rel_err(ours[f], ref[f]) / matrix_tol(f))
            mean_errors[f] = max(mean_errors[f], rel_err(
                time_mean(ours[f], axis), time_mean(ref[f], axis)) / vector_tol(f))
    # Errors as fractions of each feature's budget: <= 1 passes.
    assert max(errors.values()) <= 1.0, errors
    assert max(mean_errors.values()) <= 1.0, mean_errors


def test_ravdess_end_to_end_from_wav_bytes(ravdess):
    """WAV bytes -> decode_wav (pad/trim to 3 s) -> utterance_features, vs librosa on the same."""
    wavs = tf.constant([wav_bytes(y) for y in ravdess])
    waveforms, lengths = decode_wav(wavs, NUM_SAMPLES)
    assert lengths.numpy().tolist() == [len(y) for y in ravdess]
    got = af.utterance_features(waveforms, PARAMS).numpy()
    bounds = np.cumsum([0, PARAMS.n_mfcc, PARAMS.n_mels, PARAMS.n_chroma])
    for i, y in enumerate(ravdess):
        fixed = np.zeros(NUM_SAMPLES, np.float32)
        fixed[:min(len(y), NUM_SAMPLES)] = y[:NUM_SAMPLES]
        np.testing.assert_array_equal(waveforms.numpy()[i], fixed)
        ref = librosa_features(fixed)
        for j, kind in enumerate(af.FEATURE_KINDS):
            err = rel_err(got[i, bounds[j]:bounds[j + 1]], time_mean(ref[kind], 1))
            assert err <= TOL_VECTOR, (i, kind, err)


# ------------------------------------------------------------------ decode_wav


def test_decode_wav_pad_trim_empty_and_pcm16_values():
    rng = np.random.default_rng(1)
    short = rng.uniform(-0.9, 0.9, 1000).astype(np.float32)
    long = rng.uniform(-0.9, 0.9, 5000).astype(np.float32)
    exact = rng.uniform(-0.9, 0.9, 3000).astype(np.float32)
    wavs = tf.constant([wav_bytes(short), b"", wav_bytes(long), wav_bytes(exact)])
    waveforms, lengths = decode_wav(wavs, 3000)
    assert waveforms.dtype == tf.float32 and waveforms.shape == (4, 3000)
    assert lengths.dtype == tf.int64
    assert lengths.numpy().tolist() == [1000, 0, 5000, 3000]
    w = waveforms.numpy()

    def pcm16(x: np.ndarray) -> np.ndarray:  # what soundfile stores, scaled back like TF
        buf = io.BytesIO(wav_bytes(x))
        return sf.read(buf, dtype="int16")[0].astype(np.float32) / 32768.0

    np.testing.assert_array_equal(w[0, :1000], pcm16(short))
    np.testing.assert_array_equal(w[0, 1000:], 0.0)  # zero-padded at the end
    np.testing.assert_array_equal(w[1], 0.0)  # empty bytes -> silence
    np.testing.assert_array_equal(w[2], pcm16(long)[:3000])  # trimmed
    np.testing.assert_array_equal(w[3], pcm16(exact))
    assert np.max(np.abs(w[0, :1000] - short)) <= 1.0 / 32768  # quantisation only


def test_decode_wav_stereo_is_averaged_to_mono():
    rng = np.random.default_rng(2)
    stereo = rng.uniform(-0.5, 0.5, (800, 2)).astype(np.float32)
    waveforms, lengths = decode_wav(tf.constant([wav_bytes(stereo)]), 1000)
    ints = sf.read(io.BytesIO(wav_bytes(stereo)), dtype="int16")[0].astype(np.float64) / 32768.0
    np.testing.assert_allclose(waveforms.numpy()[0, :800], ints.mean(axis=1), atol=1e-7)
    assert lengths.numpy().tolist() == [800]


def test_decode_wav_checks_the_sample_rate_by_default():
    wav = tf.constant([wav_bytes(np.zeros(100, np.float32), sr=8000)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="8000 Hz"):
        decode_wav(wav, 200)
    _, lengths = decode_wav(wav, 200, expected_sample_rate=None)  # explicitly off: decodes
    assert lengths.numpy().tolist() == [100]


def _encoded(samples: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, sr, subtype=subtype, format="WAV")
    return buf.getvalue()


UNREADABLE = {
    "44.1 kHz": (lambda x: _encoded(x, 44100), "44100 Hz"),
    "8 kHz": (lambda x: _encoded(x, 8000), "8000 Hz"),
    "8-bit": (lambda x: _encoded(x, subtype="PCM_U8"), "8 bits"),
    "24-bit": (lambda x: _encoded(x, subtype="PCM_24"), "24 bits"),
    "32-bit": (lambda x: _encoded(x, subtype="PCM_32"), "32 bits"),
    "float": (lambda x: _encoded(x, subtype="FLOAT"), "format tag 3"),
    "not a WAV": (lambda x: b"ID3\x03 an mp3, say", "not a WAV file"),
    "FLAC": (lambda x: _flac(x), "not a WAV file"),
    "truncated": (lambda x: _encoded(x)[:1000], "truncated"),
}


def _flac(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="FLAC")
    return buf.getvalue()


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_decode_wav_refuses_what_it_cannot_read_naming_the_format(kind):
    """The raw signature's guard: INVALID_ARGUMENT naming the expected format and the element."""
    make, found = UNREADABLE[kind]
    x = (0.3 * np.sin(np.arange(4000) / 10.0)).astype(np.float32)
    batch = tf.constant([_encoded(x), b"", make(x)])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def decode(wav):  # the serving case: inside a graph
        return decode_wav(wav, NUM_SAMPLES)

    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        decode(batch)
    message = err.value.message
    assert "16 kHz mono 16-bit PCM WAV" in message and "batch element 2" in message, message
    assert found in message, message


def test_decode_wav_other_layouts_equal_the_canonical_one():
    """Stereo and extra chunks take tf.audio.decode_wav; the values match the fast path."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.5, 0.5, 3000).astype(np.float32)
    canonical = _encoded(x)
    with_list = io.BytesIO()
    with sf.SoundFile(with_list, "w", SR, 1, "PCM_16", format="WAV") as f:
        f.title = "a LIST chunk after the data"  # libsndfile writes it as an INFO chunk
        f.write(x)
    stereo = _encoded(np.stack([x, x], axis=1))
    assert len(with_list.getvalue()) > len(canonical)
    waveforms, lengths = decode_wav(
        tf.constant([canonical, with_list.getvalue(), b"", stereo, canonical]), 4000)
    w = waveforms.numpy()
    assert lengths.numpy().tolist() == [3000, 3000, 0, 3000, 3000]
    for row in (1, 3, 4):
        np.testing.assert_array_equal(w[row], w[0])
    np.testing.assert_array_equal(w[2], 0.0)
    np.testing.assert_array_equal(w[0, :3000], tf.audio.decode_wav(canonical)[0].numpy()[:, 0])


def test_decode_wav_all_empty_and_rank2_input():
    waveforms, lengths = decode_wav(tf.constant([[b""], [b""]]), 16)
    assert waveforms.shape == (2, 16) and np.all(waveforms.numpy() == 0)
    assert lengths.numpy().tolist() == [0, 0]


# ------------------------------------------------------------------ graph / shape contracts


def test_everything_in_tf_function_with_dynamic_batch():
    """The transform traces with an unknown batch size; results must equal eager ones."""
    signals = synthetic_signals()
    wavs = [wav_bytes(signals["chirp"]), b"", wav_bytes(signals["bursts"][:20000])]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def pipeline(wav):
        waveforms, lengths = decode_wav(wav, NUM_SAMPLES)
        return (lengths, af.utterance_features(waveforms, PARAMS),
                af.log_mel_frames(waveforms, PARAMS), af.mfcc(waveforms, PARAMS))

    concrete = pipeline.get_concrete_function()
    _, utt_spec, log_mel_spec, mfcc_spec = concrete.structured_outputs
    assert utt_spec.shape.as_list() == [None, af.feature_dim(af.FEATURE_KINDS, PARAMS)]
    assert log_mel_spec.shape.as_list() == [
        None, af.num_frames(NUM_SAMPLES, PARAMS.logmel_hop), PARAMS.logmel_n_mels]
    assert mfcc_spec.shape.as_list() == [
        None, PARAMS.n_mfcc, af.num_frames(NUM_SAMPLES, PARAMS.hop_length)]

    lengths, utt, log_mel, mfcc = pipeline(tf.constant(wavs))
    assert lengths.numpy().tolist() == [NUM_SAMPLES, 0, 20000]
    eager_waveforms, _ = decode_wav(tf.constant(wavs), NUM_SAMPLES)
    np.testing.assert_allclose(utt.numpy(), af.utterance_features(eager_waveforms).numpy(),
                               rtol=1e-6, atol=1e-6)
    for values in (utt, log_mel, mfcc):
        assert np.all(np.isfinite(values.numpy()))


def test_dynamic_sample_count_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def feats(x):
        return af.utterance_features(x, PARAMS, kinds=("chroma", "mel"))

    x = synthetic_signals()["noise"][None, :10000]
    np.testing.assert_allclose(
        feats(tf.constant(x)).numpy(),
        af.utterance_features(tf.constant(x), PARAMS, kinds=("mel", "chroma")).numpy(),
        rtol=1e-6, atol=1e-6)


def test_saved_model_round_trip(tmp_path):
    """Features must be pure graph + constants: a reloaded SavedModel gives the same numbers."""
    module = tf.Module()
    module.features = tf.function(
        lambda wav: af.utterance_features(decode_wav(wav, 8000)[0], PARAMS),
        input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path))
    wavs = tf.constant([wav_bytes(synthetic_signals()["chirp"][:6000]), b""])
    reloaded = tf.saved_model.load(str(tmp_path))
    np.testing.assert_array_equal(reloaded.features(wavs).numpy(), module.features(wavs).numpy())


def test_tf1_graph_mode():
    """tf.Transform can trace preprocessing_fn in a tf.compat.v1 graph; that must work too."""
    wav = wav_bytes(synthetic_signals()["noise"][:5000])
    with tf.Graph().as_default():
        ph = tf.compat.v1.placeholder(tf.string, [None])
        waveforms, lengths = decode_wav(ph, 8000)
        outs = (lengths, af.utterance_features(waveforms, PARAMS), af.log_mel_frames(waveforms))
        with tf.compat.v1.Session() as sess:
            lens, utt, log_mel = sess.run(outs, {ph: [wav, b""]})
    assert lens.tolist() == [5000, 0]
    assert utt.shape == (2, 180) and log_mel.shape == (2, af.num_frames(8000, 160), 64)
    assert np.all(np.isfinite(utt)) and np.all(np.isfinite(log_mel))


ALL_KIND_SUBSETS = [c for r in (1, 2, 3) for c in itertools.combinations(af.FEATURE_KINDS, r)]


@pytest.mark.parametrize("kinds", ALL_KIND_SUBSETS, ids=lambda k: "+".join(k))
def test_utterance_features_dims_and_order(kinds):
    assert len(ALL_KIND_SUBSETS) == 7
    x = tf.constant(synthetic_signals()["chirp"][None, :8000])
    expected = af.feature_dim(kinds, PARAMS)
    assert expected == sum({"mfcc": 40, "mel": 128, "chroma": 12}[k] for k in kinds)
    got = af.utterance_features(x, PARAMS, kinds=tuple(reversed(kinds))).numpy()
    assert got.shape == (1, expected)
    # Fixed concatenation order mfcc, mel, chroma regardless of the order asked for.
    parts = {"mfcc": af.mfcc(x, PARAMS), "mel": af.melspectrogram(x, PARAMS),
             "chroma": af.chroma_stft(x, PARAMS)}
    want = np.concatenate([tf.reduce_mean(parts[k], axis=2).numpy() for k in kinds], axis=1)
    # Same numbers up to float32 rounding (the DCT is applied before or after the time mean).
    offset = 0
    for k in kinds:
        width = af.feature_dim((k,), PARAMS)
        assert rel_err(got[0, offset:offset + width], want[0, offset:offset + width]) <= 1e-6, k
        offset += width


@pytest.mark.parametrize("kinds", [(), ("mfcc", "spectral"), "mfcc", ("mel", "mel"), None])
def test_invalid_kinds_raise(kinds):
    with pytest.raises(ValueError):
        af.utterance_features(tf.zeros([1, 1000]), PARAMS, kinds=kinds)
    with pytest.raises(ValueError):
        af.feature_dim(kinds, PARAMS)


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large")
@pytest.mark.parametrize("n", [1, 511, 512, 513, 2047, 2048, 16000, NUM_SAMPLES])
def test_num_frames_matches_librosa_and_our_shapes(n):
    y = np.zeros(n, np.float32)
    y[0] = 1.0
    expected = librosa.stft(y, n_fft=PARAMS.n_fft, hop_length=PARAMS.hop_length).shape[1]
    assert af.num_frames(n, PARAMS.hop_length) == expected
    power = af.stft_power(tf.constant(y[None]), PARAMS.n_fft, PARAMS.hop_length)
    assert power.shape == (1, expected, 1 + PARAMS.n_fft // 2)


def test_stft_power_matches_librosa():
    y = synthetic_signals()["bursts"][:12345]
    ref = np.abs(librosa.stft(y, n_fft=512, hop_length=160)) ** 2  # [bins, frames]
    got = af.stft_power(tf.constant(y[None]), 512, 160).numpy()[0].T
    assert rel_err(got, ref) <= TOL_FRAMES


def test_params_defaults_and_validation():
    p = af.AudioFeatureParams()
    assert (p.sample_rate, p.n_fft, p.hop_length, p.n_mels, p.n_mfcc, p.n_chroma) == (
        16000, 2048, 512, 128, 40, 12)
    assert (p.fmin, p.fmax, p.top_db) == (0.0, None, 80.0)
    assert (p.logmel_n_fft, p.logmel_hop, p.logmel_n_mels) == (512, 160, 64)
    assert af.feature_dim(af.FEATURE_KINDS, p) == 180
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_fft = 1024  # type: ignore[misc]
    with pytest.raises(ValueError):
        af.AudioFeatureParams(n_fft=2047)
    with pytest.raises(ValueError):
        af.AudioFeatureParams(n_mfcc=200)


def test_integer_waveforms_are_rejected():
    with pytest.raises(TypeError):
        af.mfcc(tf.zeros([1, 100], tf.int16))
