"""The web app over a stub backend that answers at once: what the front end alone costs.

`benchmarks/serving.py` runs this as a separate process and sends it the same requests as the
real app, so the CPU per request measured here is the HTTP server, the framework, the body
(JSON, base64, the upload check) and the reply, without any model: the part of a request's
cost that batching cannot amortise.

    python benchmarks/serving_frontend.py --port 8099
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Mapping, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(REPO)  # this folder's serving.py must not shadow the `serving` package

from serving.backends.base import Backend, Prediction  # noqa: E402


class StubBackend(Backend):
    """Three fixed predictions per row, no model."""

    kind = "stub"
    description = "stub backend (no model)"

    def predict_batch(self, task: str, inputs: Mapping[str, Sequence[bytes]], top_k: int,
                      version: Optional[int] = None) -> list[list[Prediction]]:
        rows = len(next(iter(inputs.values())))
        answer = [Prediction("happy", 0.8), Prediction("sad", 0.15), Prediction("angry", 0.05)]
        return [answer[:top_k] for _ in range(rows)]

    def model_version(self, task: str) -> str:
        return "1"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from serving.app.server import bind, configure_logging, make_server
    from serving.client import EmotionClient

    listener = configure_logging(access_log=True)  # as `mer serve` logs
    sock = bind("127.0.0.1", args.port)
    try:
        make_server(EmotionClient(StubBackend())).run(sockets=[sock])
    finally:
        listener.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
