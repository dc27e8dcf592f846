"""One pushed model (a version dir, or one model's version base) as a `Backend`.

Why: `mer predict --timeline --model-dir artifacts/serving/ser` and `mer infer`'s check name one
model, not a repository of ter/ser/mer; the timeline scores through `EmotionClient` (one code
path for every backend), so the single model needs the same interface. The task it serves is
read from its `predict_raw` inputs (audio: ser, text: ter, both: mer).
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from components.core.contract import AUDIO, TEXT
from serving.backends.base import Backend, Prediction, top_k_predictions
from serving.backends.inprocess import InProcessModel
from serving.errors import ModelNotFoundError

_TASK_OF_INPUTS = {(AUDIO,): "ser", (TEXT,): "ter", (AUDIO, TEXT): "mer"}


class SingleModelBackend(Backend):
    kind = "in-process"

    def __init__(self, model_dir: str):
        self.model = InProcessModel(model_dir)
        self.task = _TASK_OF_INPUTS.get(tuple(sorted(self.model.inputs)), "")
        self.description = f"in-process model {self.model.path}"

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        if task != self.task:
            raise ModelNotFoundError(f"{self.model.path} is a {self.task or 'unknown'} model; "
                                     f"it does not serve {task!r}")
        probs, names = self.model.run({k: inputs[k] for k in self.model.inputs})
        return [top_k_predictions(p, names, top_k) for p in probs]

    def model_version(self, task: str) -> str:
        return self.model.version
