"""Probe 3 of issue 13: the models refuse what they cannot read, with INVALID_ARGUMENT.

`predict_raw` refuses empty text (TER, MER) and empty audio (SER, MER) naming the input
(components/trainer/export.py `require_present`, graph ops, so TF Serving refuses alike), and
no bytes sent as audio reach the caller as anything but `InvalidInputError` (never a
UnicodeDecodeError from TF's own message). The pipeline test
(tests/pipeline/test_pipeline_e2e.py) checks the same on the real pushed models.
"""

from __future__ import annotations

import os
import random
import struct

import pytest
import tensorflow as tf

from components.trainer.export import require_present


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A repository with a `ser` and a `mer` model whose predict_raw guards its inputs like the
    exported models do, then decodes with the exported decoder."""
    from components.transform.wav_decode import decode_wav

    root = tmp_path_factory.mktemp("guarded")
    names = tf.constant(["neutral", "happy", "sad", "angry"])

    def outputs(batch_logits):
        probs = tf.nn.softmax(batch_logits, axis=-1)
        return {"probabilities": probs,
                "emotions": tf.tile(names[tf.newaxis, :], [tf.shape(probs)[0], 1])}

    def audio_logits(audio):
        waves, _ = decode_wav(require_present(audio, "audio", "ser"), 16000)
        energy = tf.reduce_mean(tf.abs(waves), axis=1, keepdims=True)
        return tf.concat([energy, -energy, energy * 2, energy * 3], axis=1)

    ser = tf.Module()
    ser.raw = tf.function(lambda audio: outputs(audio_logits(audio)),
                          input_signature=[tf.TensorSpec([None], tf.string, name="audio")])
    tf.saved_model.save(ser, str(root / "ser" / "1"),
                        signatures={"predict_raw": ser.raw.get_concrete_function()})
    mer = tf.Module()
    mer.raw = tf.function(
        lambda text, audio: outputs(audio_logits(audio) + tf.cast(tf.strings.length(
            require_present(text, "text", "mer")), tf.float32)[:, None] * 0.0),
        input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                         tf.TensorSpec([None], tf.string, name="audio")])
    tf.saved_model.save(mer, str(root / "mer" / "1"),
                        signatures={"predict_raw": mer.raw.get_concrete_function()})
    return root


@pytest.mark.parametrize("value,refused", [(b"", True), (b"  \n\t", True), (b"ok", False)])
def test_require_present_names_the_input_and_the_element(value, refused):
    check = tf.function(lambda t: require_present(t, "text", "ter"),
                        input_signature=[tf.TensorSpec([None], tf.string)])
    if not refused:
        assert check(tf.constant([b"fine", value])).shape == (2,)
        return
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"text is empty \(batch element 1\); the ter model needs text"):
        check(tf.constant([b"fine", value]))


def test_empty_inputs_are_invalid_input_errors(guarded, make_wav):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient
    from serving.errors import InvalidInputError

    with EmotionClient(InProcessBackend(str(guarded), batching=None)) as client:
        assert client.predict("ser", audio=make_wav())
        with pytest.raises(InvalidInputError, match="audio is empty") as err:
            client.predict("ser", audio=b"")
        assert "audio is empty" in err.value.public
        with pytest.raises(InvalidInputError, match="text is empty"):
            client.predict("mer", text="", audio=make_wav())
        with pytest.raises(InvalidInputError, match="audio is empty"):
            client.predict("mer", text="hello", audio=b"")


def _corrupt_wavs(n: int, seed: int = 0) -> list[bytes]:
    """Random bytes, and RIFF/WAVE headers with random chunk ids and sizes (those made TF
    quote raw bytes in its message, which Python could not decode)."""
    rng = random.Random(seed)
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    out = []
    for i in range(n):
        body = rng.randbytes(rng.randrange(0, 300))
        if i % 3 == 0:
            out.append(body or b"\x00")
        elif i % 3 == 1:
            out.append(b"RIFF" + struct.pack("<I", 1000) + b"WAVEfmt " + struct.pack("<I", 16)
                       + fmt + rng.randbytes(4) + struct.pack("<I", rng.randrange(2 ** 32))
                       + body)
        else:
            out.append(b"RIFF" + body)
    return out


def test_random_bytes_as_audio_are_invalid_argument_never_unicode_errors(guarded,
                                                                         fault_report):
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient
    from serving.errors import InvalidInputError

    payloads = _corrupt_wavs(150)
    outcomes = {"invalid_input": 0, "answered": 0}
    with EmotionClient(InProcessBackend(str(guarded), batching=None)) as client:
        for audio in payloads:
            try:
                client.predict("ser", audio=audio)
                outcomes["answered"] += 1
            except InvalidInputError as e:
                assert "codec can't decode" not in str(e), e
                outcomes["invalid_input"] += 1
    assert outcomes["invalid_input"] >= len(payloads) - outcomes["answered"]
    assert outcomes["invalid_input"] > len(payloads) // 2
    fault_report("random / corrupt-chunk bytes as audio",
                 f"{len(payloads)} tried: {outcomes['invalid_input']} INVALID_ARGUMENT, "
                 f"{outcomes['answered']} decodable, 0 other errors")


def test_the_web_api_answers_a_refused_input_with_400(guarded, make_wav):
    """The service turns a model's INVALID_ARGUMENT into a 400 JSON error, not a 200."""
    from serving.app.service import ApiError, PredictService
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient

    service = PredictService(EmotionClient(InProcessBackend(str(guarded), batching=None)))
    try:
        # The app converts audio before the model sees it; hand the model a WAV whose data
        # chunk id is corrupt, as a direct client could.
        wav = bytearray(make_wav(seconds=0.2))
        with pytest.raises(ApiError) as err:
            service._run_task("ser", {"text": False, "audio": True}, None,
                              _Converted(bytes(wav[:36]) + os.urandom(4) + bytes(wav[40:])),
                              3, None)
        assert err.value.status == 400 and err.value.code == "invalid_input"
    finally:
        service.close()


class _Converted:
    """What `serving.audio.to_wav16k` returns, for feeding raw bytes to a task."""

    def __init__(self, wav: bytes):
        self.wav_bytes = wav
