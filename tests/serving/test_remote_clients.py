"""REST and gRPC clients over real sockets, against the TF Serving test double.

The double (tests/support/tfs_server.py) speaks TF Serving's wire protocols with the
tensorflow_serving protos, backed by the fixture SavedModels; the same client code runs
against the real `tensorflow_model_server` in test_real_tf_serving.py when it is installed.
"""

from __future__ import annotations

import base64
import http.client
import json
import time

import pytest

from serving.backends.grpc import GrpcBackend
from serving.backends.inprocess import InProcessBackend
from serving.backends.rest import RestBackend
from serving.client import EmotionClient, backend_from_url
from serving.errors import (
    ModelNotFoundError,
    PredictionError,
    ServerUnavailableError,
    SignatureError,
)


@pytest.fixture(params=["rest", "grpc"], scope="module")
def remote(request, tfs_server):
    url = tfs_server.rest_url if request.param == "rest" else tfs_server.grpc_url
    client = EmotionClient(backend_from_url(url, timeout=10, retries=1))
    yield client
    client.close()


@pytest.fixture(scope="module")
def local(model_repo):
    return EmotionClient(InProcessBackend(str(model_repo)))


def test_scheme_picks_the_backend(tfs_server):
    assert isinstance(backend_from_url(tfs_server.rest_url), RestBackend)
    grpc_backend = backend_from_url(tfs_server.grpc_url)
    assert isinstance(grpc_backend, GrpcBackend)
    grpc_backend.close()
    with pytest.raises(ValueError, match="unsupported serving URL"):
        backend_from_url("ftp://example.org/models")


def test_same_answers_as_in_process(remote, local, loud_wav, quiet_wav):
    cases = [("ter", dict(text="I love this, it's wonderful")),
             ("ser", dict(audio=quiet_wav)),
             ("mer", dict(text="I am so angry", audio=loud_wav))]
    for task, kwargs in cases:
        got = remote.predict(task, top_k=4, **kwargs)
        want = local.predict(task, top_k=4, **kwargs)
        assert [p.emotion for p in got] == [p.emotion for p in want], task
        for g, w in zip(got, want, strict=True):
            assert g.probability == pytest.approx(w.probability, abs=1e-6)


def test_unicode_text(remote):
    preds = remote.predict("ter", text="Je suis très happy 😊 — ça va", top_k=1)
    assert preds[0].emotion == "happy"


def test_batch_and_version_pinning(remote, loud_wav, quiet_wav):
    rows = remote.predict_batch("ser", audios=[loud_wav, quiet_wav], top_k=1)
    assert [r[0].emotion for r in rows] == ["angry", "sad"]
    # Newest ter (v2) has 5 classes; pinning v1 gives the 4-class model.
    assert len(remote.predict("ter", text="hi", top_k=10)) == 5
    assert len(remote.predict("ter", text="hi", top_k=10, version=1)) == 4
    assert remote.model_version("ter") == "2"


def test_unknown_model_is_model_not_found(remote):
    client = EmotionClient(remote.backend, model_names={"ter": "no_such_model"})
    with pytest.raises(ModelNotFoundError, match="no_such_model") as err:
        client.predict("ter", text="hi")
    assert "Servable not found" in str(err.value)
    with pytest.raises(ModelNotFoundError, match="version 9"):
        remote.predict("ter", text="hi", version=9)


def test_model_without_raw_signature_is_signature_error(remote):
    client = EmotionClient(remote.backend, model_names={"ter": "nosig"})
    with pytest.raises(SignatureError, match='"predict_raw" not found') as err:
        client.predict("ter", text="hi")
    assert "re-export" in str(err.value)


def test_wrong_inputs_are_signature_error(remote):
    with pytest.raises(SignatureError, match="audio"):
        remote.backend.predict_batch("ter", {"audio": [b"x"]}, top_k=3)
    with pytest.raises(SignatureError, match="Missing but required"):
        remote.backend.predict_batch("mer", {"text": [b"x"]}, top_k=3)


def test_bad_audio_is_prediction_error(remote):
    with pytest.raises(PredictionError, match="16 kHz mono 16-bit PCM WAV") as err:
        remote.predict("ser", audio=b"not a wav")
    assert "[[" not in str(err.value)  # the model's sentence, not TF's node details


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_server_down_is_unavailable_after_retries(scheme, free_port):
    url = f"{scheme}://127.0.0.1:{free_port}"
    backend = (RestBackend(url, timeout=2, retries=2, backoff_s=0.05) if scheme == "http"
               else GrpcBackend(url, timeout=2, retries=2, backoff_s=0.05))
    start = time.perf_counter()
    with pytest.raises(ServerUnavailableError, match="after 3 attempt") as err:
        EmotionClient(backend).predict("ter", text="hi")
    assert time.perf_counter() - start < 10
    assert f"127.0.0.1:{free_port}" in str(err.value)
    assert "Start it" in str(err.value)
    backend.close()


def test_retry_succeeds_when_the_server_comes_up(model_repo, free_port):
    """A refused connection is retried: the request succeeds once the server listens."""
    import threading

    from tests.support.tfs_server import TFServingTestServer

    backend = RestBackend(f"http://127.0.0.1:{free_port}", timeout=5, retries=8, backoff_s=0.2)
    started: list = []  # the server binds its port only when the timer fires

    def start_server() -> None:
        started.append(TFServingTestServer(str(model_repo), rest_port=free_port).start())

    timer = threading.Timer(0.4, start_server)
    t0 = time.perf_counter()
    timer.start()
    try:
        assert EmotionClient(backend).predict("ter", text="happy")[0].emotion == "happy"
        assert time.perf_counter() - t0 >= 0.4  # so at least one attempt was refused
    finally:
        timer.join()
        for server in started:
            server.stop()


# ---------------------------------------------------------------- wire format, no client code


def _rest(server, method: str, path: str, body=None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=10)
    conn.request(method, path, body=json.dumps(body) if body is not None else None)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read())
    conn.close()
    return out


def test_rest_wire_format(tfs_server, loud_wav):
    """The documented TF Serving REST formats (docs/serving.md uses the same bodies)."""
    status, body = _rest(tfs_server, "GET", "/v1/models/ter")
    assert status == 200
    assert body["model_version_status"][0] == {
        "version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}

    columnar = {"signature_name": "predict_raw",
                "inputs": {"text": ["I hate this"],
                           "audio": [{"b64": base64.b64encode(loud_wav).decode()}]}}
    status, body = _rest(tfs_server, "POST", "/v1/models/mer:predict", columnar)
    assert status == 200 and set(body["outputs"]) == {"probabilities", "emotions"}
    assert body["outputs"]["emotions"][0] == ["neutral", "happy", "sad", "angry"]

    rows = {"signature_name": "predict_raw", "instances": [{"text": "so sad"}]}
    status, body = _rest(tfs_server, "POST", "/v1/models/ter/versions/1:predict", rows)
    assert status == 200 and len(body["predictions"][0]["probabilities"]) == 4

    status, body = _rest(tfs_server, "POST", "/v1/models/nope:predict", rows)
    assert status == 404 and body == {"error": "Servable not found for request: Latest(nope)"}

    status, body = _rest(tfs_server, "GET", "/v1/models/ser/metadata")
    assert status == 200
    sigs = body["metadata"]["signature_def"]["signature_def"]
    assert set(sigs) >= {"serving_default", "predict_raw"}
    assert set(sigs["predict_raw"]["inputs"]) == {"audio"}


def test_grpc_model_metadata(tfs_server):
    import grpc
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        prediction_service_pb2_grpc,
    )

    with grpc.insecure_channel(f"127.0.0.1:{tfs_server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = "mer"
        response = stub.GetModelMetadata(request, timeout=10)
    sigmap = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(sigmap)
    assert set(sigmap.signature_def["predict_raw"].inputs) == {"text", "audio"}
    assert set(sigmap.signature_def["predict_raw"].outputs) == {"probabilities", "emotions"}
    assert response.model_spec.version.value == 1
