"""Running the app: uvicorn on a socket we bind, in the foreground (`mer serve`) or a thread.

Why we bind the socket: the port is known before the server starts (port 0 picks a free one for
tests and the benchmark), and "address in use" fails here with a clear message instead of
inside the server's startup.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import signal
import socket
import threading
import time
from typing import Optional

import uvicorn

from components.core.errors import UsageError
from serving.app.api import create_app
from serving.app.observability import JsonFormatter
from serving.app.protocol import guarded_protocol
from serving.app.schemas import Limits, ServerLimits
from serving.client import EmotionClient


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({e.strerror}); pick another --port or "
                      f"stop what uses it") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _RecordQueueHandler(logging.handlers.QueueHandler):
    """Queues the record itself: formatting and writing happen on the listener's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def configure_logging(access_log: bool = True, level: int = logging.INFO
                      ) -> logging.handlers.QueueListener:
    """JSON lines on stderr for the app's loggers (`mer.serve`, `mer.serve.access`).

    Records go through a queue to one writer thread, so the event loop does not format JSON or
    wait on stderr for every request. Returns the started listener (`stop()` flushes it).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log_queue: queue.SimpleQueue = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(log_queue, handler)
    for name in ("mer.serve", "mer.serve.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [_RecordQueueHandler(log_queue)]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("mer.serve.access").disabled = not access_log
    listener.start()
    return listener


class SignalledServer(uvicorn.Server):
    """uvicorn's server, remembering the first signal that stopped it.

    uvicorn drains, then re-raises that signal so Ctrl-C ends in KeyboardInterrupt; under
    uvloop the re-raised SIGINT is occasionally swallowed (uvloop issue 295: `mer serve`
    exited 0 instead of 130 once in a `make test` run), so `serve` checks `stop_signal`
    itself instead of relying on the re-raise.
    """

    stop_signal: Optional[int] = None

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal = sig
        super().handle_exit(sig, frame)

    def raise_if_interrupted(self) -> None:
        """KeyboardInterrupt when Ctrl-C stopped the server and its re-raise was lost."""
        if self.stop_signal == signal.SIGINT:
            raise KeyboardInterrupt


def make_server(client: EmotionClient, limits: Limits = Limits(),
                server_limits: ServerLimits = ServerLimits()) -> SignalledServer:
    """A uvicorn server for the app (not yet started); `server.config.app.state` has its parts.

    One process, one event loop: the in-process models and their batching live in it. HTTP is
    uvicorn's httptools protocol with read deadlines, header and connection caps and JSON
    errors (`serving/app/protocol.py`); uvloop runs the loop (requirements/base.txt pins both).
    """
    app = create_app(client, limits, server_limits)
    config = uvicorn.Config(app, access_log=False, log_config=None, server_header=False,
                            http=guarded_protocol(server_limits),
                            timeout_keep_alive=server_limits.keep_alive_s, backlog=2048)
    return SignalledServer(config)


class BackgroundServer:
    """The app served by uvicorn in a daemon thread: for tests, the benchmark and notebooks."""

    def __init__(self, client: EmotionClient, host: str = "127.0.0.1", port: int = 0,
                 limits: Limits = Limits(), server_limits: ServerLimits = ServerLimits()):
        self.server = make_server(client, limits, server_limits)
        self.app = self.server.config.app
        self._socket = bind(host, port)
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> BackgroundServer:
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]},
                                        daemon=True, name="mer-serve")
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start (see the log above)")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._socket.close()
        self.app.state.service.close()
