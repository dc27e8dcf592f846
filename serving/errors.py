"""What the serving clients raise: few, explicit errors callers can react to without parsing.

`ModelNotFoundError` (no such model/version: push it or fix the name), `SignatureError` (the
model lacks `predict_raw` or takes other inputs: re-export it), `MissingInputError` (the task
needs an input the caller did not give), `ServerUnavailableError` (nothing answers at the URL
after bounded retries: start the server), `ServingTimeoutError` (it answered too slowly),
`PredictionError` (the server failed on this input), and its subclass `InvalidInputError` (the
model refused the input as invalid: INVALID_ARGUMENT), and its subclass `NoSignalError` (text
without letters or audio that is digital silence: no model is asked).

Each error has two texts: the message (`str(e)`), for the caller's own logs and the CLI, which
names the model's path or the server's URL so an operator can fix it; and `public`, what the web
app may tell a remote client: the model's own reason (e.g. "audio must be a 16 kHz mono 16-bit
PCM WAV file; ..."), never a filesystem path or a host.
"""

from __future__ import annotations

import re
from typing import Optional

from components.core.errors import MerError

# Absolute paths (POSIX with two or more parts, Windows drive paths) and URLs with a host.
_INTERNALS = re.compile(r"(?:[a-z][a-z0-9+.-]*://[^\s'\"]+|(?<![\w.])(?:/[^\s/'\":]+){2,}/?"
                        r"|\b[A-Za-z]:\\[^\s'\"]+)")


def scrub(text: str) -> str:
    """`text` with paths and URLs replaced by "<internal>": a last line of defence for replies."""
    return _INTERNALS.sub("<internal>", text)


class ServingError(MerError):
    """Base class of every error this module raises."""

    def __init__(self, message: str, public: Optional[str] = None):
        super().__init__(message)
        self.public = public

    def public_message(self, default: str) -> str:
        """What a remote client may read: `public` if the backend gave one, else `default`."""
        return scrub(self.public or default)


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


class InvalidInputError(PredictionError):
    """The model refused this input (INVALID_ARGUMENT: empty text or audio, unreadable audio):
    the caller's fault, HTTP 400; re-sending it fails the same way."""


class NoSignalError(InvalidInputError):
    """The input carries nothing a model can read (text without letters, digital silence;
    `components.core.signal`): no model is called, and no emotion is claimed."""
