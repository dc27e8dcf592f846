"""Warm-up records: written next to the SavedModel, and valid requests for TF Serving."""

from __future__ import annotations

import shutil

import pytest

from components.core.warmup import read_warmup_requests, warmup_path, write_warmup_requests


@pytest.fixture
def mer_copy(model_repo, tmp_path):
    path = tmp_path / "mer" / "1"
    shutil.copytree(model_repo / "mer" / "1", path)
    return path


def test_writes_predict_raw_requests(mer_copy, loud_wav, quiet_wav):
    path = write_warmup_requests(str(mer_copy), "mer", text_samples=["a", "b", "c"],
                                 audio_samples=[loud_wav, quiet_wav])
    assert path == warmup_path(str(mer_copy))
    assert path.endswith("assets.extra/tf_serving_warmup_requests")
    requests = read_warmup_requests(str(mer_copy))
    assert len(requests) == 4  # 3 single-example requests + 1 with all 3 rows
    for r in requests:
        assert r.model_spec.name == "mer" and r.model_spec.signature_name == "predict_raw"
        assert set(r.inputs) == {"text", "audio"}
    assert [d.size for d in requests[-1].inputs["text"].tensor_shape.dim] == [3]
    # Audio cycles to pair with the 3 texts.
    assert requests[2].inputs["audio"].string_val[0] == loud_wav


def test_defaults_need_no_samples(mer_copy):
    write_warmup_requests(str(mer_copy), "ser")
    (request,) = read_warmup_requests(str(mer_copy))
    assert set(request.inputs) == {"audio"}
    assert request.inputs["audio"].string_val[0][:4] == b"RIFF"


def test_records_replay_against_a_server(mer_copy, tmp_path, quiet_wav):
    """Replay the records through the gRPC API, as TF Serving does at load time."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from tests.support.tfs_server import TFServingTestServer

    write_warmup_requests(str(mer_copy), "mer", ["I am sad"], [quiet_wav])
    with TFServingTestServer(str(tmp_path)) as server, \
            grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for request in read_warmup_requests(str(mer_copy)):
            response = stub.Predict(request, timeout=10)
            assert set(response.outputs) == {"probabilities", "emotions"}


def test_refuses_non_models_and_unknown_tasks(tmp_path, mer_copy):
    with pytest.raises(FileNotFoundError, match="not a SavedModel"):
        write_warmup_requests(str(tmp_path), "ter")
    with pytest.raises(ValueError, match="unknown task"):
        write_warmup_requests(str(mer_copy), "xyz")
