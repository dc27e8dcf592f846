"""The `mer serve` web app on FastAPI: the page, `POST /api/predict`, health, metrics, OpenAPI.

Routes: `GET /` (the page), `GET /static/<file>`, `POST /api/predict` (multipart/form-data or
JSON), `GET /api/health`, `GET /metrics` (Prometheus), `GET /openapi.json` (generated from the
models in `serving/app/schemas.py`). Every error is `{"error": {"status", "code", "message"}}`.

The predict route reads its body itself (not through FastAPI parameters) because it takes two
content types, JSON and multipart; both are validated by pydantic models, whose schemas are
what the OpenAPI document publishes for them. Prediction runs in a worker thread (TensorFlow
and the resampler block), so the event loop keeps accepting and parsing other requests, which
is what lets the in-process backend batch them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from components.core.tasks import TASKS
from serving.app import timeline_route
from serving.app.middleware import (
    CSP,
    BodyLimitMiddleware,
    BodyTooLargeError,
    InFlightLimitMiddleware,
    SecurityHeadersMiddleware,
    too_large,
)
from serving.app.multipart import read_form
from serving.app.observability import Metrics, ObservabilityMiddleware
from serving.app.schemas import (
    ErrorBody,
    Health,
    Limits,
    PredictResponse,
    ServerLimits,
    request_models,
)
from serving.app.service import (
    AUDIO_CONTENT_TYPES,
    ApiError,
    PredictInput,
    PredictService,
    decode_b64_audio,
    parse_tasks,
)
from serving.client import EmotionClient

log = logging.getLogger("mer.serve")

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {  # a fixed list: nothing outside it can be requested (no path traversal)
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
JSON_TYPE = "application/json; charset=utf-8"
API_VERSION = "2.0.0"
_FIELD_CODES = {"text": "invalid_text", "top_k": "invalid_top_k", "tasks": "invalid_tasks",
                "asr": "invalid_asr", "audio_b64": "invalid_audio", "audio": "invalid_audio"}


def json_response(status: int, model: BaseModel) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type=JSON_TYPE,
                    headers={"Cache-Control": "no-store"})


def error_response(request: Request, error: ApiError) -> Response:
    request.state.error_code = error.code
    return Response(json.dumps(error.body(), ensure_ascii=False), status_code=error.status,
                    media_type=JSON_TYPE, headers={"Cache-Control": "no-store"})


def _validate(model: type[BaseModel], data: dict, limits: Limits) -> Any:
    """Pydantic validation, with failures turned into the API's error codes and sentences."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
    extra = sorted(str(err["loc"][0]) for err in errors
                   if err["type"] == "extra_forbidden" and len(err["loc"]) == 1)
    if extra:
        accepted = ", ".join(model.model_fields)
        raise ApiError(400, "unknown_fields",
                       f"unknown field(s) {extra}; the accepted fields are {accepted}") from None
    err = errors[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    if field == "text" and err["type"] == "string_too_long":
        raise ApiError(422, "text_too_long", f"text has {len(data['text'])} characters; the "
                                             f"limit is {limits.max_text_chars}") from None
    if field == "top_k":
        raise ApiError(400, "invalid_top_k", f"top_k must be an integer between 1 and "
                                             f"{limits.max_top_k}") from None
    if field == "tasks":
        raise ApiError(400, "invalid_tasks", f"tasks must be a list of {', '.join(TASKS)} or a "
                                             f"comma-separated string of them, or 'all'") from None
    where = ".".join(str(part) for part in err["loc"]) or "request"
    raise ApiError(400, _FIELD_CODES.get(field, "invalid_request"),
                   f"{where}: {err['msg']}") from None


async def read_predict_input(request: Request, json_model: type[BaseModel],
                             form_model: type[BaseModel], limits: Limits) -> PredictInput:
    """The request body (JSON or multipart) -> a checked `PredictInput`, or an ApiError."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(await request.body())
        except (UnicodeDecodeError, ValueError, RecursionError) as e:  # too deep nests too
            raise ApiError(400, "invalid_json", f"request body is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "request body must be a JSON object")
        body = _validate(json_model, data, limits)
        audio = decode_b64_audio(body.audio_b64 or (body.audio.b64 if body.audio else None))
        return PredictInput(text=body.text, audio=audio, tasks=parse_tasks(body.tasks),
                            top_k=body.top_k or 3, asr=body.asr)
    if kind == "multipart/form-data":
        try:
            form = await read_form(request, max_files=4, max_fields=16,
                                   max_part_size=limits.max_request_bytes)
        except MultiPartException as e:
            raise ApiError(400, "bad_multipart", f"malformed multipart body: {e}") from None
        fields: dict[str, Any] = {}
        audio_type = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                fields[key] = await value.read()
                if key == "audio":
                    audio_type = value.content_type
            else:
                fields[key] = value.encode("utf-8") if key == "audio" else value
        body = _validate(form_model, fields, limits)
        return PredictInput(text=body.text, audio=body.audio or None,
                            audio_content_type=audio_type, tasks=parse_tasks(body.tasks),
                            top_k=body.top_k or 3, asr=bool(body.asr))
    raise ApiError(415, "unsupported_media_type",
                   f"Content-Type {kind or '(none)'!r} is not accepted; use multipart/form-data "
                   f"or application/json")


def create_app(client: EmotionClient, limits: Limits = Limits(),
               server_limits: ServerLimits = ServerLimits()) -> FastAPI:
    """The app over `client`; `app.state.service` and `app.state.metrics` are its parts."""
    batch_stats = getattr(client.backend, "batch_stats", None)
    metrics = Metrics(batch_stats)
    service = PredictService(client, limits, observe=metrics.observe_task)
    json_model, form_model = request_models(limits)
    description = (
        "Top emotions from text (TER), speech (SER) and both (MER). Audio in any format "
        "libsndfile reads (WAV, FLAC, Ogg, MP3) is converted to 16 kHz mono 16-bit WAV with "
        f"ingestion's resampler. Limits: request {limits.max_request_bytes} bytes, audio "
        f"{limits.max_audio_s:g} s, text {limits.max_text_chars} characters.")
    app = FastAPI(title="Multimodal emotion recognition API", version=API_VERSION,
                  description=description, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json")
    app.state.service, app.state.metrics = service, metrics
    static = {name: (STATIC_DIR / name).read_bytes() for name in STATIC_FILES}
    errors = {str(s): {"model": ErrorBody, "description": d} for s, d in (
        (400, "malformed request, undecodable audio, no input"),
        (413, f"request larger than {limits.max_request_bytes} bytes"),
        (415, "request or audio content type not accepted"),
        (422, f"text over {limits.max_text_chars} characters or audio over "
              f"{limits.max_audio_s:g} s"),
        (500, "an unexpected failure (the server log has the details)"),
        (503, "the model server is down or overloaded"))}

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(BodyTooLargeError)
    async def body_too_large(request: Request, exc: BodyTooLargeError) -> Response:
        return error_response(request, too_large(exc.limit))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = (f"no route {request.method} {request.url.path}" if exc.status_code == 404
                   else f"{request.method} is not allowed on {request.url.path}"
                   if exc.status_code == 405 else str(exc.detail))
        return error_response(request, ApiError(exc.status_code, code, message))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, ApiError(400, "invalid_request", str(exc.errors()[:1])))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "?")
        log.exception("request %s failed", request_id, exc_info=exc)
        return error_response(request, ApiError(
            500, "internal_error", f"the request failed unexpectedly; the server log has the "
                                   f"details under request id {request_id}"))

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    @app.api_route("/index.html", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> Response:
        return Response(static["index.html"], media_type=STATIC_FILES["index.html"], headers={
            "Cache-Control": "no-cache", "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY"})

    @app.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static_file(request: Request, name: str) -> Response:
        if name not in STATIC_FILES:
            raise ApiError(404, "not_found", f"no static file {name!r}")
        return Response(static[name], media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})

    @app.post("/api/predict", operation_id="predict", summary="Predict emotions for text "
              "and/or audio", response_model=PredictResponse, responses=errors)
    async def predict(request: Request) -> Response:
        req = await read_predict_input(request, json_model, form_model, limits)
        return json_response(200, await run_in_threadpool(service.predict, req))

    @app.get("/api/health", operation_id="health", summary="Backend and per-model status",
             response_model=Health, responses={"503": {"model": Health,
                                                       "description": "no model is available"}})
    async def health() -> Response:
        status, body = await run_in_threadpool(service.health)
        return json_response(status, body)

    @app.get("/metrics", operation_id="metrics", summary="Prometheus metrics (text format)",
             response_class=Response, responses={"200": {
                 "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                 "description": "Prometheus text exposition format"}})
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    timeline_form = timeline_route.add_route(app, client, limits, errors)

    def openapi() -> dict:
        """FastAPI's document, plus the two request bodies of /api/predict from their models."""
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (json_model, form_model, timeline_form):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        doc["paths"]["/api/predict"]["post"]["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictJson"},
                                 "example": {"text": "I can't believe you did that!",
                                             "top_k": 3}},
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/PredictForm"},
                                    "encoding": {"audio": {
                                        "contentType": ", ".join(AUDIO_CONTENT_TYPES)}}}}}
        doc["paths"][timeline_route.PATH]["post"]["requestBody"] = {"required": True, "content": {
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/TimelineForm"},
                                    "encoding": {"audio": {
                                        "contentType": ", ".join(AUDIO_CONTENT_TYPES)}}}}}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_request_bytes,
                       path_limits={timeline_route.PATH: limits.max_timeline_bytes})
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(InFlightLimitMiddleware, max_in_flight=server_limits.max_in_flight,
                       retry_after_s=server_limits.retry_after_s)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return app
