"""What an operator sees of `mer serve`: Prometheus metrics and structured (JSON) logs.

* `/metrics` (Prometheus text format, `prometheus-client`): requests by route, method and
  status; API errors by their code (`invalid_audio`, `request_too_large`, ...); request latency
  per route and model-call latency per task as histograms; the in-process backend's batches.
  Each app has its own registry, so two apps in one process (tests) do not share counters.
* Access log: one JSON object per request on the `mer.serve.access` logger (method, path,
  route, status, error code, duration, bytes in/out, client, request id). Errors with paths
  and URLs are logged on `mer.serve`; replies never carry them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any, Callable, Optional

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from starlette.requests import ClientDisconnect

access_log = logging.getLogger("mer.serve.access")

_LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0)
#: The status logged and counted for a client that hung up before its request was read (nginx's
#: 499 "client closed request"; nothing is sent, there is no one to send it to).
CLIENT_CLOSED = 499
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object per line (what log shippers parse without rules)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3), "level": record.levelname.lower(),
            "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Metrics:
    """The app's Prometheus metrics, in a registry of their own."""

    def __init__(self, batch_stats: Optional[Callable[[], dict[str, tuple[int, int]]]] = None):
        self.registry = CollectorRegistry()
        self.requests = Counter("mer_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("mer_http_request_duration_seconds",
                                 "Time from request start to the last response byte",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("mer_api_errors", "Refused or failed requests by error code",
                              ["code"], registry=self.registry)
        self.tasks = Histogram("mer_prediction_duration_seconds",
                               "Model call latency per task (outcome: ok, unavailable, error)",
                               ["task", "outcome"], buckets=_LATENCY_BUCKETS,
                               registry=self.registry)
        if batch_stats is not None:
            self.registry.register(_BatchCollector(batch_stats))

    def observe_task(self, task: str, outcome: str, seconds: float) -> None:
        self.tasks.labels(task, outcome).observe(seconds)


class _BatchCollector:
    """The in-process backend's micro-batching counters, read when /metrics is scraped."""

    def __init__(self, stats: Callable[[], dict[str, tuple[int, int]]]):
        self._stats = stats

    def collect(self):
        batches = CounterMetricFamily("mer_inprocess_batches", "Model calls (batches) run",
                                      labels=["task"])
        rows = CounterMetricFamily("mer_inprocess_batch_rows", "Rows in those batches",
                                   labels=["task"])
        for task, (n_batches, n_rows) in sorted(self._stats().items()):
            batches.add_metric([task], n_batches)
            rows.add_metric([task], n_rows)
        return [batches, rows]


class ObservabilityMiddleware:
    """Pure ASGI: request id, access log and request metrics for every HTTP request."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else os.urandom(8).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        seen = {"status": 500, "bytes_out": 0, "bytes_in": 0, "started": False}

        async def counting_receive():
            message = await receive()
            seen["bytes_in"] += len(message.get("body", b""))
            return message

        async def tracking_send(message) -> None:
            if message["type"] == "http.response.start":
                seen["status"], seen["started"] = message["status"], True
                message["headers"] = list(message.get("headers", [])) + [
                    (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                seen["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ClientDisconnect:
            # Not a server error: the client hung up mid-body, or the protocol cut it off
            # (a body deadline: it already answered 408 and noted it in the scope's state).
            if not seen["started"]:
                seen["status"], state["error_code"] = state.get(
                    "refused", (CLIENT_CLOSED, "client_disconnected"))
        finally:
            self._record(scope, state, seen, time.perf_counter() - start)

    def _record(self, scope, state: dict, seen: dict, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        status, code = seen["status"], state.get("error_code")
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        if code:
            self.metrics.errors.labels(code).inc()
        client = scope.get("client")
        peer = f"{client[0]}:{client[1]}" if client else None
        access_log.info("request", extra={"fields": {
            "event": "request", "request_id": state["request_id"], "method": scope["method"],
            "path": scope.get("path", ""), "route": route, "status": status, "code": code,
            "duration_ms": round(seconds * 1000, 2), "bytes_in": seen["bytes_in"],
            "bytes_out": seen["bytes_out"], "client": peer,
        }})
