"""Micro-batching for the in-process backend: concurrent requests to one model share a call.

Why: a model call has a fixed cost (Python dispatch, the tf.Transform graph's many small ops,
thread hand-offs) that a batch of 16 clips pays once instead of 16 times, and the in-graph
features run several times faster per clip in batches. TF Serving does this with
`--enable_batching`; this is the same scheme, with the same parameters read from the same file
(`serving/batching.config`), so the in-process web app behaves like the deployment:

* requests join the *open* batch until it holds `max_batch_size` rows or `batch_timeout` has
  passed since its first request, then it is closed and queued;
* `num_batch_threads` threads run the queued batches, oldest first;
* more than `max_enqueued_batches` queued batches and a request is refused at once
  (`ServerUnavailableError`: back-pressure instead of an ever-growing queue).

A request larger than `max_batch_size` rows runs as its own batch. If a merged batch fails
(e.g. one request's audio is unreadable), every request in it is re-run alone, so only the bad
one gets the error, as it would without batching.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from components.core.errors import ConfigurationError
from serving.errors import ServerUnavailableError

BATCHING_CONFIG = Path(__file__).resolve().parents[1] / "batching.config"

#: What a batch run returns: probabilities [N, C] and the C emotion names, which are the same
#: for every row of a model version (so only the probabilities are split between requests).
Outputs = tuple[np.ndarray, Sequence[str]]
RunBatch = Callable[[Mapping[str, Sequence[bytes]]], Outputs]


class BatcherClosedError(ServerUnavailableError):
    """The batcher was closed (its model version was replaced): submit to the new one."""


@dataclass(frozen=True)
class BatchingParams:
    max_batch_size: int = 32
    batch_timeout_s: float = 0.002
    max_enqueued_batches: int = 100
    num_batch_threads: int = 4

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.num_batch_threads < 1 or self.max_enqueued_batches < 1:
            raise ConfigurationError(f"batching sizes and thread counts must be >= 1: {self}")
        if self.batch_timeout_s < 0:
            raise ConfigurationError(f"batch_timeout must be >= 0: {self}")

    @classmethod
    def from_file(cls, path: str | Path = BATCHING_CONFIG) -> BatchingParams:
        """Read TF Serving's text-format BatchingParameters (the fields this scheme uses)."""
        text = Path(path).read_text()
        values = {k: int(v) for k, v in re.findall(r"(\w+)\s*\{\s*value:\s*(\d+)\s*\}", text)}
        known = {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
                 "num_batch_threads"}
        if not known & set(values):
            raise ConfigurationError(f"{path}: no batching parameters found (expected lines "
                                     f"such as `max_batch_size {{ value: 32 }}`)")
        default = cls()
        return cls(
            max_batch_size=values.get("max_batch_size", default.max_batch_size),
            batch_timeout_s=values.get("batch_timeout_micros",
                                       default.batch_timeout_s * 1e6) / 1e6,
            max_enqueued_batches=values.get("max_enqueued_batches",
                                            default.max_enqueued_batches),
            num_batch_threads=values.get("num_batch_threads", default.num_batch_threads))


@dataclass
class _Request:
    inputs: Mapping[str, Sequence[bytes]]
    rows: int
    future: Future


class MicroBatcher:
    """Runs `run_batch` on merged concurrent requests; `submit` blocks until its rows are done."""

    def __init__(self, run_batch: RunBatch, params: BatchingParams, name: str = "model"):
        self._run_batch, self.params, self.name = run_batch, params, name
        self._cond = threading.Condition()
        self._open: list[_Request] = []
        self._open_rows = 0
        self._deadline = 0.0
        self._ready: deque[list[_Request]] = deque()
        self._closed = False
        self.batches_run = 0  # statistics, for the benchmark and tests
        self.rows_run = 0
        self._threads = [threading.Thread(target=self._work, name=f"batch-{name}-{i}",
                                          daemon=True)
                         for i in range(params.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, inputs: Mapping[str, Sequence[bytes]]) -> Outputs:
        rows = len(next(iter(inputs.values())))
        request = _Request(inputs, rows, Future())
        with self._cond:
            if self._closed:
                raise BatcherClosedError(f"the batcher of {self.name} is closed",
                                         public="the model is being replaced; retry")
            if len(self._ready) >= self.params.max_enqueued_batches:
                raise ServerUnavailableError(
                    f"{self.name}: {len(self._ready)} batches are queued (max_enqueued_batches);"
                    f" the server is overloaded, retry later",
                    public="the server is overloaded; retry later")
            if self._open and self._open_rows + rows > self.params.max_batch_size:
                self._close_open()
            if not self._open:
                self._deadline = time.monotonic() + self.params.batch_timeout_s
            self._open.append(request)
            self._open_rows += rows
            if self._open_rows >= self.params.max_batch_size:
                self._close_open()
            self._cond.notify()
        return request.future.result()

    @property
    def queued_batches(self) -> int:
        """Closed batches waiting for a thread (what `max_enqueued_batches` bounds)."""
        with self._cond:
            return len(self._ready)

    def close(self) -> None:
        """Finish what is queued, then stop the threads (a replaced model version's batcher).

        Returns at once; `join` waits for the threads to be gone."""
        with self._cond:
            self._closed = True
            if self._open:
                self._close_open()
            self._cond.notify_all()

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until every batch thread has exited (after `close`); True when none is left.

        Why it matters: the threads are daemons, and a daemon thread still waking up from its
        condition while the interpreter finalises is ended by CPython with `pthread_exit`, whose
        forced unwind through TensorFlow's C++ frames aborts the process ("terminate called
        after throwing an instance of ''", exit 134) after the command already answered. So
        every owner closes and joins its batchers before the process exits."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _close_open(self) -> None:  # holding the lock
        self._ready.append(self._open)
        self._open, self._open_rows = [], 0

    def _next_batch(self) -> Optional[list[_Request]]:
        with self._cond:
            while True:
                if self._ready:
                    return self._ready.popleft()
                now = time.monotonic()
                if self._open and now >= self._deadline:
                    self._close_open()
                    continue
                if self._closed:
                    return None
                self._cond.wait(self._deadline - now if self._open else None)

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        self.batches_run += 1
        self.rows_run += sum(r.rows for r in batch)
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        names = list(batch[0].inputs)
        merged = {k: [v for r in batch for v in r.inputs[k]] for k in names}
        try:
            probabilities, emotions = self._run_batch(merged)
        except Exception:  # noqa: BLE001 - find the request(s) at fault, one by one
            for request in batch:
                self._run_alone(request)
            return
        start = 0
        for request in batch:
            end = start + request.rows
            request.future.set_result((probabilities[start:end], emotions))
            start = end

    def _run_alone(self, request: _Request) -> None:
        try:
            request.future.set_result(self._run_batch(request.inputs))
        except Exception as e:  # noqa: BLE001 - handed to the caller's thread
            request.future.set_exception(e)
