"""`mer predict` with --model-dir / --server / --task, and `mer serve`'s arguments."""

from __future__ import annotations

import pytest

from components.core import errors
from pipeline import cli, serving_cli


@pytest.fixture
def wav_file(tmp_path, make_wav):
    path = tmp_path / "loud.wav"
    path.write_bytes(make_wav(amplitude=0.9, rate=48000, channels=2))
    return str(path)


def test_predict_all_tasks_in_process(model_repo, wav_file, capsys):
    rc = cli.main(["predict", "--model-dir", str(model_repo), "--text", "I am so happy",
                   "--audio", wav_file])
    out = capsys.readouterr().out
    assert rc == 0
    assert "in-process models from" in out
    for task in ("ter:", "ser:", "mer:"):
        assert task in out
    assert out.split("ter:")[1].split()[0] == "happy"
    assert out.split("ser:")[1].split()[0] == "angry"


@pytest.mark.parametrize("scheme", ["rest", "grpc"])
def test_predict_through_tf_serving(tfs_server, scheme, capsys):
    url = tfs_server.rest_url if scheme == "rest" else tfs_server.grpc_url
    rc = cli.main(["predict", "--server", url, "--task", "ter", "--text", "so lonely",
                   "--top-k", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and url in out
    assert out.split("ter:")[1].split()[0] == "sad"
    assert "ser:" not in out


def test_task_needing_a_missing_input_exits_with_the_reason(model_repo, capsys):
    assert cli.main(["predict", "--model-dir", str(model_repo), "--task", "ser",
                     "--text", "hi"]) == errors.USER_ERROR_EXIT
    err = capsys.readouterr().err
    assert err.startswith("mer: error: ") and "needs audio" in err


def test_audio_only_transcribes_or_skips_the_text_tasks(model_repo, wav_file, capsys):
    rc = cli.main(["predict", "--model-dir", str(model_repo), "--audio", wav_file])
    out = capsys.readouterr().out
    assert rc == 0 and out.split("ser:")[1].split()[0] == "angry"
    # A tone has no words: pocketsphinx (if installed) finds none, so TER/MER are skipped
    # with a reason either way.
    assert "ter: skipped" in out and "mer: skipped" in out
    rc = cli.main(["predict", "--model-dir", str(model_repo), "--audio", wav_file, "--no-asr"])
    assert rc == 0 and "ASR" not in capsys.readouterr().out


def test_single_model_dir_keeps_the_original_behaviour(model_repo, capsys):
    rc = cli.main(["predict", "--model-dir", str(model_repo / "ter"), "--text", "furious"])
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith(f"model {model_repo / 'ter' / '2'}")
    assert out.splitlines()[1].split()[0] == "angry"


def test_server_down_is_reported_not_a_traceback(free_port, capsys):
    rc = cli.main(["predict", "--server", f"http://127.0.0.1:{free_port}", "--task", "ter",
                   "--text", "hi", "--timeout", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "unavailable" in err and "Start it" in err


def test_serve_arguments():
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.server) == ("127.0.0.1", 8080, None)
    assert args.model_dir.endswith("artifacts/serving") and args.fn is serving_cli.cmd_serve
    args = cli.build_parser().parse_args(
        ["serve", "--port", "9000", "--server", "grpc://localhost:8500"])
    assert (args.port, args.server) == (9000, "grpc://localhost:8500")
    assert args.batching_config is None
    args = cli.build_parser().parse_args(["serve", "--batching-config", "my.config"])
    assert args.batching_config == "my.config"
