"""The JSON API's request and reply types: pydantic models the OpenAPI document is generated from.

Why models and not a hand-written document: FastAPI derives `/openapi.json` from these classes,
the request bodies are validated by the same classes, and the replies are serialised from them,
so the document cannot drift from what the server accepts and answers (the schemathesis tests
in tests/serving/test_api_schema.py check the replies against it).

Request models depend on the configured `Limits` (maximum text length, top-k), so they are built
per app by `request_models(limits)`; the reply models are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, model_serializer

from components.core.segments import SegmentSettings
from components.core.tasks import TASKS

TaskName = Literal[TASKS]  # type: ignore[valid-type] - "ter" | "ser" | "mer"
# A comma-separated task list or "all" (form fields are strings).
TASKS_PATTERN = (r"^\s*(all|(" + "|".join(TASKS) + r")(\s*,\s*(" + "|".join(TASKS)
                 + r"))*)?\s*$")


@dataclass(frozen=True)
class Limits:
    """Input limits: they bound memory and time per request (a 30 s clip is ~1 MB as WAV)."""

    max_request_bytes: int = 10 * 1024 * 1024
    max_audio_s: float = 30.0
    max_text_chars: int = 2000
    max_top_k: int = 10
    # POST /api/timeline: a whole recording, streamed to a temporary file and decoded in blocks,
    # so these bound disk and time, not memory (60 min of 16 kHz 16-bit WAV is 115 MB).
    max_timeline_bytes: int = 256 * 1024 * 1024
    max_timeline_s: float = SegmentSettings.max_duration_s
    max_timeline_segments: int = SegmentSettings.max_segments
    timeline_window_s: float = 3.0  # the served models' clip length (the preset's duration_s)


@dataclass(frozen=True)
class ServerLimits:
    """Connection and concurrency limits: they bound what slow or many clients can hold
    (enforced by serving/app/protocol.py and the in-flight middleware)."""

    header_timeout_s: float = 10.0  # request line + headers, from the request's first byte
    body_timeout_s: float = 60.0  # the whole body, after the headers
    keep_alive_s: float = 30.0  # an idle kept-alive connection
    max_header_bytes: int = 32 * 1024
    max_connections: int = 1000  # open connections; more get 503
    max_in_flight: int = 256  # requests being handled; more get 503
    retry_after_s: int = 1  # what a 503 tells the client to wait


class _DropNone(BaseModel):
    """Leaves fields that are None out of the JSON (a skipped task has no `predictions`)."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> dict:
        return {k: v for k, v in handler(self).items() if v is not None}


# ------------------------------------------------------------------------------------ replies


class Emotion(BaseModel):
    emotion: str = Field(examples=["happy"])
    probability: float = Field(ge=0.0, le=1.0, examples=[0.83])
    emoji: str = Field(examples=["😊"])


class TaskResult(_DropNone):
    title: str = Field(examples=["Text (TER)"])
    status: Literal["ok", "skipped", "no_signal", "unavailable", "error"] = Field(
        description="skipped: the task's input is missing; no_signal: its input carries "
                    "nothing to read (text without letters, digitally silent audio), so no "
                    "emotion is claimed; unavailable: no model is served for it; error: the "
                    "model refused or failed on this input")
    predictions: Optional[list[Emotion]] = Field(
        None, description="top-k emotions, most probable first (status ok)")
    reason: Optional[str] = Field(None, description="why there are no predictions")


class AudioInfo(BaseModel):
    duration_s: float
    source_sample_rate: int
    source_channels: int
    source_format: str = Field(examples=["WAV"])


class InputEcho(BaseModel):
    text: Optional[str] = Field(description="the text the models saw")
    text_source: Optional[Literal["user", "asr"]]
    audio: Optional[AudioInfo]


class PredictResponse(BaseModel):
    results: dict[TaskName, TaskResult]
    input: InputEcho
    backend: str = Field(description="what serves the models (a kind, never a path or host)",
                         examples=["in-process"])
    elapsed_ms: float


class ModelStatus(_DropNone):
    status: Literal["available", "unavailable", "backend_unavailable"]
    version: Optional[str] = Field(None, description="the version serving requests")
    reason: Optional[str] = None
    failed: Optional[dict[str, str]] = Field(
        None, description="newer versions that are not served, and why (the serving version "
                          "keeps serving)", examples=[{"18": "cannot parse saved_model.pb"}])


class TimelineSegmentOut(_DropNone):
    start_s: float = Field(examples=[12.0])
    end_s: float = Field(examples=[15.0])
    results: dict[TaskName, list[Emotion]] = Field(
        description="top emotions per task scored on this segment, most probable first")
    text: Optional[str] = Field(None, description="the words scored by TER and MER")
    text_source: Optional[Literal["user", "asr"]] = None


class Moment(BaseModel):
    task: TaskName
    emotion: str = Field(examples=["angry"])
    probability: float = Field(ge=0.0, le=1.0)
    start_s: float
    end_s: float


class TimelineSummary(BaseModel):
    share: dict[TaskName, dict[str, float]] = Field(
        description="per task, the share of the scored time each emotion was the top one "
                    "(overlapping windows each count their first hop only)",
        examples=[{"ser": {"angry": 0.6, "neutral": 0.4}}])
    strongest: list[Moment] = Field(description="the most confident segment of each emotion, "
                                                "most confident first")


class TimelineResponse(BaseModel):
    duration_s: float = Field(description="length of the recording decoded")
    window_s: float
    hop_s: float
    segments: list[TimelineSegmentOut]
    silent_windows: int = Field(description="windows skipped as silence by the energy VAD")
    no_signal_windows: int = Field(description="windows refused as carrying no signal")
    summary: TimelineSummary
    audio: AudioInfo
    backend: str
    elapsed_ms: float


class AsrInfo(BaseModel):
    available: bool
    engine: str


class LimitsInfo(BaseModel):
    max_request_bytes: int
    max_audio_s: float
    max_text_chars: int
    max_top_k: int
    max_timeline_bytes: int
    max_timeline_s: float
    max_timeline_segments: int
    timeline_window_s: float


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    backend: str
    models: dict[TaskName, ModelStatus]
    asr: AsrInfo
    limits: LimitsInfo


class ErrorDetail(BaseModel):
    status: int = Field(examples=[400])
    code: str = Field(examples=["invalid_audio"])
    message: str = Field(description="what was wrong and how to fix it, for a person")


class ErrorBody(BaseModel):
    error: ErrorDetail


# ------------------------------------------------------------------------------------ requests


class B64Value(BaseModel):
    """TF Serving's way of sending binary values in JSON, accepted for `audio`."""

    model_config = ConfigDict(extra="forbid")
    b64: str = Field(json_schema_extra={"format": "byte"})


def request_models(limits: Limits) -> tuple[type[BaseModel], type[BaseModel]]:
    """(JSON body model, multipart form model) with this app's limits in their constraints."""
    text = (Optional[str], Field(None, max_length=limits.max_text_chars,
                                 description="what was said (TER and MER)"))
    top_k = (Optional[int], Field(None, ge=1, le=limits.max_top_k,
                                  description="how many emotions per task (default 3)"))
    asr = (bool, Field(False, description="with audio but no text, transcribe the audio "
                                          "offline (pocketsphinx) for TER and MER"))
    task_help = (f"comma-separated subset of {', '.join(TASKS)}, or 'all' (default: every "
                 f"task whose inputs are present)")
    tasks_string = Field(pattern=TASKS_PATTERN, examples=["ter,ser"])
    json_model = create_model(
        "PredictJson",
        __config__=ConfigDict(extra="forbid"),
        text=text, top_k=top_k, asr=asr,
        audio_b64=(Optional[str], Field(None, json_schema_extra={"format": "byte"},
                                        description="the audio file, base64-encoded")),
        audio=(Optional[B64Value], Field(None, description="the audio file as TF Serving's "
                                                           '{"b64": ...}; same as audio_b64')),
        tasks=(Optional[Union[Annotated[str, tasks_string], list[TaskName]]],
               Field(None, description=task_help)),
    )
    # Form fields are strings or files; none can be null, only absent (default None).
    form_model = create_model(
        "PredictForm",
        __config__=ConfigDict(extra="forbid"),
        text=(str, Field(None, max_length=limits.max_text_chars,
                         description="what was said (TER and MER)")),
        top_k=(int, Field(None, ge=1, le=limits.max_top_k,
                          description="how many emotions per task (default 3)")),
        asr=asr,
        audio=(bytes, Field(None, json_schema_extra={"format": "binary"},
                            description="the audio file (WAV, FLAC, Ogg, MP3)")),
        tasks=(Annotated[str, tasks_string], Field(None, description=task_help)),
    )
    return json_model, form_model



def timeline_form_model(limits: Limits) -> type[BaseModel]:
    """The multipart form of `POST /api/timeline` (for validation and the OpenAPI document)."""
    return create_model(
        "TimelineForm",
        __config__=ConfigDict(extra="forbid"),
        audio=(bytes, Field(json_schema_extra={"format": "binary"},
                            description="the recording (WAV, FLAC, Ogg), any length up to "
                                        f"{limits.max_timeline_s:g} s")),
        text=(str, Field(None, max_length=limits.max_text_chars,
                         description="a transcript of the whole recording: TER and MER score "
                                     "every segment with it")),
        asr=(bool, Field(False, description="transcribe each segment offline (pocketsphinx) "
                                            "for TER and MER")),
        hop_s=(float, Field(None, gt=0, le=limits.timeline_window_s,
                            description=f"seconds between window starts (default: the window, "
                                        f"{limits.timeline_window_s:g} s)")),
        top_k=(int, Field(None, ge=1, le=limits.max_top_k,
                          description="emotions per task and segment (default 3)")),
    )
