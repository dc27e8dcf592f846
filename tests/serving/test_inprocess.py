"""The in-process backend end to end: fixture SavedModels -> EmotionClient -> predictions."""

from __future__ import annotations

import shutil

import pytest

from serving.backends.inprocess import InProcessBackend
from serving.client import EmotionClient, backend_from_url
from serving.errors import MissingInputError, ModelNotFoundError, PredictionError, SignatureError


@pytest.fixture(scope="module")
def client(model_repo):
    return EmotionClient(InProcessBackend(str(model_repo)))


def test_backend_from_path_is_in_process(model_repo):
    backend = backend_from_url(str(model_repo))
    assert isinstance(backend, InProcessBackend)
    assert str(model_repo) in backend.description and backend.kind == "in-process"


def test_ter_ser_mer_predictions(client, loud_wav, quiet_wav):
    ter = client.predict("ter", text="What a wonderful, happy day")
    assert [p.emotion for p in ter][0] == "happy"
    assert len(ter) == 3 and ter[0].probability > ter[1].probability >= ter[2].probability

    assert client.predict("ser", audio=loud_wav)[0].emotion == "angry"
    assert client.predict("ser", audio=quiet_wav)[0].emotion == "sad"
    # MER: "I hate" (angry text) + loud audio (angry) -> angry, with the probabilities of a
    # softmax over all classes.
    mer = client.predict("mer", text="I hate waiting", audio=loud_wav, top_k=4)
    assert mer[0].emotion == "angry"
    assert sum(p.probability for p in mer) == pytest.approx(1.0, abs=1e-5)


def test_inputs_the_task_does_not_use_are_ignored(client, loud_wav):
    with_audio = client.predict("ter", text="so sad", audio=loud_wav)
    assert with_audio == client.predict("ter", text="so sad")


def test_newest_version_wins(client, model_repo):
    # ter/2 adds a "surprise" class; ter/1 has four.
    preds = client.predict("ter", text="hello", top_k=10)
    assert {p.emotion for p in preds} == {"neutral", "happy", "sad", "angry", "surprise"}
    assert client.model_version("ter") == "2"
    assert client.model_version("ser") == "1"


def test_batch_prediction(client, loud_wav, quiet_wav):
    rows = client.predict_batch("mer", texts=["I am glad", "so lonely"],
                                audios=[loud_wav, quiet_wav], top_k=1)
    assert len(rows) == 2 and all(len(r) == 1 for r in rows)
    assert rows[1][0].emotion == "sad"


def test_missing_input_and_unknown_task(client):
    with pytest.raises(MissingInputError, match="needs audio"):
        client.predict("ser", text="no audio here")
    with pytest.raises(MissingInputError, match="needs text and audio"):
        client.predict("mer", text="only text")
    with pytest.raises(ModelNotFoundError, match="unknown task 'xyz'"):
        client.predict("xyz", text="hi")


def test_missing_model_says_how_to_fix(tmp_path):
    client = EmotionClient(InProcessBackend(str(tmp_path)))
    with pytest.raises(ModelNotFoundError, match="make demo") as err:
        client.predict("ter", text="hi")
    assert str(tmp_path) in str(err.value)
    # One error type for every backend, and a FileNotFoundError, which the CLI reports cleanly.
    assert isinstance(err.value, FileNotFoundError)


def test_model_without_raw_signature(model_repo):
    client = EmotionClient(InProcessBackend(str(model_repo)), model_names={"ter": "nosig"})
    with pytest.raises(SignatureError, match="predict_raw"):
        client.predict("ter", text="hi")


def test_bad_wav_is_a_prediction_error_with_the_models_reason(client, model_repo):
    with pytest.raises(PredictionError, match="16 kHz mono 16-bit PCM WAV") as err:
        client.predict("ser", audio=b"definitely not a wav file")
    assert str(model_repo) in str(err.value)  # for the operator
    assert "not a WAV file" in err.value.public and str(model_repo) not in err.value.public


def test_version_pinning_is_refused_in_process(client):
    with pytest.raises(ModelNotFoundError, match="newest version"):
        client.predict("ter", text="hi", version=1)


def test_a_newly_pushed_version_is_picked_up(tmp_path, model_repo, loud_wav):
    repo = tmp_path / "repo"
    shutil.copytree(model_repo / "ser", repo / "ser")
    client = EmotionClient(InProcessBackend(str(repo), reload_interval_s=0.0))
    assert client.model_version("ser") == "1"
    shutil.copytree(model_repo / "ser" / "1", repo / "ser" / "7")  # the Pusher pushes v7
    assert client.model_version("ser") == "7"
    assert client.predict("ser", audio=loud_wav)[0].emotion == "angry"


def test_class_names_are_decoded_once_per_version(model_repo, loud_wav):
    """Issue 20: the names are fixed per version, so 10 batched requests decode them once."""
    backend = InProcessBackend(str(model_repo), batching=None)
    model = backend._model("ser")
    decoded = []
    original = model._names

    def counting(emotions):
        if model.class_names is None:
            decoded.append(1)
        return original(emotions)

    model._names = counting
    for _ in range(10):
        backend.predict_batch("ser", {"audio": [loud_wav] * 4}, top_k=2)
    assert len(decoded) == 1 and model.class_names == ["neutral", "happy", "sad", "angry"]


def test_a_wav_only_request_runs_one_model_without_the_pool(model_repo, loud_wav):
    """Issue 20: TER and MER cannot run without text, so only SER calls a model, on the
    request's own thread (no hand-off to the task pool)."""
    from serving.app.service import PredictInput, PredictService

    service = PredictService(EmotionClient(InProcessBackend(str(model_repo), batching=None)))
    used, pool_map = [], service._pool.map
    service._pool.map = lambda fn, tasks: used.append(list(tasks)) or pool_map(fn, tasks)
    reply = service.predict(PredictInput(audio=loud_wav))
    assert used == []
    assert reply.results["ser"].status == "ok"
    assert [reply.results[t].status for t in ("ter", "mer")] == ["skipped", "skipped"]
    both = service.predict(PredictInput(text="so happy", audio=loud_wav, tasks=["ter", "ser"]))
    assert used == [["ter", "ser"]] and both.results["ter"].status == "ok"  # two: the pool


def test_close_leaves_no_batch_thread_running(tmp_path, model_repo, loud_wav):
    """Every batch thread, the replaced version's too, is gone when close() returns: a daemon
    batch thread still waking up at interpreter exit aborted `mer predict` (exit 134)."""
    import threading

    before = set(threading.enumerate())  # other tests' clients may hold batch threads
    repo = tmp_path / "repo"
    shutil.copytree(model_repo / "ser", repo / "ser")
    client = EmotionClient(InProcessBackend(str(repo), reload_interval_s=0.0))
    client.predict("ser", audio=loud_wav)
    shutil.copytree(model_repo / "ser" / "1", repo / "ser" / "2")
    client.predict("ser", audio=loud_wav)  # version 2 replaces 1: 1's batcher is retired
    client.close()
    alive = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("batch-")]
    assert alive == []
