"""What the serving clients raise: few, explicit errors callers can react to without parsing.

`ModelNotFoundError` (no such model/version: push it or fix the name), `SignatureError` (the
model lacks `predict_raw` or takes other inputs: re-export it), `MissingInputError` (the task
needs an input the caller did not give), `ServerUnavailableError` (nothing answers at the URL
after bounded retries: start the server), `ServingTimeoutError` (it answered too slowly),
`PredictionError` (the server failed on this input).
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class of every error this module raises."""


class ModelNotFoundError(ServingError, FileNotFoundError):
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
