"""The raw signature refuses audio it cannot read correctly, through every way it is called.

A client calling TF Serving directly with a 44.1 kHz, 8 kHz, 24/32-bit, float or non-WAV file
must get INVALID_ARGUMENT naming the expected format, not predictions on the wrong frequency
scale. The fixture models decode with the exported models' own decoder
(`components/transform/wav_decode.py`); this checks that refusal in-process, over the TF
Serving protocols (REST and gRPC, with the test double) and, where the binary exists, against
the real `tensorflow_model_server` (tests/serving/test_real_tf_serving.py).
"""

from __future__ import annotations

import base64
import json
import urllib.request

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from serving.backends.inprocess import InProcessBackend
from serving.client import EmotionClient, backend_from_url
from serving.errors import PredictionError

EXPECTED = "16 kHz mono 16-bit PCM WAV"


def unreadable(make_wav) -> dict[str, tuple[bytes, str]]:
    """kind -> (file bytes, what the refusal must say was found)."""
    return {
        "44.1 kHz": (make_wav(rate=44100), "44100 Hz"),
        "8 kHz": (make_wav(rate=8000), "8000 Hz"),
        "24-bit": (make_wav(subtype="PCM_24"), "24 bits"),
        "32-bit": (make_wav(subtype="PCM_32"), "32 bits"),
        "float": (make_wav(subtype="FLOAT"), "format tag 3"),
        "FLAC": (make_wav(fmt="FLAC"), "not a WAV file"),
        "text": (b"this is not audio at all", "not a WAV file"),
    }


KINDS = ["44.1 kHz", "8 kHz", "24-bit", "32-bit", "float", "FLAC", "text"]


@pytest.fixture(scope="module", params=["in-process", "rest", "grpc"])
def client(request, model_repo, tfs_server):
    if request.param == "in-process":
        backend = InProcessBackend(str(model_repo))
    else:
        backend = backend_from_url(tfs_server.rest_url if request.param == "rest"
                                   else tfs_server.grpc_url, retries=0)
    with EmotionClient(backend) as c:
        yield c


@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_audio_is_refused_naming_the_format(client, make_wav, kind):
    audio, found = unreadable(make_wav)[kind]
    for task, text in (("ser", None), ("mer", "I am so happy")):
        with pytest.raises(PredictionError) as err:
            client.predict(task, text=text, audio=audio)
        for message in (str(err.value), err.value.public):
            assert EXPECTED in message and found in message, message


def test_contract_audio_and_empty_audio_are_read(client, make_wav):
    assert client.predict("ser", audio=make_wav(amplitude=0.9))[0].emotion == "angry"
    # b"" is "no audio" (text-only examples in the Transform): silence, not an error.
    assert client.predict("ser", audio=b"")[0].emotion == "sad"
    # A stereo 16 kHz file is read too (averaged to mono, as ingestion mixes down).
    assert client.predict("ser", audio=make_wav(amplitude=0.9, channels=2))[0].emotion == "angry"


def test_tf_serving_protocols_answer_invalid_argument(tfs_server, make_wav):
    """What a non-Python client sees: HTTP 400 / gRPC INVALID_ARGUMENT with the reason."""
    audio = make_wav(rate=44100)
    body = json.dumps({"signature_name": "predict_raw",
                       "inputs": {"audio": [{"b64": base64.b64encode(audio).decode()}]}}).encode()
    req = urllib.request.Request(f"{tfs_server.rest_url}/v1/models/ser:predict", data=body,
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400
    message = json.loads(err.value.read())["error"]
    assert EXPECTED in message and "44100 Hz" in message

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "ser"
    request.model_spec.signature_name = "predict_raw"
    request.inputs["audio"].CopyFrom(tf.make_tensor_proto([audio]))
    with grpc.insecure_channel(tfs_server.grpc_url[len("grpc://"):]) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as rpc_err:
            stub.Predict(request, timeout=30)
    assert rpc_err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert EXPECTED in rpc_err.value.details() and "44100 Hz" in rpc_err.value.details()
