"""`POST /api/timeline`: the emotion timeline of an uploaded recording (`serving.timeline`).

Why its own route and limits: `/api/predict` takes one clip (30 s at most) and holds it in
memory; a recording may be an hour long. Here the upload is spooled to a temporary file by the
multipart parser (1 MB in memory at most), copied to a named temporary file in blocks, decoded
in blocks by the segmenter and deleted afterwards, so memory does not grow with the length.
The body limit of this path is `Limits.max_timeline_bytes` (the app's BodyLimitMiddleware reads
it per path); length and segment limits are refused before decoding, from the header.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from components.core.segments import (
    SegmentLimitError,
    SegmentSettings,
    UnreadableRecordingError,
)
from serving import asr
from serving.app.multipart import read_form
from serving.app.schemas import (
    AudioInfo,
    Emotion,
    Limits,
    Moment,
    TimelineResponse,
    TimelineSegmentOut,
    TimelineSummary,
    timeline_form_model,
)
from serving.app.service import ApiError, emoji_for
from serving.client import EmotionClient
from serving.errors import ModelNotFoundError, ServerUnavailableError, ServingError
from serving.timeline import Timeline, build_timeline

PATH = "/api/timeline"
COPY_BLOCK = 1024 * 1024


async def _read_upload(request: Request, limits: Limits) -> tuple[str, dict[str, Any]]:
    """The multipart body -> (path of the recording in a temporary file, the other fields)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {kind or '(none)'!r} is not accepted; send the recording "
                       f"as multipart/form-data with a file part named 'audio'")
    try:
        form = await read_form(request, max_files=1, max_fields=8,
                               max_part_size=limits.max_text_chars * 4 + 1024)
    except MultiPartException as e:
        raise ApiError(400, "bad_multipart", f"malformed multipart body: {e}") from None
    fields: dict[str, Any] = {}
    upload: Optional[UploadFile] = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "audio":
                raise ApiError(400, "unknown_fields", f"file part {key!r} is not accepted; send "
                                                      f"the recording as the part 'audio'")
            upload = value
        else:
            fields[key] = value
    if upload is None:
        await form.close()
        raise ApiError(400, "missing_audio", "no recording: send the audio file as the "
                                             "multipart file part 'audio'")
    fd, path = tempfile.mkstemp(prefix="mer-timeline-", suffix=".audio")
    try:
        with os.fdopen(fd, "wb") as out:
            await run_in_threadpool(_copy, upload.file, out)
    finally:
        await form.close()
    return path, fields


def _copy(src, dst) -> None:
    src.seek(0)
    shutil.copyfileobj(src, dst, COPY_BLOCK)


def _validate(model: type[BaseModel], fields: dict) -> Any:
    try:
        return model.model_validate({**fields, "audio": b"-"})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "request"
        code = "unknown_fields" if err["type"] == "extra_forbidden" else "invalid_request"
        raise ApiError(400, code, f"{where}: {err['msg']}") from None


def _reply(timeline: Timeline, backend: str, started: float) -> TimelineResponse:
    segments = [TimelineSegmentOut(
        start_s=s.start_s, end_s=s.end_s, text=s.text, text_source=s.text_source,
        results={t: [Emotion(emotion=p.emotion, probability=p.probability,
                             emoji=emoji_for(p.emotion)) for p in preds]
                 for t, preds in s.results.items()}) for s in timeline.segments]
    return TimelineResponse(
        duration_s=timeline.duration_s, window_s=timeline.window_s, hop_s=timeline.hop_s,
        segments=segments, silent_windows=timeline.silent_windows,
        no_signal_windows=timeline.no_signal_windows,
        summary=TimelineSummary(share=timeline.share, strongest=[
            Moment(**vars(m)) for m in timeline.strongest]),
        audio=AudioInfo(duration_s=timeline.duration_s,
                        source_sample_rate=timeline.source_sample_rate,
                        source_channels=timeline.source_channels,
                        source_format=timeline.source_format),
        backend=backend, elapsed_ms=round(1000 * (time.perf_counter() - started), 1))


def _tasks(client: EmotionClient, text: Optional[str], use_asr: bool) -> tuple[str, ...]:
    """SER always; TER and MER when there is text (or the ASR) and a model serves them."""
    tasks = ["ser"]
    if text or (use_asr and asr.available()):
        for task in ("ter", "mer"):
            try:
                client.model_version(task)
                tasks.append(task)
            except ServingError:
                continue
    return tuple(tasks)


def compute(client: EmotionClient, limits: Limits, path: str, fields: Any) -> TimelineResponse:
    """The timeline of the recording at `path` (blocking: run it in a worker thread)."""
    started = time.perf_counter()
    settings = SegmentSettings(window_s=limits.timeline_window_s, hop_s=fields.hop_s,
                               max_duration_s=limits.max_timeline_s,
                               max_segments=limits.max_timeline_segments)
    tasks = _tasks(client, fields.text, bool(fields.asr))
    transcribe = asr.transcribe if (fields.asr and not fields.text and asr.available()) else None
    try:
        timeline = build_timeline(path, client, settings, tasks=tasks, top_k=fields.top_k or 3,
                                  text=fields.text or None, transcribe=transcribe)
    except SegmentLimitError as e:
        raise ApiError(422, "timeline_too_long", _public(str(e), path)) from None
    except UnreadableRecordingError as e:
        raise ApiError(400, "invalid_audio", _public(str(e), path)) from None
    except ModelNotFoundError as e:
        raise ApiError(503, "model_unavailable", e.public_message("no ser model is served")) \
            from None
    except ServerUnavailableError as e:
        raise ApiError(503, "backend_unavailable", e.public_message("the model server is down")) \
            from None
    return _reply(timeline, client.backend.kind, started)


def _public(message: str, path: str) -> str:
    """The message without the temporary file's path (a client never sees server paths)."""
    return message.replace(f"{path}: ", "").replace(path, "the recording")


def add_route(app: FastAPI, client: EmotionClient, limits: Limits, errors: dict) -> type:
    """Registers `POST /api/timeline`; returns its form model (for the OpenAPI document)."""
    form_model = timeline_form_model(limits)

    @app.post(PATH, operation_id="timeline", summary="Emotion timeline of a whole recording",
              response_model=TimelineResponse, responses=errors)
    async def timeline(request: Request) -> Response:
        path, fields = await _read_upload(request, limits)
        try:
            body = _validate(form_model, fields)
            reply = await run_in_threadpool(compute, client, limits, path, body)
        finally:
            os.unlink(path)
        return Response(reply.model_dump_json(), media_type="application/json; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    return form_model
