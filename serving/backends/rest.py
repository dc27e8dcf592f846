"""TF Serving's REST API as a backend (`http://host:8501`)."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.parse
from typing import Mapping, Optional, Sequence

from components.core.contract import TEXT
from components.core.errors import UsageError
from components.core.signatures import EMOTIONS, PROBABILITIES, RAW_SIGNATURE
from serving.backends.base import (
    SIGNATURE_FIX,
    Backend,
    Prediction,
    looks_like_signature_error,
    model_error_summary,
    rows_to_predictions,
    with_retries,
)
from serving.errors import (
    InvalidInputError,
    ModelNotFoundError,
    PredictionError,
    ServerUnavailableError,
    ServingError,
    ServingTimeoutError,
    SignatureError,
)

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

    kind = "TF Serving REST"

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3,
                 backoff_s: float = 0.1):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(f"not an http(s) URL: {base_url!r} (e.g. http://localhost:8501)")
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
                f"serving/docker-compose.yml up`) or "
                f"fix the URL.", public="the model server is unavailable")

        try:
            status, payload = with_retries(once, self.retries, self.backoff_s,
                                            _is_rest_connection_error, give_up)
        except TimeoutError as e:
            raise ServingTimeoutError(
                f"TF Serving REST at {self.base_url} did not answer {method} {path} within "
                f"{self.timeout:g} s; raise the timeout or check the server's load.",
                public=f"the model server did not answer within {self.timeout:g} s") from e
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
        message = model_error_summary(str(body.get("error", body)))
        model = f"model {task!r}" + (f" version {version}" if version is not None else "")
        where = f"{model} at {self.base_url}"
        if status == 404:
            raise ModelNotFoundError(
                f"{where} is not served ({message}). Check serving/models.config lists it and "
                f"that its base path holds a numbered version (run the pipeline's Pusher).",
                public=f"{model} is not served")
        if status == 400 and looks_like_signature_error(message):
            raise SignatureError(
                f"{where}: {message.rstrip('.')}. {SIGNATURE_FIX}",
                public=f"{model}: {message.rstrip('.')}")
        if status == 503:
            raise ServerUnavailableError(f"{where} is not available yet (HTTP 503: {message}); "
                                         f"the server may still be loading it.",
                                         public=f"{model} is not available yet")
        error = InvalidInputError if status == 400 else PredictionError
        raise error(f"{where} failed (HTTP {status}): {message}",
                    public=f"{model} refused the input: {message}")

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
        return rows_to_predictions(outputs[PROBABILITIES], outputs[EMOTIONS], top_k)

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
    if name == TEXT:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return {"b64": base64.b64encode(value).decode("ascii")}
