"""The web app's JSON API over a real HTTP server (uvicorn, as `mer serve` runs it)."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
import uuid

import pytest

from serving.app.schemas import Limits
from serving.app.server import BackgroundServer
from serving.backends.inprocess import InProcessBackend
from serving.backends.rest import RestBackend
from serving.client import EmotionClient


@pytest.fixture(scope="module")
def app(model_repo):
    client = EmotionClient(InProcessBackend(str(model_repo)))
    with BackgroundServer(client, limits=Limits(max_request_bytes=2 * 1024 * 1024,
                                                max_audio_s=5.0, max_text_chars=500)) as server:
        yield server


def request(server, method: str, path: str, body: bytes = b"",
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    host, port = server.url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body or None, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def post_json(server, payload) -> tuple[int, dict]:
    status, _, data = request(server, "POST", "/api/predict", json.dumps(payload).encode(),
                              {"Content-Type": "application/json"})
    return status, json.loads(data)


def post_form(server, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
              ) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   .encode() + value.encode() + b"\r\n")
    for name, (filename, data, ctype) in files.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                   + data + b"\r\n")
    body = b"".join(out) + f"--{boundary}--\r\n".encode()
    status, _, data = request(server, "POST", "/api/predict", body,
                              {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return status, json.loads(data)


def emotions(result: dict) -> list[str]:
    assert result["status"] == "ok", result
    return [p["emotion"] for p in result["predictions"]]


def test_multipart_text_and_wav_gives_all_three_tasks(app, make_wav):
    # A 44.1 kHz stereo upload: converted to 16 kHz mono on the server.
    wav = make_wav(seconds=1.0, amplitude=0.9, rate=44100, channels=2)
    status, body = post_form(app, {"text": "I am so happy today"},
                             {"audio": ("clip.wav", wav, "audio/wav")})
    assert status == 200, body
    results = body["results"]
    assert emotions(results["ter"])[0] == "happy"
    assert emotions(results["ser"])[0] == "angry"
    assert len(results["mer"]["predictions"]) == 3
    top = results["ter"]["predictions"][0]
    assert top["emoji"] == "😊" and 0 < top["probability"] <= 1
    assert body["input"]["audio"] == {"duration_s": 1.0, "source_sample_rate": 44100,
                                      "source_channels": 2, "source_format": "WAV"}
    assert body["input"]["text_source"] == "user"


def test_json_text_only_skips_the_audio_tasks(app):
    status, body = post_json(app, {"text": "I hate this so much", "top_k": 2})
    assert status == 200
    assert emotions(body["results"]["ter"]) == ["angry", "neutral"]
    assert body["results"]["ser"] == {"title": "Speech (SER)", "status": "skipped",
                                      "reason": "needs audio; no audio given"}
    assert body["results"]["mer"]["status"] == "skipped"


def test_json_base64_audio_and_task_selection(app, make_wav):
    audio = base64.b64encode(make_wav(amplitude=0.005)).decode()
    status, body = post_json(app, {"audio_b64": audio, "tasks": ["ser"]})
    assert status == 200
    assert list(body["results"]) == ["ser"]
    assert emotions(body["results"]["ser"])[0] == "sad"


def test_flac_upload(app, make_wav):
    flac = make_wav(amplitude=0.9, rate=22050, fmt="FLAC")
    status, body = post_form(app, {}, {"audio": ("clip.flac", flac, "audio/flac")})
    assert status == 200 and emotions(body["results"]["ser"])[0] == "angry"


@pytest.mark.parametrize("payload,status,code", [
    ({"text": "x" * 501}, 422, "text_too_long"),
    ({}, 400, "no_input"),
    ({"text": "   "}, 400, "no_input"),
    ({"audio_b64": "%%% not base64"}, 400, "invalid_audio"),
    ({"audio_b64": "UklGRg"}, 400, "invalid_audio"),  # unpadded
    ({"audio": {"b64": "UklGRg==", "x": 1}}, 400, "invalid_audio"),
    ({"text": "hi", "tasks": ["ter", "xyz"]}, 400, "invalid_tasks"),
    ({"text": "hi", "top_k": 99}, 400, "invalid_top_k"),
    ({"text": "hi", "colour": "blue"}, 400, "unknown_fields"),
])
def test_json_errors(app, payload, status, code):
    got, body = post_json(app, payload)
    assert got == status and body["error"]["code"] == code, body
    assert body["error"]["status"] == status and body["error"]["message"]


def test_bad_wav_is_a_400_that_says_why(app):
    # A complete RIFF/WAVE file whose fmt chunk is garbage (a cut-short one: truncated_audio)
    bad = (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 16
           + b"data\x04\x00\x00\x00abcd")
    status, body = post_form(app, {"text": "hi"}, {"audio": ("bad.wav", bad, "audio/wav")})
    assert status == 400
    assert body["error"]["code"] == "invalid_audio"
    assert "could not decode the audio" in body["error"]["message"]


def test_audio_limits_and_types(app, make_wav):
    status, body = post_form(app, {}, {"audio": ("long.wav", make_wav(seconds=6), "audio/wav")})
    assert (status, body["error"]["code"]) == (422, "audio_too_long")
    assert "limit is 5 s" in body["error"]["message"]
    status, body = post_form(app, {}, {"audio": ("x.png", b"\x89PNG", "image/png")})
    assert (status, body["error"]["code"]) == (415, "unsupported_audio_type")


def test_request_size_and_content_type(app):
    status, headers, data = request(app, "POST", "/api/predict", b"x" * (3 * 1024 * 1024),
                                    {"Content-Type": "application/json"})
    assert status == 413 and json.loads(data)["error"]["code"] == "request_too_large"
    status, _, data = request(app, "POST", "/api/predict", b"hello",
                              {"Content-Type": "text/plain"})
    assert status == 415 and "multipart/form-data" in json.loads(data)["error"]["message"]
    for bad in (b"{not json", b"[" * 100_000 + b"]" * 100_000, b"{\"text\": \"\xff\"}"):
        status, _, data = request(app, "POST", "/api/predict", bad,
                                  {"Content-Type": "application/json"})
        assert status == 400 and json.loads(data)["error"]["code"] == "invalid_json", data


def test_chunked_body_over_the_limit_is_refused_while_streaming(app):
    """No Content-Length: the bytes are counted as they arrive, nothing past the limit is kept."""
    host, port = app.url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (b"x" * 65536 for _ in range(48))  # 3 MB, over the 2 MB limit of this app
    conn.request("POST", "/api/predict", body=chunks, encode_chunked=True,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 413 and body["error"]["code"] == "request_too_large"
    # A small chunked body is fine.
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/api/predict", body=iter([b'{"text": "so happy"}']),
                 encode_chunked=True, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["results"]["ter"]["status"] == "ok"
    conn.close()


def test_routes_errors_are_json(app):
    status, _, data = request(app, "GET", "/nope")
    assert status == 404 and json.loads(data)["error"]["code"] == "not_found"
    status, _, data = request(app, "GET", "/api/predict")
    assert status == 405 and json.loads(data)["error"]["code"] == "method_not_allowed"
    status, headers, _ = request(app, "HEAD", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    status, headers, _ = request(app, "GET", "/api/health", headers={"X-Request-ID": "abc-123"})
    assert headers["x-request-id"] == "abc-123"


def test_user_text_is_never_markup(app):
    """The API returns text as JSON data (never HTML); the page has a strict CSP."""
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    status, headers, data = request(app, "POST", "/api/predict",
                                    json.dumps({"text": attack}).encode(),
                                    {"Content-Type": "application/json"})
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff"
    assert json.loads(data)["input"]["text"] == attack
    status, headers, page = request(app, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert b"<script>" not in page  # only the external /static/app.js
    script = request(app, "GET", "/static/app.js")[2].decode()
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script
    assert "textContent" in script


def test_static_files_are_a_fixed_list(app):
    assert request(app, "GET", "/static/style.css")[0] == 200
    assert request(app, "GET", "/static/../server.py")[0] == 404
    assert request(app, "GET", "/static/%2e%2e/service.py")[0] == 404


def test_health(app, model_repo):
    status, _, data = request(app, "GET", "/api/health")
    body = json.loads(data)
    assert status == 200 and body["status"] == "ok"
    assert body["models"]["ter"] == {"status": "available", "version": "2"}
    assert body["limits"]["max_text_chars"] == 500
    assert body["backend"] == "in-process"
    assert str(model_repo) not in data.decode()


def test_openapi_document_is_generated_from_the_models(app):
    status, _, data = request(app, "GET", "/openapi.json")
    doc = json.loads(data)
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/api/predict", "/api/timeline", "/api/health", "/metrics"}
    predict = doc["paths"]["/api/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"200", "400", "413", "415", "422", "503"} <= set(predict["responses"])
    assert "500 characters" in doc["info"]["description"]  # the configured text limit
    schemas = doc["components"]["schemas"]
    # The configured limits are in the request models' constraints.
    assert schemas["PredictJson"]["properties"]["top_k"]["anyOf"][0]["maximum"] == 10
    assert schemas["PredictForm"]["properties"]["audio"]["format"] == "binary"
    assert {"PredictResponse", "TaskResult", "Health", "ErrorBody"} <= set(schemas)

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_metrics_count_requests_errors_and_task_latency(app):
    post_json(app, {"text": "so happy"})
    post_json(app, {})  # no_input
    status, headers, data = request(app, "GET", "/metrics")
    text = data.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'mer_http_requests_total{method="POST",route="/api/predict",status="200"}' in text
    assert 'mer_api_errors_total{code="no_input"}' in text
    assert 'mer_prediction_duration_seconds_bucket{le="0.5",outcome="ok",task="ter"}' in text
    assert 'mer_inprocess_batches_total{task="ter"}' in text


def test_access_log_is_one_json_object_per_request(app, caplog):
    with caplog.at_level(logging.INFO, logger="mer.serve.access"):
        request(app, "GET", "/api/health", headers={"X-Request-ID": "log-test-1"})
        deadline = time.monotonic() + 10  # the server logs right after the last byte is sent
        while True:
            records = [r for r in caplog.records if r.name == "mer.serve.access"
                       and r.fields["request_id"] == "log-test-1"]
            if records or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    assert len(records) == 1
    from serving.app.observability import JsonFormatter

    entry = json.loads(JsonFormatter().format(records[0]))
    assert entry["method"] == "GET" and entry["route"] == "/api/health"
    assert entry["status"] == 200 and entry["duration_ms"] >= 0 and entry["bytes_out"] > 0


def test_replies_never_show_paths(model_repo, tmp_path, make_wav):
    """Missing models, a model without the raw signature: the reply names the task, the log
    names the path."""
    client = EmotionClient(InProcessBackend(str(model_repo)), model_names={"ter": "nosig"})
    empty = EmotionClient(InProcessBackend(str(tmp_path)))
    for c in (client, empty):
        with BackgroundServer(c) as server:
            status, body = post_json(server, {"text": "hi", "audio_b64": base64.b64encode(
                make_wav()).decode()})
            assert status == 200, body
            assert body["results"]["ter"]["status"] in ("error", "unavailable")
            _, _, health = request(server, "GET", "/api/health")
            for text in (json.dumps(body), health.decode()):
                assert str(model_repo) not in text and str(tmp_path) not in text, text


def test_backend_down_is_a_503_without_its_address(free_port, caplog):
    client = EmotionClient(RestBackend(f"http://127.0.0.1:{free_port}", retries=0))
    with BackgroundServer(client) as server, caplog.at_level(logging.WARNING, "mer.serve"):
        status, body = post_json(server, {"text": "hi", "tasks": "ter"})
        assert status == 503 and body["error"]["code"] == "backend_unavailable"
        assert "unavailable" in body["error"]["message"]
        assert str(free_port) not in body["error"]["message"]
        status, _, data = request(server, "GET", "/api/health")
        assert status == 503 and json.loads(data)["status"] == "unavailable"
        assert str(free_port) not in data.decode()
    assert any(f"127.0.0.1:{free_port}" in r.getMessage() for r in caplog.records)


def test_web_app_over_tf_serving_grpc(tfs_server, loud_wav):
    """`mer serve --server grpc://...`: the same API, backed by the gRPC client."""
    from serving.backends.grpc import GrpcBackend

    with BackgroundServer(EmotionClient(GrpcBackend(tfs_server.grpc_url))) as server:
        status, body = post_json(server, {"text": "I love it",
                                          "audio_b64": base64.b64encode(loud_wav).decode()})
        assert status == 200, body
        assert [r["status"] for r in body["results"].values()] == ["ok", "ok", "ok"]
        assert body["backend"] == "TF Serving gRPC"


_TEXT_PART = b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\nI am happy\r\n'


@pytest.mark.parametrize("body, ctype, says", [
    (_TEXT_PART, "boundary=xyz", "ends in part 'text', without its closing boundary --xyz--"),
    (_TEXT_PART[:-8], "boundary=xyz", "ends in part 'text'"),
    (_TEXT_PART + b"--xyz--\r\n", "boundary=", "has an empty boundary parameter"),
    (_TEXT_PART + b"--xyz--\r\n", "charset=utf-8", "has no boundary parameter"),
    (_TEXT_PART.replace(b"I am", b"I \xff\xfe am") + b"--xyz--\r\n", "boundary=xyz",
     "form field 'text' is not valid utf-8 text"),
])
def test_malformed_multipart_says_what_is_malformed(app, body, ctype, says):
    """Issue 18 item 11: not "give text and/or an audio file" when text was sent, and invalid
    UTF-8 refused in a form field as it is in JSON."""
    status, _, data = request(app, "POST", "/api/predict", body,
                              {"Content-Type": f"multipart/form-data; {ctype}"})
    error = json.loads(data)["error"]
    assert status == 400 and error["code"] == "bad_multipart" and says in error["message"], data
    status, _ = post_form(app, {"text": "I am happy"}, {})
    assert status == 200


def test_input_without_signal_gets_no_emotion(app, loud_wav):
    """Issue 18 item 13: "." and 3 s of silence are not answered with an emotion; the task says
    why (the page shows `reason` for any status but ok); what has signal is answered."""
    from tests.serving.test_no_signal import SILENCE

    status, reply = post_json(app, {"text": "\u200b", "audio_b64": base64.b64encode(
        SILENCE).decode()})
    assert status == 200
    for task in ("ter", "ser", "mer"):
        assert reply["results"][task]["status"] == "no_signal", reply
        assert "predictions" not in reply["results"][task]
    assert "no letters" in reply["results"]["ter"]["reason"]
    assert "digital silence" in reply["results"]["ser"]["reason"]
    status, reply = post_json(app, {"text": ".", "audio_b64": base64.b64encode(
        loud_wav).decode()})
    assert [reply["results"][t]["status"] for t in ("ter", "ser", "mer")] == [
        "no_signal", "ok", "no_signal"]
