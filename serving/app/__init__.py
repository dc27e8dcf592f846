"""The `mer serve` web app: a page and a JSON API over TER, SER and MER.

    from serving.app import serve
    serve(model_dir="artifacts/serving")               # in-process models
    serve(server="grpc://localhost:8500")              # TF Serving
"""

from __future__ import annotations

from typing import Optional

from serving.app.server import BackgroundServer, make_server
from serving.app.service import Limits, PredictService

__all__ = ["BackgroundServer", "Limits", "PredictService", "make_server", "serve"]


def serve(host: str = "127.0.0.1", port: int = 8080, server: Optional[str] = None,
          model_dir: str = "artifacts/serving", limits: Limits = Limits(),
          quiet: bool = False) -> None:
    """Run the app until interrupted. Backend: TF Serving at `server` if given, else the
    newest pushed models in `model_dir`, loaded here (what works right after `make demo`)."""
    from serving import audio
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient, backend_from_url

    backend = backend_from_url(server) if server else InProcessBackend(model_dir)
    audio.warm_up()
    if isinstance(backend, InProcessBackend):
        for task, state in backend.warm_up().items():  # pay model loading before the 1st user
            print(f"  {task}: " + (f"version {state}" if state.isdigit() else state), flush=True)
    httpd = make_server(EmotionClient(backend), host, port, limits, quiet=quiet)
    print(f"mer serve: http://{host}:{httpd.server_address[1]}/  (backend: "
          f"{backend.description}; API docs: /openapi.json; Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        httpd.service.close()  # type: ignore[attr-defined]
