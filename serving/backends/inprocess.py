"""The pushed SavedModels loaded in this process: no server needed (`make demo`, tests, `mer`).

`InProcessModel` is one loaded version; `InProcessBackend` serves a model repository in TF
Serving's layout (`<repo>/<task>/<version>/saved_model.pb`) the way TF Serving's `latest`
policy does.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Mapping, Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.core.signatures import EMOTIONS, PROBABILITIES, RAW_SIGNATURE  # noqa: E402
from components.core.tasks import TASKS  # noqa: E402
from serving.backends.base import Backend, Prediction  # noqa: E402
from serving.errors import (  # noqa: E402
    ModelNotFoundError,
    PredictionError,
    ServingError,
    SignatureError,
)


def resolve_version_dir(model_dir: str) -> str:
    """`model_dir` may be a SavedModel or a TF Serving model base (numbered versions)."""
    if os.path.exists(os.path.join(model_dir, "saved_model.pb")):
        return model_dir
    if not os.path.isdir(model_dir):
        raise ModelNotFoundError(
            f"No model at {model_dir}. Run `make demo` (or `mer run`) first, or pass the "
            f"Pusher's directory, e.g. artifacts/serving/mer.")
    versions = [d for d in os.listdir(model_dir) if d.isdigit()
                and os.path.exists(os.path.join(model_dir, d, "saved_model.pb"))]
    if not versions:
        raise ModelNotFoundError(
            f"{model_dir} holds no SavedModel version (expected <dir>/<number>/saved_model.pb).")
    return os.path.join(model_dir, max(versions, key=int))


class InProcessModel:
    """A pushed model loaded in this process; `predict` takes raw text / WAV bytes."""

    def __init__(self, model_dir: str):
        self.path = resolve_version_dir(model_dir)
        self.version = os.path.basename(self.path)
        self._model = tf.saved_model.load(self.path)
        if RAW_SIGNATURE not in self._model.signatures:
            raise ValueError(
                f"{self.path} has no {RAW_SIGNATURE!r} signature (found "
                f"{list(self._model.signatures)}); export it with this project's Trainer.")
        self._fn = self._model.signatures[RAW_SIGNATURE]
        self.inputs = tuple(sorted(self._fn.structured_input_signature[1]))

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
        out = self._fn(**feeds)
        probs = out[PROBABILITIES].numpy()[0]
        names = [n.decode("utf-8") for n in out[EMOTIONS].numpy()[0]]
        order = np.argsort(-probs)[:top_k]
        return [Prediction(names[i], float(probs[i])) for i in order]


class InProcessBackend(Backend):
    """The pushed SavedModels loaded in this process: no server needed (`make demo`, tests).

    Like TF Serving with the `latest` version policy, each task's newest numbered version is
    served, and the repository is re-scanned at most every `reload_interval_s` so a newly
    pushed version replaces the old one without a restart. Models load lazily on first use
    (call `warm_up()` to pay that cost up front).
    """

    def __init__(self, model_repository: str, reload_interval_s: float = 30.0):
        self.model_repository = os.path.abspath(model_repository)
        self.description = f"in-process models from {self.model_repository}"
        self.reload_interval_s = reload_interval_s
        self._models: dict[str, tuple[object, float]] = {}  # task -> (InProcessModel, checked)
        self._lock = threading.Lock()

    def _model(self, task: str):
        entry = self._models.get(task)
        now = time.monotonic()
        if entry is not None and now - entry[1] < self.reload_interval_s:
            return entry[0]
        with self._lock:
            entry = self._models.get(task)
            if entry is not None and time.monotonic() - entry[1] < self.reload_interval_s:
                return entry[0]
            base = os.path.join(self.model_repository, task)
            try:
                path = resolve_version_dir(base)
            except ModelNotFoundError as e:
                if entry is not None:  # a version vanished mid-run: keep serving what we have
                    return entry[0]
                raise ModelNotFoundError(
                    f"no {task!r} model in {self.model_repository} (expected "
                    f"{base}/<version>/saved_model.pb). Run `make demo` (or `mer run`) so the "
                    f"Pusher writes it, or point --model-dir at the Pusher's serving "
                    f"directory.") from e
            if entry is not None and entry[0].path == path:
                model = entry[0]
            else:
                model = _load_inprocess_model(path)
            self._models[task] = (model, time.monotonic())
            return model

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
                f"(see serving/models.config).")
        model = self._model(task)
        expected = set(model.inputs)
        if set(inputs) != expected:
            raise SignatureError(
                f"model {task!r} at {model.path} takes inputs {sorted(expected)} in its "
                f"{RAW_SIGNATURE!r} signature, not {sorted(inputs)}; re-export it with this "
                f"project's Trainer.")
        n = len(next(iter(inputs.values())))
        out = []
        for i in range(n):
            row = {k: v[i] for k, v in inputs.items()}
            try:
                out.append(model.predict(text=row.get("text"), audio=row.get("audio"),
                                         top_k=top_k))
            except Exception as e:  # noqa: BLE001 - TF raises many types for bad input
                raise PredictionError(
                    f"model {task!r} at {model.path} failed: {tf_error_summary(e)}") from e
        return out

    def model_version(self, task: str) -> str:
        return self._model(task).version


def tf_error_summary(e: BaseException) -> str:
    """The line of a TF error that says what was wrong, without graph-execution boilerplate.

    TF's messages start with "Graph execution error:" and node/stack details; users need the
    one line like "Header mismatch: Expected RIFF but found nota".
    """
    text = getattr(e, "message", None) or str(e)
    skip = ("Graph execution error", "Detected at node", "<stack traces", "[[", "Traceback")
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith((" ", "\t")) and not ln.startswith(skip)]
    line = lines[-1] if lines else (text.strip() or e.__class__.__name__)
    return re.sub(r"\s*\[\[.*$|\s*\[Op:[^\]]*\]$", "", line)


def _load_inprocess_model(path: str):
    """InProcessModel, importing tensorflow_text first if the graph needs its ops.

    Models with a BERT/MiniLM text encoder contain TF Text tokenizer ops, which are registered
    only when `tensorflow_text` is imported; importing it for every model would cost seconds.
    """
    try:
        return InProcessModel(path)
    except ValueError as e:
        if "has no" in str(e) and RAW_SIGNATURE in str(e):
            raise SignatureError(str(e)) from None
        raise
    except Exception as e:  # noqa: BLE001
        if "Op type not registered" not in str(e):
            raise
        import tensorflow_text  # noqa: F401 - registers the ops, then retry once

        return InProcessModel(path)
