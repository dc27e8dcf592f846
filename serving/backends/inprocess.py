"""The pushed SavedModels loaded in this process: no server needed (`make demo`, tests, `mer`).

`InProcessModel` is one loaded version; `InProcessBackend` serves a model repository in TF
Serving's layout (`<repo>/<task>/<version>/saved_model.pb`) the way TF Serving's `latest`
policy does, and merges concurrent requests into batches the way TF Serving's batching does
(`serving/backends/batching.py`, parameters from `serving/batching.config`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import logging
import os
import threading
import time
from typing import Literal, Mapping, Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core.saved_model_check import (  # noqa: E402
    VersionCheckError,
    load_checked,
    missing_part,
)
from components.core.signatures import EMOTIONS, PROBABILITIES, RAW_SIGNATURE  # noqa: E402
from components.core.tasks import TASKS  # noqa: E402
from serving.backends.base import (  # noqa: E402
    Backend,
    Prediction,
    model_error_summary,
    top_k_predictions,
)
from serving.backends.batching import (  # noqa: E402
    BatcherClosedError,
    BatchingParams,
    MicroBatcher,
)
from serving.backends.versions import (  # noqa: E402
    numbered_versions,
    resolve_version_dir,
    still_there,
    version_stamp,
)
from serving.errors import (  # noqa: E402
    InvalidInputError,
    ModelNotFoundError,
    PredictionError,
    ServingError,
    SignatureError,
)

log = logging.getLogger("mer.serve")
try:  # glibc (Linux): return freed heap pages to the system after a version is released
    _LIBC: Optional[ctypes.CDLL] = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):  # another libc (macOS, musl): RSS is the allocator's business
    _LIBC = None


class InProcessModel:
    """A pushed model loaded in this process; `predict` takes raw text / WAV bytes.

    Loading checks the version the way TF Serving does before it serves one
    (`components.core.saved_model_check`): it must load, have `predict_raw` and answer its
    warm-up requests, else `VersionCheckError` says why.
    """

    def __init__(self, model_dir: str):
        self.path = resolve_version_dir(model_dir)
        self.version = os.path.basename(self.path)
        self._model, self._fn = load_checked(self.path)
        self.inputs = tuple(sorted(self._fn.structured_input_signature[1]))
        self.class_names: Optional[list[str]] = None  # decoded on the first call

    @staticmethod
    def release() -> None:
        """Free replaced versions now. A loaded SavedModel's object graph is full of reference
        cycles, so once the backend drops a version its functions and graphs (tens of MB for a
        real model) stayed until some later collection, and RSS grew with every version picked
        up (issue 18, item 3). Calls still running on it hold their own reference and finish.
        The freed heap is then handed back to the system (glibc's `malloc_trim`): without it a
        long-running server kept 11-21 MB per pickup in malloc's arenas, so the RSS a memory
        limit sees still grew; with it, +2.2 MB (the fault suite's order, 11 pickups)."""
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)

    @property
    def saved_model(self):
        """The loaded SavedModel (its other signatures: `mer evaluate` runs serving_default)."""
        return self._model

    def run(self, inputs: Mapping[str, Sequence[bytes]]) -> tuple[np.ndarray, list[str]]:
        """`predict_raw` on N rows: (probabilities [N, C], the C class names)."""
        out = self._call({k: tf.constant(list(v), dtype=tf.string) for k, v in inputs.items()})
        return out[PROBABILITIES].numpy(), self._names(out[EMOTIONS])

    def _names(self, emotions: tf.Tensor) -> list[str]:
        """The class names, decoded once per version: every row of `emotions` repeats the same
        names (the Trainer exports them as a constant), so decoding them per row and request
        was wasted work."""
        if self.class_names is None:
            self.class_names = [n.decode("utf-8") for n in emotions[0].numpy()]
        return self.class_names

    def _call(self, feeds: Mapping[str, tf.Tensor]) -> Mapping[str, tf.Tensor]:
        """The signature call, with TF's refusals always an InvalidArgumentError.

        TF builds some refusals from the input's own bytes (`tf.audio.decode_wav` quotes a
        corrupt chunk id); when those are not UTF-8, Python gets a UnicodeDecodeError instead
        of the InvalidArgumentError TF Serving would answer. The message is recovered here.
        """
        try:
            return self._fn(**feeds)
        except UnicodeDecodeError as e:
            raw = e.object if isinstance(e.object, (bytes, bytearray)) else b""
            message = model_error_summary(bytes(raw).decode("utf-8", "backslashreplace"))
            raise tf.errors.InvalidArgumentError(
                None, None, f"the input is not readable: {message or 'corrupt data'}") from None

    def predict(
        self, text: Optional[str] = None, audio: Optional[bytes] = None, top_k: int = 3
    ) -> list[Prediction]:
        given = {"text": text, "audio": audio}
        missing = [k for k in self.inputs if given[k] is None]
        if missing:
            raise ValueError(f"Model {self.path} needs input(s) {missing}.")
        feeds = {}
        for k in self.inputs:
            value = given[k]
            if isinstance(value, str):
                value = value.encode("utf-8")
            feeds[k] = tf.constant([value])
        out = self._call(feeds)
        return top_k_predictions(out[PROBABILITIES].numpy()[0], self._names(out[EMOTIONS]),
                                 top_k)


class InProcessBackend(Backend):
    """The pushed SavedModels loaded in this process: no server needed (`make demo`, tests).

    Like TF Serving with the `latest` version policy, each task's newest numbered version that
    loads and answers its warm-up requests is served, and the repository is re-scanned at most
    every `reload_interval_s` so a newly pushed version replaces the old one without a restart.
    A newer version that fails the check does not: the one serving keeps serving (or, at start,
    the newest older one that passes), and `model_failures` says why, as TF Serving keeps
    the last AVAILABLE version until a new one loads. Models load lazily on first use
    (call `warm_up()` to pay that cost up front). Concurrent requests are micro-batched with
    `batching` (default: `serving/batching.config`, as TF Serving; None turns it off).
    """

    kind = "in-process"

    def __init__(self, model_repository: str, reload_interval_s: float = 30.0,
                 batching: Optional[BatchingParams] | Literal["config"] = "config"):
        self.model_repository = os.path.abspath(model_repository)
        self.description = f"in-process models from {self.model_repository}"
        self.reload_interval_s = reload_interval_s
        self.batching = BatchingParams.from_file() if batching == "config" else batching
        # task -> (InProcessModel, when checked, its batcher or None)
        self._models: dict[str, tuple[InProcessModel, float, Optional[MicroBatcher]]] = {}
        # task -> version -> (saved_model.pb's (mtime, size) when it failed, the check's error)
        self._failed: dict[str, dict[str, tuple[Optional[tuple], VersionCheckError]]] = {}
        self._retired: list[MicroBatcher] = []  # replaced versions' batchers, still draining
        self._lock = threading.Lock()

    def _entry(self, task: str) -> tuple[InProcessModel, float, Optional[MicroBatcher]]:
        entry = self._models.get(task)
        if entry is not None and time.monotonic() - entry[1] < self.reload_interval_s:
            return entry
        replaced: list[Optional[MicroBatcher]] = []
        try:
            with self._lock:
                return self._rescan(task, replaced)
        finally:
            if replaced:  # drained and freed outside the lock: other tasks keep answering
                self._release(replaced)

    def _rescan(self, task: str, replaced: list[Optional[MicroBatcher]]
                ) -> tuple[InProcessModel, float, Optional[MicroBatcher]]:
        """`task`'s entry after a re-scan (holding the lock); each version it stops serving
        adds its closed batcher (None without batching) to `replaced`."""
        entry = self._models.get(task)
        if entry is not None and time.monotonic() - entry[1] < self.reload_interval_s:
            return entry
        current = entry[0] if entry is not None else None
        if current is not None and not still_there(current.path):
            # The serving version was deleted: TF Serving unloads it and serves the newest
            # version left, so do the same (a rollback is `rm -rf <repo>/<task>/<v>`).
            log.warning("%s version %s was removed from disk; unloading it", task,
                        current.version)
            self._unload(task, replaced)
            current = entry = None
        # The newest version above `current` that passes the check (None: keep `current`).
        model = load_newest(os.path.join(self.model_repository, task),
                            self._failed.setdefault(task, {}), current, label=task)
        if model is None:
            if entry is not None:  # nothing newer loads: the current version keeps serving
                entry = (entry[0], time.monotonic(), entry[2])
                self._models[task] = entry
                return entry
            raise self._not_found(task)
        self._unload(task, replaced)  # the old version finishes its queue, then is freed
        batcher = None if self.batching is None else MicroBatcher(
            model.run, self.batching_threads(), name=f"{task}-v{model.version}")
        entry = (model, time.monotonic(), batcher)
        self._models[task] = entry
        return entry

    def _unload(self, task: str, replaced: list[Optional[MicroBatcher]]) -> None:
        """Stop serving `task`'s current version (holding the lock): its batcher is closed, so
        queued requests finish on it, and goes to `replaced` for `_release`."""
        entry = self._models.pop(task, None)
        if entry is not None:
            if entry[2] is not None:
                entry[2].close()
            replaced.append(entry[2])

    def _release(self, replaced: list[Optional[MicroBatcher]]) -> None:
        """Wait for replaced versions' batchers to drain, then free the versions (see
        `InProcessModel.release`); one still draining after 30 s is joined by `close`."""
        for batcher in replaced:
            if batcher is not None and not batcher.join(30.0):
                with self._lock:
                    self._retired.append(batcher)
        del replaced[:]
        InProcessModel.release()

    def _not_found(self, task: str) -> ModelNotFoundError:
        base = os.path.join(self.model_repository, task)
        failed = self.model_failures(task)
        errors = self._failed.get(task) or {}
        error = errors[max(errors, key=int)][1] if errors else None
        if error is not None and error.no_signature:
            return SignatureError(f"model {task!r} at {error.path} has no usable version: "
                                  f"{error.reason}", public=f"model {task!r}: {error.reason}")
        if failed:
            why = "; ".join(f"version {v}: {r}" for v, r in failed.items())
            return ModelNotFoundError(
                f"no {task!r} version in {base} loads ({why}); push a good version (`mer run`) "
                f"or remove the broken ones", public=f"no {task!r} version loads ({why})")
        return ModelNotFoundError(
            f"no {task!r} model in {self.model_repository} (expected "
            f"{base}/<version>/saved_model.pb). Run `make demo` (or `mer run`) so the "
            f"Pusher writes it, or point --model-dir at the Pusher's serving "
            f"directory.", public=f"no {task!r} model is served")

    def model_failures(self, task: str) -> dict[str, str]:
        """version -> why it is not served, for the versions of `task` that failed the check
        (as of the last re-scan)."""
        return {v: error.reason for v, (_, error) in
                sorted((self._failed.get(task) or {}).items(), key=lambda kv: -int(kv[0]))}

    def batching_threads(self) -> Optional[BatchingParams]:
        """The batching parameters with at most one batch thread per CPU core: more threads
        than cores only split the same rows into smaller, costlier batches."""
        if self.batching is None:
            return None
        threads = min(self.batching.num_batch_threads, os.cpu_count() or 1)
        return dataclasses.replace(self.batching, num_batch_threads=threads)

    def configure_tf_threads(self) -> None:
        """Give each batch thread its share of the cores for TF's ops (as TF Serving pairs
        `num_batch_threads` with `--tensorflow_intra_op_parallelism`): one big op pool shared
        by concurrent small batches costs more in hand-offs than it gains. Must run before
        TensorFlow executes anything in this process; does nothing afterwards."""
        params = self.batching_threads()
        if params is None:
            return
        per_batch = max(1, (os.cpu_count() or 1) // params.num_batch_threads)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(per_batch)
            tf.config.threading.set_inter_op_parallelism_threads(params.num_batch_threads)
        except RuntimeError:  # TF is already initialised (tests, notebooks): keep its pools
            pass

    def _model(self, task: str) -> InProcessModel:
        return self._entry(task)[0]

    def warm_up(self, tasks: Sequence[str] = TASKS) -> dict[str, str]:
        """Load each task's model now; returns task -> version or the reason it is missing."""
        status = {}
        for task in tasks:
            try:
                status[task] = self._model(task).version
            except ServingError as e:
                status[task] = f"unavailable: {e}"
        return status

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        if version is not None:
            raise ModelNotFoundError(
                f"the in-process backend serves only the newest version of {task!r} in "
                f"{self.model_repository}; pinning version {version} needs TF Serving "
                f"(see serving/models.config).",
                public=f"the in-process backend serves only the newest version of {task!r}")
        try:
            return self._predict_rows(task, inputs, top_k)
        except BatcherClosedError:  # a new version replaced the model meanwhile: use it
            return self._predict_rows(task, inputs, top_k)

    def _predict_rows(self, task: str, inputs: Mapping[str, Sequence[bytes]],
                      top_k: int) -> list[list[Prediction]]:
        model, _, batcher = self._entry(task)
        expected = set(model.inputs)
        if set(inputs) != expected:
            raise SignatureError(
                f"model {task!r} at {model.path} takes inputs {sorted(expected)} in its "
                f"{RAW_SIGNATURE!r} signature, not {sorted(inputs)}; re-export it with this "
                f"project's Trainer.",
                public=f"model {task!r} takes inputs {sorted(expected)}, not {sorted(inputs)}")
        try:
            probabilities, emotions = (batcher.submit(inputs) if batcher is not None
                                       else model.run(inputs))
        except ServingError:
            raise
        except Exception as e:  # noqa: BLE001 - TF raises many types for bad input
            reason = model_error_summary(e)
            error = InvalidInputError if isinstance(e, tf.errors.InvalidArgumentError) \
                else PredictionError
            raise error(f"model {task!r} at {model.path} failed: {reason}",
                                  public=f"model {task!r} v{model.version} refused the input: "
                                         f"{reason}") from e
        return [top_k_predictions(p, emotions, top_k) for p in probabilities]

    def model_version(self, task: str) -> str:
        return self._model(task).version

    def batch_stats(self) -> dict[str, tuple[int, int]]:
        """task -> (batches run, rows in them) by the current version's batcher."""
        return {task: (b.batches_run, b.rows_run) for task, (_, _, b) in self._models.items()
                if b is not None}

    def close(self, timeout: float = 30.0) -> None:
        """Stop every batcher and wait for its threads (see `MicroBatcher.join`: a batch thread
        alive at interpreter exit aborts the process); a batch still running gets `timeout`."""
        with self._lock:
            batchers = [b for _, _, b in self._models.values() if b is not None] + self._retired
            self._retired = []
        for batcher in batchers:
            batcher.close()
        for batcher in batchers:
            if not batcher.join(timeout):
                log.warning("batch threads of %s still running after %.0f s", batcher.name,
                            timeout)


def load_newest(base: str, failed: Optional[dict] = None,
                current: Optional[InProcessModel] = None, label: str = "model"
                ) -> Optional[InProcessModel]:
    """The newest version of the model base `base` above `current` that passes the check
    (TF Serving's `latest` policy, with its fall-back: a version that fails is skipped for the
    next older one); None when none does. The one definition of "the version that is served",
    used by the in-process backend (mer serve, mer predict) and by mer evaluate.

    `failed` (version -> (its files' stamp, VersionCheckError)) is updated in place: a version
    that failed is retried only when its saved_model.pb or variables/ changes (a push still
    being copied, a repaired file), so a broken version costs one load, not one per re-scan.
    Each new failure is logged once, naming the version served instead.
    """
    failed = {} if failed is None else failed
    versions = numbered_versions(base)
    for gone in set(failed) - set(versions):
        del failed[gone]
    new_failures: list[str] = []
    model = None
    for version in versions:
        if current is not None and int(version) <= int(current.version):
            break
        path = os.path.join(base, version)
        stamp = version_stamp(path)
        if version in failed and failed[version][0] == stamp:
            continue
        try:  # one version folder, never a search for versions below it
            if not os.path.exists(os.path.join(path, "saved_model.pb")):
                raise VersionCheckError(path, missing_part(path) or "no saved_model.pb")
            model = InProcessModel(path)
        except VersionCheckError as e:
            failed[version] = (stamp, e)
            new_failures.append(version)
            continue
        for old in [v for v in failed if int(v) <= int(version)]:
            del failed[old]  # TF Serving's `latest` policy: only newer versions matter
        log.info("%s: serving version %s from %s", label, version, path)
        break
    served = model or current
    for version in new_failures:
        log.warning("%s version %s is not served: %s (serving version %s instead; path %s)",
                    label, version, failed[version][1].reason,
                    served.version if served is not None else "none",
                    os.path.join(base, version))
    return model
