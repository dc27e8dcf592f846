"""The clients against the real `tensorflow_model_server`, when that binary is on PATH.

The binary cannot be installed in this project's CI (no apt or PyPI package ships it), so
this skips there, saying why; on a machine with TF Serving (e.g. inside the
tensorflow/serving image, or with the apt repository from TF Serving's install guide) it
runs the REST and gRPC clients, serving/batching.config and the warm-up records against
the real server.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

BINARY = shutil.which("tensorflow_model_server")

pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="tensorflow_model_server is not on PATH (not installable in this environment; "
           "see docs/serving.md to run this test where TF Serving is installed)")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def real_server(model_repo, tmp_path_factory):
    from pathlib import Path

    from components.core.warmup import write_warmup_requests

    root = tmp_path_factory.mktemp("real_tfs")
    repo = root / "models"
    for task in ("ter", "ser", "mer"):
        shutil.copytree(model_repo / task, repo / task)
        newest = max((p for p in (repo / task).iterdir() if p.name.isdigit()),
                     key=lambda p: int(p.name))
        write_warmup_requests(str(newest), task)
    config = root / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{t}" base_path: "{repo / t}" model_platform: "tensorflow" '
        f"model_version_policy {{ latest {{ num_versions: 1 }} }} }}\n"
        for t in ("ter", "ser", "mer")) + "}\n")
    batching = Path(__file__).resolve().parents[2] / "serving" / "batching.config"
    grpc_port, rest_port = _free_port(), _free_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [BINARY, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
         f"--model_config_file={config}", "--enable_batching=true",
         f"--batching_parameters_file={batching}"],
        stdout=log, stderr=subprocess.STDOUT)
    from serving.client import EmotionClient, backend_from_url
    from serving.errors import ServingError

    client = EmotionClient(backend_from_url(f"http://127.0.0.1:{rest_port}", retries=0))
    deadline = time.monotonic() + 90
    while True:
        try:
            if all(client.model_version(t) for t in ("ter", "ser", "mer")):
                break
        except ServingError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"tensorflow_model_server did not serve the models: "
                        f"{(root / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield grpc_port, rest_port
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_clients_against_tensorflow_model_server(real_server, scheme, loud_wav, quiet_wav):
    from serving.client import EmotionClient, backend_from_url
    from serving.errors import ModelNotFoundError, SignatureError

    grpc_port, rest_port = real_server
    port = rest_port if scheme == "http" else grpc_port
    client = EmotionClient(backend_from_url(f"{scheme}://127.0.0.1:{port}"))
    assert client.predict("ter", text="so happy")[0].emotion == "happy"
    assert client.predict("ser", audio=quiet_wav)[0].emotion == "sad"
    assert client.predict("mer", text="I hate it", audio=loud_wav)[0].emotion == "angry"
    assert len(client.predict("ter", text="hi", top_k=10)) == 5  # ter/2 is the newest
    with pytest.raises(ModelNotFoundError):
        EmotionClient(client.backend, model_names={"ter": "nope"}).predict("ter", text="hi")
    with pytest.raises(SignatureError):
        client.backend.predict_batch("ter", {"audio": [b"x"]}, top_k=3)
    client.close()


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_real_server_refuses_audio_the_model_cannot_read(real_server, scheme, make_wav):
    """The raw signature's header check holds in TF Serving itself (INVALID_ARGUMENT)."""
    from serving.client import EmotionClient, backend_from_url
    from serving.errors import PredictionError

    grpc_port, rest_port = real_server
    port = rest_port if scheme == "http" else grpc_port
    client = EmotionClient(backend_from_url(f"{scheme}://127.0.0.1:{port}"))
    for audio, found in ((make_wav(rate=44100), "44100 Hz"),
                         (make_wav(subtype="PCM_24"), "24 bits")):
        with pytest.raises(PredictionError, match="16 kHz mono 16-bit PCM WAV") as err:
            client.predict("ser", audio=audio)
        assert found in str(err.value)
    client.close()
