"""One Python API for emotion predictions, whatever serves the models.

    client = EmotionClient(backend_from_url("http://localhost:8501"))   # TF Serving REST
    client = EmotionClient(backend_from_url("grpc://localhost:8500"))   # TF Serving gRPC
    client = EmotionClient(backend_from_url("artifacts/serving"))       # in this process
    client.predict("mer", text="I can't believe it", audio=wav_bytes)   # -> [Prediction, ...]

Application code is written once against `EmotionClient`; moving from the in-process models
(a laptop, `make demo`) to a TF Serving deployment is a change of URL. All backends call the
exported `predict_raw` signature (raw text and 16 kHz mono WAV bytes), so no feature code
runs on the client.

The backends are in `serving/backends/` (REST, gRPC, in-process); the errors they raise are in
`serving/errors.py`. Only connection failures are retried: a request that reached the server is
never re-sent.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Mapping, Optional, Sequence

from components.core.contract import AUDIO, TEXT
from components.core.errors import UsageError
from components.core.signal import input_problem
from components.core.tasks import TASK_INPUTS, TASKS
from serving.backends.base import Backend, Prediction
from serving.errors import MissingInputError, ModelNotFoundError, NoSignalError


def backend_from_url(url: str, timeout: float = 10.0, retries: int = 3) -> Backend:
    """`http(s)://host:port` -> REST, `grpc://host:port` -> gRPC, a local path -> in-process."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        from serving.backends.rest import RestBackend

        return RestBackend(url, timeout=timeout, retries=retries)
    if scheme == "grpc":
        from serving.backends.grpc import GrpcBackend

        return GrpcBackend(url, timeout=timeout, retries=retries)
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        from serving.backends.inprocess import InProcessBackend

        path = url[len("file://"):] if scheme == "file" else url
        return InProcessBackend(path)
    raise UsageError(
        f"unsupported serving URL {url!r}: use http://host:8501 (REST), grpc://host:8500 "
        f"(gRPC) or a model repository path such as artifacts/serving")


class EmotionClient:
    """Top-k emotions for raw text and/or WAV bytes, through any backend.

    `model_names` maps a task to the name the server knows the model by, for deployments
    that do not name them ter/ser/mer (default: the task name).
    """

    def __init__(self, backend: Backend, model_names: Optional[Mapping[str, str]] = None):
        self.backend = backend
        unknown = set(model_names or {}) - set(TASKS)
        if unknown:
            raise UsageError(f"model_names keys must be tasks ({', '.join(TASKS)}): {unknown}")
        self.model_names = {t: (model_names or {}).get(t, t) for t in TASKS}

    @property
    def description(self) -> str:
        return self.backend.description

    def predict(self, task: str, text: Optional[str] = None, audio: Optional[bytes] = None,
                top_k: int = 3, version: Optional[int] = None) -> list[Prediction]:
        """Predict one example. `audio` is a 16 kHz mono 16-bit PCM WAV file's bytes
        (`serving.audio.to_wav16k` converts other formats); inputs the task does not use are
        ignored, a missing one raises `MissingInputError`."""
        return self.predict_batch(task, [text] if text is not None else None,
                                  [audio] if audio is not None else None, top_k, version)[0]

    def predict_batch(self, task: str, texts: Optional[Sequence[str]] = None,
                      audios: Optional[Sequence[bytes]] = None, top_k: int = 3,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        """Predict N examples in one request (cheaper than N calls on a remote server)."""
        if task not in TASK_INPUTS:
            raise ModelNotFoundError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        given = {TEXT: texts, AUDIO: audios}
        inputs: dict[str, list[bytes]] = {}
        for name in TASK_INPUTS[task]:
            values = given[name]
            if values is None:
                raise MissingInputError(
                    f"task {task!r} needs {' and '.join(TASK_INPUTS[task])}; no {name} given")
            if name == TEXT:
                inputs[name] = [v.encode("utf-8") if isinstance(v, str) else bytes(v)
                                for v in values]
            else:
                inputs[name] = [bytes(v) for v in values]
        sizes = {len(v) for v in inputs.values()}
        if len(sizes) != 1:
            raise MissingInputError(f"task {task!r}: inputs have different lengths {sizes}")
        if sizes == {0}:
            return []
        _refuse_no_signal(task, inputs)
        return self.backend.predict_batch(self.model_names[task], inputs, top_k, version)

    def model_version(self, task: str) -> str:
        """The version now serving `task` (raises ModelNotFoundError / ServerUnavailableError)."""
        return self.backend.model_version(self.model_names.get(task, task))

    def model_failures(self, task: str) -> dict[str, str]:
        """Versions of `task` the backend refused to serve, and why (see Backend)."""
        return self.backend.model_failures(self.model_names.get(task, task))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> EmotionClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _refuse_no_signal(task: str, inputs: Mapping[str, Sequence[bytes]]) -> None:
    """NoSignalError if a row's input carries no signal (`components.core.signal`): checked
    here, before any backend, so in-process, REST and gRPC apply the same rule."""
    problems = [(i, name, why) for name, values in inputs.items()
                for i, value in enumerate(values)
                if (why := input_problem(name, value)) is not None]
    if not problems:
        return
    rows = len(next(iter(inputs.values())))
    i, name, why = problems[0]
    where = f"{name}" if rows == 1 else f"row {i} {name}"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise NoSignalError(f"{task}: {where}: {why}{more}", public=f"{why}{more}")
