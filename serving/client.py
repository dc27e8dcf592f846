"""One Python API for emotion predictions, whatever serves the models.

    client = EmotionClient(backend_from_url("http://localhost:8501"))   # TF Serving REST
    client = EmotionClient(backend_from_url("grpc://localhost:8500"))   # TF Serving gRPC
    client = EmotionClient(backend_from_url("artifacts/serving"))       # in this process
    client.predict("mer", text="I can't believe it", audio=wav_bytes)   # -> [Prediction, ...]

Application code is written once against `EmotionClient`; moving from the in-process models
(a laptop, `make demo`) to a TF Serving deployment is a change of URL. All backends call the
exported `predict_raw` signature (raw text and 16 kHz mono WAV bytes), so no feature code
runs on the client.

Errors are few and explicit, so callers can react without parsing messages:
`ModelNotFoundError` (no such model/version: push it or fix the name), `SignatureError`
(the model lacks `predict_raw` or takes other inputs: re-export it), `ServerUnavailableError`
(nothing answers at the URL after bounded retries: start the server), `ServingTimeoutError`
(it answered too slowly), `PredictionError` (the server failed on this input).
Only connection failures are retried: a request that reached the server is never re-sent.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import threading
import time
import urllib.parse
from typing import Callable, Mapping, Optional, Sequence, TypeVar

import numpy as np

from serving.inprocess import ModelNotFoundError as _InProcessModelNotFound
from serving.inprocess import Prediction

RAW_SIGNATURE = "predict_raw"
PROBABILITIES = "probabilities"
EMOTIONS = "emotions"
TASKS = ("ter", "ser", "mer")
TASK_INPUTS: dict[str, tuple[str, ...]] = {
    "ter": ("text",), "ser": ("audio",), "mer": ("text", "audio")}

__all__ = [
    "EmotionClient", "RestBackend", "GrpcBackend", "InProcessBackend", "backend_from_url",
    "Prediction", "ServingError", "ModelNotFoundError", "SignatureError",
    "ServerUnavailableError", "ServingTimeoutError", "PredictionError", "MissingInputError",
    "TASKS", "TASK_INPUTS",
]


class ServingError(Exception):
    """Base class of every error this module raises."""


class ModelNotFoundError(ServingError, _InProcessModelNotFound):
    """The model (or the version asked for) is not served: HTTP 404 / gRPC NOT_FOUND."""


class SignatureError(ServingError, ValueError):
    """The model exists but has no `predict_raw` signature, or it takes other inputs."""


class MissingInputError(ServingError, ValueError):
    """The task needs an input the caller did not give (e.g. `ser` without audio)."""


class ServerUnavailableError(ServingError, ConnectionError):
    """Nothing answered at the URL, after the bounded retries."""


class ServingTimeoutError(ServerUnavailableError, TimeoutError):
    """The server accepted the request but did not answer within the timeout."""


class PredictionError(ServingError):
    """The server answered with an error that is none of the above (e.g. undecodable audio)."""


_T = TypeVar("_T")


def _with_retries(
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
    order = np.argsort(-p, kind="stable")[: max(top_k, 0)]
    return [Prediction(str(names[i]), float(p[i])) for i in order]


def _decode_name(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _rows(probabilities, emotions, top_k: int) -> list[list[Prediction]]:
    return [top_k_predictions(p, [_decode_name(n) for n in names], top_k)
            for p, names in zip(probabilities, emotions, strict=True)]


class Backend:
    """What `EmotionClient` needs from a serving backend."""

    #: A short description with the URL or path, used in messages and the web app.
    description: str = ""

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        """Predict for N rows; `inputs` maps each input name of the task to N byte strings."""
        raise NotImplementedError

    def model_version(self, task: str) -> str:
        """The version that serves `task` now; raises ModelNotFoundError if none."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the backend must not be used afterwards."""


# --------------------------------------------------------------------------- REST


_CONNECTION_ERRORS = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError,
                      BrokenPipeError, http.client.RemoteDisconnected,
                      http.client.CannotSendRequest, http.client.BadStatusLine)


def _is_rest_connection_error(e: BaseException) -> bool:
    if isinstance(e, _CONNECTION_ERRORS):
        return True
    # DNS failure or "no route": the request never left this machine.
    return isinstance(e, OSError) and not isinstance(e, TimeoutError) and e.errno is not None


class RestBackend(Backend):
    """TF Serving's REST API: `POST /v1/models/<task>[/versions/<v>]:predict`.

    Uses the columnar request format (`"inputs"`, answered with `"outputs"`), because MER's two
    inputs are named tensors and the columnar form carries a batch of them compactly; WAV bytes
    travel as `{"b64": ...}` as TF Serving requires for binary strings. Keeps one persistent
    HTTP/1.1 connection per thread (TF Serving and the test server both keep connections alive),
    which saves a TCP handshake per request.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3,
                 backoff_s: float = 0.1):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r} (e.g. http://localhost:8501)")
        self.base_url = base_url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._prefix = parsed.path.rstrip("/")
        self.timeout, self.retries, self.backoff_s = timeout, retries, backoff_s
        self.description = f"TF Serving REST at {self.base_url}"
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (http.client.HTTPSConnection if self._scheme == "https"
                   else http.client.HTTPConnection)
            conn = cls(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _request(self, method: str, path: str, body: Optional[dict] = None) -> tuple[int, dict]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}

        def once() -> tuple[int, bytes]:
            conn = self._connection()
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except BaseException:
                self._drop_connection()  # never reuse a connection in an unknown state
                raise
            if resp.getheader("Connection", "").lower() == "close":
                self._drop_connection()
            return resp.status, payload

        def give_up(e: BaseException, attempts: int) -> ServingError:
            return ServerUnavailableError(
                f"TF Serving REST at {self.base_url} is unavailable ({e.__class__.__name__}: "
                f"{e}) after {attempts} attempt(s). Start it (`docker compose -f "
                f"serving/docker-compose.yml up`, or `python -m serving.tfs_test_server`) or "
                f"fix the URL.")

        try:
            status, payload = _with_retries(once, self.retries, self.backoff_s,
                                            _is_rest_connection_error, give_up)
        except TimeoutError as e:
            raise ServingTimeoutError(
                f"TF Serving REST at {self.base_url} did not answer {method} {path} within "
                f"{self.timeout:g} s; raise the timeout or check the server's load.") from e
        try:
            parsed = json.loads(payload.decode("utf-8")) if payload else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = {"error": payload[:200].decode("utf-8", "replace")}
        if not isinstance(parsed, dict):
            parsed = {"error": str(parsed)[:200]}
        return status, parsed

    def _model_path(self, task: str, version: Optional[int]) -> str:
        path = f"/v1/models/{urllib.parse.quote(task, safe='')}"
        return path + (f"/versions/{int(version)}" if version is not None else "")

    def _raise_for(self, status: int, body: dict, task: str, version: Optional[int]) -> None:
        message = str(body.get("error", body))
        where = f"model {task!r}" + (f" version {version}" if version is not None else "")
        where += f" at {self.base_url}"
        if status == 404:
            raise ModelNotFoundError(
                f"{where} is not served ({message}). Check serving/models.config lists it and "
                f"that its base path holds a numbered version (run the pipeline's Pusher).")
        if status == 400 and _looks_like_signature_error(message):
            raise SignatureError(
                f"{where}: {message.rstrip('.')}. {_SIGNATURE_FIX}")
        if status == 503:
            raise ServerUnavailableError(f"{where} is not available yet (HTTP 503: {message}); "
                                         f"the server may still be loading it.")
        raise PredictionError(f"{where} failed (HTTP {status}): {message}")

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        body = {"signature_name": RAW_SIGNATURE, "inputs": {
            name: [_rest_value(name, v) for v in values] for name, values in inputs.items()}}
        status, out = self._request("POST", self._model_path(task, version) + ":predict", body)
        if status != 200:
            self._raise_for(status, out, task, version)
        outputs = out.get("outputs")
        if not isinstance(outputs, dict) or PROBABILITIES not in outputs or EMOTIONS not in outputs:
            raise SignatureError(
                f"model {task!r} at {self.base_url} returned {sorted(outputs or {})} instead of "
                f"{PROBABILITIES!r} and {EMOTIONS!r}; re-export it with this project's Trainer.")
        return _rows(outputs[PROBABILITIES], outputs[EMOTIONS], top_k)

    def model_version(self, task: str) -> str:
        status, body = self._request("GET", self._model_path(task, None))
        if status != 200:
            self._raise_for(status, body, task, None)
        available = [s for s in body.get("model_version_status", [])
                     if s.get("state") == "AVAILABLE"]
        if not available:
            raise ModelNotFoundError(
                f"model {task!r} at {self.base_url} has no AVAILABLE version: {body}")
        return str(max(int(s["version"]) for s in available))

    def close(self) -> None:
        self._drop_connection()


def _rest_value(name: str, value) -> object:
    """Text goes as a JSON string; audio (binary) as {"b64": ...}, as TF Serving requires."""
    if name == "text":
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return {"b64": base64.b64encode(value).decode("ascii")}


_SIGNATURE_FIX = (
    f"The model must have a {RAW_SIGNATURE!r} signature taking `text` (ter), `audio` (ser) or "
    f"both (mer); re-export it with this project's Trainer (components/trainer/export.py).")


def _looks_like_signature_error(message: str) -> bool:
    m = message.lower()
    return any(s in m for s in ("signature", "input tensor alias", "input size does not match",
                                "missing but required", "expected to be in the set"))


# --------------------------------------------------------------------------- gRPC


class GrpcBackend(Backend):
    """TF Serving's gRPC API: `PredictionService.Predict` from tensorflow-serving-api.

    gRPC is the faster of TF Serving's two APIs (binary tensors, HTTP/2 multiplexing on one
    channel), so production clients should prefer it. The channel is created once and shared
    by all threads; its reconnect backoff is kept short so that a retry after a refused
    connection really tries again.
    """

    def __init__(self, target: str, timeout: float = 10.0, retries: int = 3,
                 backoff_s: float = 0.1):
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.target = target[len("grpc://"):] if target.startswith("grpc://") else target
        self.url = f"grpc://{self.target}"
        self.timeout, self.retries, self.backoff_s = timeout, retries, backoff_s
        self.description = f"TF Serving gRPC at {self.url}"
        self._grpc = grpc
        self._channel = grpc.insecure_channel(self.target, options=[
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._model_stub = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def _call(self, method: Callable, request, task: str, version: Optional[int]):
        grpc = self._grpc
        where = f"model {task!r}" + (f" version {version}" if version is not None else "")
        where += f" at {self.url}"

        def give_up(e: BaseException, attempts: int) -> ServingError:
            return ServerUnavailableError(
                f"TF Serving gRPC at {self.url} is unavailable ({e.details()}) after "
                f"{attempts} attempt(s). Start it (`docker compose -f serving/docker-compose.yml "
                f"up`, or `python -m serving.tfs_test_server`) or fix the target.")

        def is_connection_error(e: BaseException) -> bool:
            return isinstance(e, grpc.RpcError) and e.code() == grpc.StatusCode.UNAVAILABLE

        try:
            return _with_retries(lambda: method(request, timeout=self.timeout), self.retries,
                                 self.backoff_s, is_connection_error, give_up)
        except grpc.RpcError as e:
            code, details = e.code(), e.details()
            if code == grpc.StatusCode.NOT_FOUND:
                raise ModelNotFoundError(
                    f"{where} is not served ({details}). Check serving/models.config lists it "
                    f"and that its base path holds a numbered version.") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServingTimeoutError(
                    f"{where} did not answer within {self.timeout:g} s; raise the timeout or "
                    f"check the server's load.") from None
            if code == grpc.StatusCode.INVALID_ARGUMENT and _looks_like_signature_error(details):
                raise SignatureError(
                    f"{where}: {details.rstrip('.')}. {_SIGNATURE_FIX}") from None
            raise PredictionError(f"{where} failed ({code.name}): {details}") from None

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = task
        request.model_spec.signature_name = RAW_SIGNATURE
        if version is not None:
            request.model_spec.version.value = int(version)
        for name, values in inputs.items():
            request.inputs[name].CopyFrom(
                tf.make_tensor_proto(list(values), dtype=tf.string, shape=[len(values)]))
        response = self._call(self._stub.Predict, request, task, version)
        missing = [k for k in (PROBABILITIES, EMOTIONS) if k not in response.outputs]
        if missing:
            raise SignatureError(
                f"model {task!r} at {self.url} returned {sorted(response.outputs)} without "
                f"{missing}; re-export it with this project's Trainer.")
        probs = tf.make_ndarray(response.outputs[PROBABILITIES])
        names = tf.make_ndarray(response.outputs[EMOTIONS])
        return _rows(probs, names, top_k)

    def model_version(self, task: str) -> str:
        from tensorflow_serving.apis import get_model_status_pb2

        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = task
        response = self._call(self._model_stub.GetModelStatus, request, task, None)
        available = [s.version for s in response.model_version_status
                     if s.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE]
        if not available:
            raise ModelNotFoundError(f"model {task!r} at {self.url} has no AVAILABLE version")
        return str(max(available))

    def close(self) -> None:
        self._channel.close()


# --------------------------------------------------------------------------- in-process


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
        from serving.inprocess import resolve_version_dir

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
            except _InProcessModelNotFound as e:
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
    from serving.inprocess import InProcessModel

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


# --------------------------------------------------------------------------- facade


def backend_from_url(url: str, timeout: float = 10.0, retries: int = 3) -> Backend:
    """`http(s)://host:port` -> REST, `grpc://host:port` -> gRPC, a local path -> in-process."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return RestBackend(url, timeout=timeout, retries=retries)
    if scheme == "grpc":
        return GrpcBackend(url, timeout=timeout, retries=retries)
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        path = url[len("file://"):] if scheme == "file" else url
        return InProcessBackend(path)
    raise ValueError(
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
            raise ValueError(f"model_names keys must be tasks ({', '.join(TASKS)}): {unknown}")
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
        given = {"text": texts, "audio": audios}
        inputs: dict[str, list[bytes]] = {}
        for name in TASK_INPUTS[task]:
            values = given[name]
            if values is None:
                raise MissingInputError(
                    f"task {task!r} needs {' and '.join(TASK_INPUTS[task])}; no {name} given")
            if name == "text":
                inputs[name] = [v.encode("utf-8") if isinstance(v, str) else bytes(v)
                                for v in values]
            else:
                inputs[name] = [bytes(v) for v in values]
        sizes = {len(v) for v in inputs.values()}
        if len(sizes) != 1:
            raise MissingInputError(f"task {task!r}: inputs have different lengths {sizes}")
        if sizes == {0}:
            return []
        return self.backend.predict_batch(self.model_names[task], inputs, top_k, version)

    def model_version(self, task: str) -> str:
        """The version now serving `task` (raises ModelNotFoundError / ServerUnavailableError)."""
        return self.backend.model_version(self.model_names.get(task, task))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> EmotionClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
