"""In-process backend: loads the newest pushed version, as TF Serving would."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from dataclasses import dataclass  # noqa: E402
from typing import Optional  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

RAW_SIGNATURE = "predict_raw"


class ModelNotFoundError(FileNotFoundError):
    pass


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


@dataclass(frozen=True)
class Prediction:
    emotion: str
    probability: float


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
        probs = out["probabilities"].numpy()[0]
        names = [n.decode("utf-8") for n in out["emotions"].numpy()[0]]
        order = np.argsort(-probs)[:top_k]
        return [Prediction(names[i], float(probs[i])) for i in order]
