"""TF Serving's gRPC API as a backend (`grpc://host:8500`), with tensorflow-serving-api's stubs."""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

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


class GrpcBackend(Backend):
    """TF Serving's gRPC API: `PredictionService.Predict` from tensorflow-serving-api.

    gRPC is the faster of TF Serving's two APIs (binary tensors, HTTP/2 multiplexing on one
    channel), so production clients should prefer it. The channel is created once and shared
    by all threads; its reconnect backoff is kept short so that a retry after a refused
    connection really tries again.
    """

    kind = "TF Serving gRPC"

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
        model = f"model {task!r}" + (f" version {version}" if version is not None else "")
        where = f"{model} at {self.url}"

        def give_up(e: BaseException, attempts: int) -> ServingError:
            return ServerUnavailableError(
                f"TF Serving gRPC at {self.url} is unavailable ({e.details()}) after "
                f"{attempts} attempt(s). Start it (`docker compose -f serving/docker-compose.yml "
                f"up`) or fix the target.", public="the model server is unavailable")

        def is_connection_error(e: BaseException) -> bool:
            return isinstance(e, grpc.RpcError) and e.code() == grpc.StatusCode.UNAVAILABLE

        try:
            return with_retries(lambda: method(request, timeout=self.timeout), self.retries,
                                 self.backoff_s, is_connection_error, give_up)
        except grpc.RpcError as e:
            code, details = e.code(), model_error_summary(e.details() or "")
            if code == grpc.StatusCode.NOT_FOUND:
                raise ModelNotFoundError(
                    f"{where} is not served ({details}). Check serving/models.config lists it "
                    f"and that its base path holds a numbered version.",
                    public=f"{model} is not served") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServingTimeoutError(
                    f"{where} did not answer within {self.timeout:g} s; raise the timeout or "
                    f"check the server's load.",
                    public=f"the model server did not answer within {self.timeout:g} s") from None
            if code == grpc.StatusCode.INVALID_ARGUMENT and looks_like_signature_error(details):
                raise SignatureError(
                    f"{where}: {details.rstrip('.')}. {SIGNATURE_FIX}",
                    public=f"{model}: {details.rstrip('.')}") from None
            error = (InvalidInputError if code == grpc.StatusCode.INVALID_ARGUMENT
                     else PredictionError)
            raise error(f"{where} failed ({code.name}): {details}",
                        public=f"{model} refused the input ({code.name}): {details}") from None

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
        return rows_to_predictions(probs, names, top_k)

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
