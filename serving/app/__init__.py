"""The `mer serve` web app: a page and a JSON API over TER, SER and MER, on FastAPI + uvicorn.

    from serving.app import serve
    serve(model_dir="artifacts/serving")               # in-process models
    serve(server="grpc://localhost:8500")              # TF Serving

Parts: `schemas` (the API's pydantic models and limits), `service` (what a prediction request
does), `api` (routes, errors, OpenAPI), `middleware` (size limit, security headers),
`observability` (metrics, JSON logs), `server` (uvicorn).
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from serving.app.schemas import Limits, ServerLimits


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM (what Kubernetes, systemd and `docker stop` send) stops `mer serve` as Ctrl-C
    does: uvicorn drains the open requests, then re-raises the signal once its own handler is
    gone. Left at the default action, that re-raise killed the process (exit 143) before the
    batch threads were joined and the JSON log queue flushed; this handler turns it into a
    normal exit (0) through `serve`'s clean-up."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_cleanly)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(host: str = "127.0.0.1", port: int = 8080, server: Optional[str] = None,
          model_dir: str = "artifacts/serving", limits: Optional[Limits] = None,
          quiet: bool = False, batching_config: Optional[str] = None,
          server_limits: Optional[ServerLimits] = None) -> None:
    """Run the app until interrupted. Backend: TF Serving at `server` if given, else the
    newest pushed models in `model_dir`, loaded here (what works right after `make demo`),
    micro-batched with `batching_config` (default: serving/batching.config). `limits` bound
    each request, `server_limits` connections and concurrency (read deadlines, caps)."""
    import logging

    from serving import audio
    from serving.app.schemas import Limits, ServerLimits
    from serving.app.server import bind, configure_logging, make_server
    from serving.backends.batching import BatchingParams
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient, backend_from_url

    _stop_cleanly_on_sigterm()
    listener = configure_logging(access_log=not quiet)
    log = logging.getLogger("mer.serve")
    if server:
        backend = backend_from_url(server)
    else:
        batching = BatchingParams.from_file(batching_config) if batching_config else "config"
        backend = InProcessBackend(model_dir, batching=batching)
        backend.configure_tf_threads()
    sock = bind(host, port)
    audio.warm_up()
    if isinstance(backend, InProcessBackend):
        for task, state in backend.warm_up().items():  # pay model loading before the 1st user
            refused = "".join(f"; version {v} not served: {why}"
                              for v, why in backend.model_failures(task).items())
            print(f"  {task}: " + (f"version {state}" if state.isdigit() else state) + refused,
                  flush=True)
    httpd = make_server(EmotionClient(backend), limits or Limits(),
                        server_limits or ServerLimits())
    log.info("backend: %s", backend.description)
    print(f"mer serve: http://{host}:{sock.getsockname()[1]}/  (backend: {backend.description}; "
          f"API: /openapi.json, metrics: /metrics; Ctrl-C stops)", flush=True)
    try:
        httpd.run(sockets=[sock])
        httpd.raise_if_interrupted()
    finally:
        sock.close()
        httpd.config.app.state.service.close()
        log.info("stopped")
        listener.stop()
