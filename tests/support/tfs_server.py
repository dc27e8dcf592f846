"""A TEST DOUBLE of TensorFlow Serving: its gRPC and REST protocols, served from Python.

NOT A PRODUCTION SERVER. Use the real `tensorflow_model_server` (serving/docker-compose.yml)
for anything but tests and local development. This double has no batching, no model warm-up,
no file-system polling for new versions after a model is first loaded, no monitoring, and it
runs every request under the Python GIL.

Why it exists: the `tensorflow_model_server` binary cannot be installed in this project's
build and CI environment, but the clients must be tested against TF Serving's real wire
protocols over real sockets. This server speaks them, using the protos and gRPC stubs from
`tensorflow-serving-api`, and executes the exported SavedModels' signatures with TensorFlow:

* gRPC `tensorflow.serving.PredictionService/Predict` and `/GetModelMetadata`, and
  `tensorflow.serving.ModelService/GetModelStatus`;
* REST `POST /v1/models/<name>[/versions/<v>]:predict` (row "instances" and columnar "inputs"
  formats, `{"b64": ...}` binary values), `GET /v1/models/<name>[/versions/<v>]` (status) and
  `GET .../metadata`.

Model repository layout and version choice follow TF Serving: `<repo>/<name>/<version>/
saved_model.pb`; a request without a version gets the newest; error codes and messages mirror
TF Serving's (NOT_FOUND -> HTTP 404 "Servable not found for request: Latest(ter)",
INVALID_ARGUMENT -> HTTP 400 for unknown signatures or inputs).

    python -m tests.support.tfs_server --model-repository artifacts/serving \\
        --grpc-port 8500 --rest-port 8501
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import threading
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

DEFAULT_SIGNATURE = "serving_default"

# TF Serving's mapping of canonical status codes to HTTP statuses (http_status_code.cc).
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class ServingStatusError(Exception):
    """A failed request, carrying the gRPC status TF Serving would answer with."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 500)


@dataclass
class _Servable:
    name: str
    version: int
    path: str
    loaded: Any  # the object tf.saved_model.load returned (keeps variables alive)
    signature_defs: Any  # name -> tensorflow.SignatureDef proto (for metadata)


class ModelRepository:
    """Loads `<root>/<name>/<version>/` SavedModels on first request, like TF Serving would."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self._servables: dict[tuple[str, int], _Servable] = {}
        self._lock = threading.Lock()

    def versions(self, name: str) -> list[int]:
        base = os.path.join(self.root, name)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name) or not os.path.isdir(base):
            return []
        return sorted(int(d) for d in os.listdir(base) if d.isdigit()
                      and os.path.exists(os.path.join(base, d, "saved_model.pb")))

    def names(self) -> list[str]:
        if not os.path.isdir(self.root):
            return []
        return sorted(n for n in os.listdir(self.root) if self.versions(n))

    def get(self, name: str, version: Optional[int] = None) -> _Servable:
        versions = self.versions(name)
        wanted = versions[-1] if version is None and versions else version
        if wanted is None or wanted not in versions:
            what = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise ServingStatusError(grpc.StatusCode.NOT_FOUND,
                                     f"Servable not found for request: {what}")
        key = (name, wanted)
        servable = self._servables.get(key)
        if servable is None:
            with self._lock:
                servable = self._servables.get(key) or self._load(name, wanted)
                self._servables[key] = servable
        return servable

    def _load(self, name: str, version: int) -> _Servable:
        from tensorflow.core.protobuf import saved_model_pb2

        path = os.path.join(self.root, name, str(version))
        try:
            loaded = tf.saved_model.load(path)
        except Exception as e:  # noqa: BLE001
            if "Op type not registered" not in str(e):
                raise
            import tensorflow_text  # noqa: F401 - BERT/MiniLM tokenizer ops

            loaded = tf.saved_model.load(path)
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        return _Servable(name, version, path, loaded, proto.meta_graphs[0].signature_def)

    def predict(self, name: str, version: Optional[int], signature_name: str,
                inputs: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
        """Run one signature; returns (version used, outputs). Raises ServingStatusError."""
        servable = self.get(name, version)
        signame = signature_name or DEFAULT_SIGNATURE
        if signame not in servable.loaded.signatures:
            raise ServingStatusError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'Serving signature name: "{signame}" not found in signature def')
        fn = servable.loaded.signatures[signame]
        spec = fn.structured_input_signature[1]
        expected, sent = set(spec), set(inputs)
        if expected != sent:
            unknown = sorted(sent - expected)
            if unknown and len(sent) <= len(expected):
                raise ServingStatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"input tensor alias not found in signature: {unknown[0]}. Inputs expected "
                    f"to be in the set {{{','.join(sorted(expected))}}}.")
            raise ServingStatusError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input size does not match signature: {len(sent)}!={len(expected)} "
                f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
                f"Sent extra: {{{','.join(sorted(sent - expected))}}}. Missing but required: "
                f"{{{','.join(sorted(expected - sent))}}}.")
        feeds = {}
        for key, tensor_spec in spec.items():
            value = inputs[key]
            try:
                feeds[key] = tf.convert_to_tensor(value, dtype=tensor_spec.dtype)
            except (TypeError, ValueError) as e:
                raise ServingStatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Expects arg[{key}] to be {tensor_spec.dtype.name} but got "
                    f"{np.asarray(value).dtype}: {e}") from None
            if not tensor_spec.shape.is_compatible_with(feeds[key].shape):
                raise ServingStatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"input {key!r} has shape {feeds[key].shape.as_list()}, the signature "
                    f"expects {tensor_spec.shape}")
        try:
            out = fn(**feeds)
        except tf.errors.OpError as e:
            code = grpc.StatusCode.INVALID_ARGUMENT if isinstance(
                e, tf.errors.InvalidArgumentError) else grpc.StatusCode.INTERNAL
            # The op's own message, node details included, as TF Serving sends it.
            raise ServingStatusError(code, e.message) from None
        return servable.version, {k: v.numpy() for k, v in out.items()}


# --------------------------------------------------------------------------- gRPC


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, repo: ModelRepository):
        self.repo = repo

    def Predict(self, request, context):  # noqa: N802 - gRPC method name
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        try:
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            used, outputs = self.repo.predict(spec.name, version, spec.signature_name, inputs)
        except ServingStatusError as e:
            context.abort(e.code, e.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = used
        response.model_spec.signature_name = spec.signature_name or DEFAULT_SIGNATURE
        wanted = set(request.output_filter) or set(outputs)
        for key in wanted:
            if key not in outputs:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"output tensor alias not found in signature: {key}")
            response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802
        spec = request.model_spec
        if list(request.metadata_field) != ["signature_def"]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "Metadata field signature_def must be the only one requested")
        version = spec.version.value if spec.HasField("version") else None
        try:
            servable = self.repo.get(spec.name, version)
        except ServingStatusError as e:
            context.abort(e.code, e.message)
        return _metadata_response(servable)

    # Classify/Regress/MultiInference are not used by this project: UNIMPLEMENTED (default).


def _metadata_response(servable: _Servable) -> get_model_metadata_pb2.GetModelMetadataResponse:
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    sigmap = get_model_metadata_pb2.SignatureDefMap()
    for key, sig in servable.signature_defs.items():
        sigmap.signature_def[key].CopyFrom(sig)
    response.metadata["signature_def"].Pack(sigmap)
    return response


def _status_response(repo: ModelRepository, name: str, version: Optional[int]
                     ) -> get_model_status_pb2.GetModelStatusResponse:
    versions = repo.versions(name)
    if not versions or (version is not None and version not in versions):
        what = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        raise ServingStatusError(grpc.StatusCode.NOT_FOUND,
                                 f"Could not find any versions of model {name}"
                                 if not versions else f"Servable not found for request: {what}")
    response = get_model_status_pb2.GetModelStatusResponse()
    # As with the `latest` policy, only the newest version is AVAILABLE (unless one is asked).
    for v in [version] if version is not None else [versions[-1]]:
        status = response.model_version_status.add()
        status.version = v
        status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    return response


class _ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, repo: ModelRepository):
        self.repo = repo

    def GetModelStatus(self, request, context):  # noqa: N802
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        try:
            return _status_response(self.repo, spec.name, version)
        except ServingStatusError as e:
            context.abort(e.code, e.message)


# --------------------------------------------------------------------------- REST

_MODEL_URL = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<rest>:predict|/metadata)?$")


def _json_to_array(value: Any) -> np.ndarray:
    """TF Serving's JSON tensor encoding: nested lists; binary strings as {"b64": ...}."""
    def convert(v):
        if isinstance(v, dict):
            if set(v) != {"b64"}:
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         f'JSON object: does not have named input: {v}; only '
                                         f'{{"b64": ...}} objects are allowed as values')
            try:
                return base64.b64decode(v["b64"], validate=True)
            except (ValueError, TypeError) as e:
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         f"Unable to base64 decode: {e}") from None
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, str):
            return v.encode("utf-8")
        return v

    converted = convert(value)
    arr = np.array(converted, dtype=object if _has_bytes(converted) else None)
    return arr


def _has_bytes(v: Any) -> bool:
    if isinstance(v, bytes):
        return True
    return isinstance(v, list) and any(_has_bytes(x) for x in v)


def _array_to_json(name: str, arr: np.ndarray) -> Any:
    """Numbers as numbers; strings as UTF-8 text, or {"b64": ...} for `*_bytes` outputs."""
    def convert(v):
        if isinstance(v, bytes):
            if name.endswith("_bytes"):
                return {"b64": base64.b64encode(v).decode("ascii")}
            return v.decode("utf-8", "replace")
        if isinstance(v, np.generic):
            return v.item()
        return v

    if arr.dtype == object:
        return np.vectorize(convert, otypes=[object])(arr).tolist() if arr.size else arr.tolist()
    return arr.tolist()


class _RestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as TF Serving's REST server does
    server_version = "tfs-test-server"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    repo: ModelRepository  # set on the subclass made by TFServingTestServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet in tests
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> Optional[re.Match]:
        match = _MODEL_URL.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, {"error": f"Malformed request: {self.command} {self.path}"})
        return match

    def do_GET(self) -> None:  # noqa: N802
        match = self._route()
        if match is None:
            return
        if match["rest"] == ":predict":
            self._send(405, {"error": "Malformed request: GET is not allowed for :predict"})
            return
        name, version = match["name"], int(match["version"]) if match["version"] else None
        try:
            if match["rest"] == "/metadata":
                from google.protobuf import json_format

                response = _metadata_response(self.repo.get(name, version))
                self._send(200, json_format.MessageToDict(
                    response, preserving_proto_field_name=True))
                return
            response = _status_response(self.repo, name, version)
        except ServingStatusError as e:
            self._send(e.http_status, {"error": e.message})
            return
        self._send(200, {"model_version_status": [
            {"version": str(s.version), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}
            for s in response.model_version_status]})

    def do_POST(self) -> None:  # noqa: N802
        match = self._route()
        if match is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if match["rest"] != ":predict":
            self._send(405, {"error": f"Malformed request: POST {self.path}"})
            return
        name, version = match["name"], int(match["version"]) if match["version"] else None
        try:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         f"JSON Parse error: {e}") from None
            if not isinstance(body, dict):
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         "JSON Value: not an object")
            self._predict(name, version, body)
        except ServingStatusError as e:
            self._send(e.http_status, {"error": e.message})

    def _predict(self, name: str, version: Optional[int], body: dict) -> None:
        signature = body.get("signature_name", "")
        servable = self.repo.get(name, version)
        signame = signature or DEFAULT_SIGNATURE
        if signame not in servable.loaded.signatures:
            raise ServingStatusError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f'Serving signature name: "{signame}" not found in signature def')
        input_names = sorted(servable.loaded.signatures[signame].structured_input_signature[1])
        if ("inputs" in body) == ("instances" in body):
            raise ServingStatusError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Missing 'inputs' or 'instances' key" if "inputs" not in body
                else "Not both 'inputs' and 'instances' can be specified")
        if "inputs" in body:  # columnar
            cols = body["inputs"]
            if not isinstance(cols, dict):
                if len(input_names) != 1:
                    raise ServingStatusError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"input size does not match signature: 1!={len(input_names)}")
                cols = {input_names[0]: cols}
            inputs = {k: _json_to_array(v) for k, v in cols.items()}
        else:  # row format
            rows = body["instances"]
            if not isinstance(rows, list):
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         "'instances' must be a list")
            if rows and isinstance(rows[0], dict) and set(rows[0]) != {"b64"}:
                inputs = {k: _json_to_array([r.get(k) for r in rows]) for k in rows[0]}
            elif len(input_names) == 1:
                inputs = {input_names[0]: _json_to_array(rows)}
            else:
                raise ServingStatusError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"instances must be objects naming each input of {input_names}")
        _, outputs = self.repo.predict(name, version, signame, inputs)
        if "inputs" in body:
            self._send(200, {"outputs": {k: _array_to_json(k, v) for k, v in outputs.items()}})
        else:
            n = len(next(iter(outputs.values())))
            self._send(200, {"predictions": [
                {k: _array_to_json(k, v[i:i + 1])[0] for k, v in outputs.items()}
                for i in range(n)]})


# --------------------------------------------------------------------------- server


class TFServingTestServer:
    """Starts the gRPC and REST endpoints on 127.0.0.1 (port 0: any free port).

        with TFServingTestServer("artifacts/serving") as server:
            client = EmotionClient(backend_from_url(server.rest_url))
    """

    def __init__(self, model_repository: str, host: str = "127.0.0.1", grpc_port: int = 0,
                 rest_port: int = 0, max_workers: int = 8):
        self.repo = ModelRepository(model_repository)
        self.host = host
        self._grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            options=[("grpc.max_send_message_length", 64 * 1024 * 1024),
                     ("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _PredictionService(self.repo), self._grpc_server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            _ModelService(self.repo), self._grpc_server)
        self.grpc_port = self._grpc_server.add_insecure_port(f"{host}:{grpc_port}")
        if not self.grpc_port:
            raise OSError(f"could not bind gRPC to {host}:{grpc_port}")
        handler = type("Handler", (_RestHandler,), {"repo": self.repo})
        self._http = ThreadingHTTPServer((host, rest_port), handler)
        self._http.daemon_threads = True
        self.rest_port = self._http.server_address[1]
        self._http_thread: Optional[threading.Thread] = None

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}"

    @property
    def grpc_url(self) -> str:
        return f"grpc://{self.host}:{self.grpc_port}"

    def start(self) -> TFServingTestServer:
        self._grpc_server.start()
        self._http_thread = threading.Thread(target=self._http.serve_forever,
                                             name="tfs-test-rest", daemon=True)
        self._http_thread.start()
        return self

    def stop(self) -> None:
        self._grpc_server.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> TFServingTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.tfs_server",
        description="TEST DOUBLE of TF Serving (gRPC + REST) for tests and local development; "
                    "not for production.")
    parser.add_argument("--model-repository", default="artifacts/serving")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--grpc-port", type=int, default=8500)
    parser.add_argument("--rest-port", type=int, default=8501)
    args = parser.parse_args(argv)
    server = TFServingTestServer(args.model_repository, args.host, args.grpc_port,
                                 args.rest_port).start()
    print(f"TF Serving test double (not for production): models {server.repo.names()} from "
          f"{server.repo.root}; gRPC {server.grpc_url}, REST {server.rest_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
