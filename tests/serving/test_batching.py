"""Micro-batching in the in-process backend: concurrent requests share model calls."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from serving.backends.batching import BATCHING_CONFIG, BatchingParams, MicroBatcher
from serving.backends.inprocess import InProcessBackend
from serving.client import EmotionClient
from serving.errors import PredictionError, ServerUnavailableError


class Recorder:
    """A fake model: echoes each row's number back as its probability; b"bad" fails."""

    def __init__(self, delay_s: float = 0.0):
        self.batches: list[int] = []
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self, inputs):
        rows = inputs["x"]
        with self.lock:
            self.batches.append(len(rows))
        time.sleep(self.delay_s)
        if b"bad" in rows:
            raise ValueError("unreadable row")
        probs = np.array([[float(r.decode())] for r in rows])
        return probs, np.array([[b"n"]] * len(rows))


def test_params_come_from_tf_servings_batching_config():
    params = BatchingParams.from_file(BATCHING_CONFIG)
    assert params == BatchingParams(max_batch_size=32, batch_timeout_s=0.002,
                                    max_enqueued_batches=100, num_batch_threads=4)


def test_concurrent_requests_are_merged_and_answered_row_by_row():
    model = Recorder(delay_s=0.01)
    batcher = MicroBatcher(model, BatchingParams(max_batch_size=8, batch_timeout_s=0.05,
                                                 num_batch_threads=1))
    with ThreadPoolExecutor(16) as pool:
        outs = list(pool.map(lambda i: batcher.submit({"x": [str(i).encode()] * (1 + i % 2)}),
                             range(32)))
    for i, (probs, _) in enumerate(outs):
        assert probs.shape == (1 + i % 2, 1) and np.all(probs == i)  # its own rows, in order
    assert sum(model.batches) == sum(1 + i % 2 for i in range(32))
    assert len(model.batches) < 32 and max(model.batches) <= 8
    batcher.close()


def test_one_bad_request_fails_alone():
    model = Recorder()
    batcher = MicroBatcher(model, BatchingParams(max_batch_size=4, batch_timeout_s=0.2,
                                                 num_batch_threads=1))
    rows = [b"1", b"bad", b"3", b"4"]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batcher.submit, {"x": [r]}) for r in rows]
        results = []
        for f in futures:
            try:
                results.append(float(f.result()[0][0, 0]))
            except ValueError as e:
                results.append(str(e))
    assert results == [1.0, "unreadable row", 3.0, 4.0]
    assert model.batches[0] == 4  # merged first, then re-run one by one
    batcher.close()


def test_a_full_queue_is_refused_at_once():
    gate = threading.Event()

    def slow(inputs):
        gate.wait(120)  # held until the refusal was checked
        return np.zeros((len(inputs["x"]), 1)), np.array([[b"n"]] * len(inputs["x"]))

    batcher = MicroBatcher(slow, BatchingParams(max_batch_size=1, batch_timeout_s=0.0,
                                                max_enqueued_batches=2, num_batch_threads=1))
    pool = ThreadPoolExecutor(4)

    def wait_for(what, done) -> None:
        deadline = time.monotonic() + 60
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert done(), (f"{what} within 60 s: batches run {batcher.batches_run}, queued "
                        f"{batcher.queued_batches}, futures done {[f.done() for f in pending]}")

    pending = [pool.submit(batcher.submit, {"x": [b"0"]})]
    wait_for("the first request running", lambda: batcher.batches_run == 1)
    pending += [pool.submit(batcher.submit, {"x": [b"0"]}) for _ in range(2)]
    wait_for("two requests queued", lambda: batcher.queued_batches == 2)
    with pytest.raises(ServerUnavailableError, match="overloaded"):
        batcher.submit({"x": [b"0"]})
    gate.set()
    assert all(f.result()[0].shape == (1, 1) for f in pending)
    batcher.close()
    pool.shutdown()


def test_in_process_backend_batches_concurrent_clients(model_repo, make_wav):
    params = BatchingParams(max_batch_size=16, batch_timeout_s=0.02, num_batch_threads=1)
    batched = InProcessBackend(str(model_repo), batching=params)
    plain = InProcessBackend(str(model_repo), batching=None)
    wavs = [make_wav(amplitude=a) for a in (0.005, 0.05, 0.1, 0.9)] * 6
    with EmotionClient(batched) as client, EmotionClient(plain) as reference:
        client.predict("ser", audio=wavs[0])  # load the model
        with ThreadPoolExecutor(12) as pool:
            got = list(pool.map(lambda w: client.predict("ser", audio=w, top_k=4), wavs))
        want = [reference.predict("ser", audio=w, top_k=4) for w in wavs]
        for g, w in zip(got, want, strict=True):
            assert [p.emotion for p in g] == [p.emotion for p in w]
            np.testing.assert_allclose([p.probability for p in g],
                                       [p.probability for p in w], atol=1e-6)
        batches, rows = batched.batch_stats()["ser"]
        assert rows == len(wavs) + 1 and batches < rows
        with pytest.raises(PredictionError, match="16 kHz mono"):  # errors still per request
            client.predict("ser", audio=make_wav(rate=8000))
