"""The web app's JSON API over a real HTTP server (the same one `mer serve` runs)."""

from __future__ import annotations

import base64
import http.client
import json
import uuid

import pytest

from serving.app import BackgroundServer, Limits
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
    ({"text": "hi", "tasks": ["ter", "xyz"]}, 400, "invalid_tasks"),
    ({"text": "hi", "top_k": 99}, 400, "invalid_top_k"),
    ({"text": "hi", "colour": "blue"}, 400, "unknown_fields"),
])
def test_json_errors(app, payload, status, code):
    got, body = post_json(app, payload)
    assert got == status and body["error"]["code"] == code, body
    assert body["error"]["status"] == status and body["error"]["message"]


def test_bad_wav_is_a_400_that_says_why(app):
    bad = b"RIFF\x10\x00\x00\x00WAVEnot audio"
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
    status, _, data = request(app, "POST", "/api/predict", b"{not json",
                              {"Content-Type": "application/json"})
    assert status == 400 and json.loads(data)["error"]["code"] == "invalid_json"


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


def test_health(app):
    status, _, data = request(app, "GET", "/api/health")
    body = json.loads(data)
    assert status == 200 and body["status"] == "ok"
    assert body["models"]["ter"] == {"status": "available", "version": "2"}
    assert body["limits"]["max_text_chars"] == 500
    assert "in-process" in body["backend"]


def test_openapi_document(app):
    status, _, data = request(app, "GET", "/openapi.json")
    doc = json.loads(data)
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/api/predict", "/api/health", "/openapi.json"}
    predict = doc["paths"]["/api/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"200", "400", "413", "415", "422"} <= set(predict["responses"])
    assert "500" in doc["info"]["description"]  # the configured text limit

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

    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_backend_down_is_a_503(free_port):
    client = EmotionClient(RestBackend(f"http://127.0.0.1:{free_port}", retries=0))
    with BackgroundServer(client) as server:
        status, body = post_json(server, {"text": "hi", "tasks": "ter"})
        assert status == 503 and body["error"]["code"] == "backend_unavailable"
        assert f"127.0.0.1:{free_port}" in body["error"]["message"]
        status, _, data = request(server, "GET", "/api/health")
        assert status == 503 and json.loads(data)["status"] == "unavailable"


def test_web_app_over_tf_serving_grpc(tfs_server, loud_wav):
    """`mer serve --server grpc://...`: the same API, backed by the gRPC client."""
    from serving.backends.grpc import GrpcBackend

    with BackgroundServer(EmotionClient(GrpcBackend(tfs_server.grpc_url))) as server:
        status, body = post_json(server, {"text": "I love it",
                                          "audio_b64": base64.b64encode(loud_wav).decode()})
        assert status == 200, body
        assert [r["status"] for r in body["results"].values()] == ["ok", "ok", "ok"]
        assert "gRPC" in body["backend"]
