"""What every serving backend shares: the interface, the prediction type, retries, and the
decoding of the `predict_raw` outputs (`probabilities`, `emotions`) into sorted predictions.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, TypeVar

import numpy as np

from components.core import metrics
from components.core.signatures import RAW_SIGNATURE
from serving.errors import PredictionError, ServingError


@dataclass(frozen=True)
class Prediction:
    emotion: str
    probability: float


_T = TypeVar("_T")


def with_retries(
    call: Callable[[], _T], retries: int, backoff_s: float, is_connection_error: Callable,
    on_give_up: Callable[[BaseException, int], ServingError],
) -> _T:
    """Run `call`, retrying only connection errors, with jittered exponential backoff.

    Why only connection errors: a refused or reset connection means the request was not
    processed, so re-sending is safe; anything else (a timeout, a 4xx/5xx) may have done work
    or will fail the same way again.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as e:  # noqa: BLE001 - classified just below
            if not is_connection_error(e):
                raise
            if attempt >= retries:
                raise on_give_up(e, attempt + 1) from e
            delay = min(backoff_s * (2 ** attempt), 2.0) * (0.5 + random.random() / 2)
            time.sleep(delay)
            attempt += 1


def top_k_predictions(probs: Sequence[float], names: Sequence[str], top_k: int) -> list[Prediction]:
    """Sorted (highest first) `Prediction`s for one row of `probabilities` / `emotions`."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape[0] != len(names):
        raise PredictionError(
            f"model returned {p.shape[0]} probabilities but {len(names)} emotion names")
    return [Prediction(str(names[i]), float(p[i])) for i in metrics.top_k(p, top_k)]


def _decode_name(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def rows_to_predictions(probabilities, emotions, top_k: int) -> list[list[Prediction]]:
    return [top_k_predictions(p, [_decode_name(n) for n in names], top_k)
            for p, names in zip(probabilities, emotions, strict=True)]


class Backend:
    """What `EmotionClient` needs from a serving backend."""

    #: A short description with the URL or path, for logs, the CLI and error messages.
    description: str = ""
    #: What kind of backend this is, without paths or hosts: what the web app tells clients.
    kind: str = ""

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        """Predict for N rows; `inputs` maps each input name of the task to N byte strings."""
        raise NotImplementedError

    def model_version(self, task: str) -> str:
        """The version that serves `task` now; raises ModelNotFoundError if none."""
        raise NotImplementedError

    def model_failures(self, task: str) -> dict[str, str]:
        """version -> why it is not served, for versions of `task` the backend refused (newest
        first); empty when none failed or the backend cannot tell (TF Serving's own status
        has no reasons for versions it keeps unloaded)."""
        return {}

    def close(self) -> None:
        """Release connections; the backend must not be used afterwards."""


SIGNATURE_FIX = (
    f"The model must have a {RAW_SIGNATURE!r} signature taking `text` (ter), `audio` (ser) or "
    f"both (mer); re-export it with this project's Trainer (components/trainer/export.py).")


def looks_like_signature_error(message: str) -> bool:
    m = message.lower()
    return any(s in m for s in ("signature", "input tensor alias", "input size does not match",
                                "missing but required", "expected to be in the set"))


def model_error_summary(e: BaseException | str) -> str:
    """The line of a TF / TF Serving error that says what was wrong, without the boilerplate.

    TF's messages start with "Graph execution error:" or "{{function_node ...}}" and end with
    node and op details; users need the one sentence, e.g. "Header mismatch: Expected RIFF but
    found nota" or the model's own "audio must be a 16 kHz mono 16-bit PCM WAV file; ...".
    """
    text = e if isinstance(e, str) else (getattr(e, "message", None) or str(e))
    skip = ("Graph execution error", "Detected at node", "<stack traces", "[[", "Traceback")
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith((" ", "\t")) and not ln.startswith(skip)]
    line = lines[-1] if lines else (text.strip() or e.__class__.__name__)
    line = re.sub(r"\s*\[\[.*$|\s*\[Op:[^\]]*\]$", "", line)
    line = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", line)
    assertion = re.fullmatch(r"assertion failed: \[(.*)\]", line)
    return assertion.group(1) if assertion else line
