"""What `POST /api/predict` does, independent of HTTP: validate, convert, predict, explain.

Kept apart from the HTTP handler so the rules (limits, which task runs on what, how errors
read) are one readable unit, and tests and the benchmark can call them without a socket.
"""

from __future__ import annotations

import base64
import binascii
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

from components.core.tasks import TASK_INPUTS, TASKS
from serving import asr
from serving.audio import AudioError, AudioTooLongError, to_wav16k
from serving.client import EmotionClient
from serving.errors import ModelNotFoundError, ServerUnavailableError, ServingError

EMOJI = {
    "neutral": "😐", "happy": "😊", "happiness": "😊", "joy": "😂", "excited": "🤩",
    "sad": "😢", "sadness": "😢", "angry": "😠", "anger": "😠", "frustrated": "😤",
    "fear": "😨", "fearful": "😨", "surprise": "😮", "surprised": "😮", "disgust": "🤢",
    "calm": "😌", "contempt": "😒", "boredom": "🥱", "other": "🎭",
}
DEFAULT_EMOJI = "🎭"
TASK_TITLES = {"ter": "Text (TER)", "ser": "Speech (SER)", "mer": "Text + speech (MER)"}

# Content types browsers send for audio files libsndfile can read. application/octet-stream
# is what they send for unknown extensions; the decoder then decides.
AUDIO_CONTENT_TYPES = (
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac",
    "audio/ogg", "audio/vorbis", "audio/opus", "audio/mpeg", "audio/mp3", "audio/aiff",
    "audio/x-aiff", "application/octet-stream",
)


@dataclass(frozen=True)
class Limits:
    """Input limits: they bound memory and time per request (a 30 s clip is ~1 MB as WAV)."""

    max_request_bytes: int = 10 * 1024 * 1024
    max_audio_s: float = 30.0
    max_text_chars: int = 2000
    max_top_k: int = 10


class ApiError(Exception):
    """A request the API refuses: HTTP status, a stable machine code, and a sentence."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}


@dataclass
class PredictInput:
    text: Optional[str] = None
    audio: Optional[bytes] = None  # the uploaded file as sent (any soundfile-readable format)
    audio_content_type: Optional[str] = None
    tasks: Optional[Sequence[str]] = None  # None: every task whose inputs are present
    top_k: int = 3
    asr: bool = False  # transcribe audio when no text is given (pocketsphinx)


def emoji_for(emotion: str) -> str:
    return EMOJI.get(emotion.lower(), DEFAULT_EMOJI)


def parse_tasks(value: Any) -> Optional[list[str]]:
    """"ter,mer" or ["ter", "mer"] or "all" -> task list (None: choose from the inputs)."""
    if value is None or value == "" or value == "all" or value == ["all"]:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise ApiError(400, "invalid_tasks", "tasks must be a list of task names or 'all'")
    tasks = [t.strip().lower() for t in items if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ApiError(400, "invalid_tasks",
                       f"unknown task(s) {unknown}; choose from {', '.join(TASKS)} or 'all'")
    return tasks or None


def parse_top_k(value: Any, limits: Limits) -> int:
    if value is None or value == "":
        return 3
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid_top_k", f"top_k must be an integer, got {value!r}") from None
    if not 1 <= k <= limits.max_top_k:
        raise ApiError(400, "invalid_top_k", f"top_k must be between 1 and {limits.max_top_k}")
    return k


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def decode_b64_audio(value: Any) -> Optional[bytes]:
    if value is None or value == "":
        return None
    if isinstance(value, dict) and set(value) == {"b64"}:  # TF Serving's style, accepted too
        value = value["b64"]
    if not isinstance(value, str):
        raise ApiError(400, "invalid_audio", "audio_b64 must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_audio", "audio_b64 is not valid base64") from None


class PredictService:
    """Runs TER, SER and MER for one request through an `EmotionClient`."""

    def __init__(self, client: EmotionClient, limits: Limits = Limits(), max_workers: int = 16):
        self.client = client
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="predict")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.client.close()

    # ---------------------------------------------------------------- validation

    def _check_text(self, text: Any) -> Optional[str]:
        if text is None:
            return None
        if not isinstance(text, str):
            raise ApiError(400, "invalid_text", "text must be a string")
        text = text.strip()
        if len(text) > self.limits.max_text_chars:
            raise ApiError(422, "text_too_long",
                           f"text has {len(text)} characters; the limit is "
                           f"{self.limits.max_text_chars}")
        return text or None

    def _check_audio(self, audio: Optional[bytes], content_type: Optional[str]):
        if not audio:
            return None
        ctype = (content_type or "").split(";")[0].strip().lower()
        if ctype and ctype not in AUDIO_CONTENT_TYPES:
            raise ApiError(415, "unsupported_audio_type",
                           f"audio content type {ctype!r} is not accepted; send WAV, FLAC, Ogg "
                           f"or MP3 (browser recordings must be converted to WAV first)")
        try:
            return to_wav16k(audio, max_duration_s=self.limits.max_audio_s)
        except AudioTooLongError as e:
            raise ApiError(422, "audio_too_long", str(e)) from None
        except AudioError as e:
            raise ApiError(400, "invalid_audio", str(e)) from None

    # ---------------------------------------------------------------- prediction

    def predict(self, req: PredictInput) -> dict:
        start = time.perf_counter()
        text = self._check_text(req.text)
        audio = self._check_audio(req.audio, req.audio_content_type)
        if text is None and audio is None:
            raise ApiError(400, "no_input", "give text and/or an audio file")
        text_source = "user" if text is not None else None
        asr_note = None
        if text is None and audio is not None and req.asr:
            if asr.available():
                text = asr.transcribe(audio.wav_bytes) or None
                text_source = "asr" if text else None
                asr_note = None if text else "ASR recognised no words in the audio"
            else:
                asr_note = "ASR is not installed on the server (pip install pocketsphinx)"
        have = {"text": text is not None, "audio": audio is not None}
        tasks = list(req.tasks) if req.tasks else list(TASKS)

        def run(task: str) -> dict:
            missing = [k for k in TASK_INPUTS[task] if not have[k]]
            if missing:
                reason = f"needs {' and '.join(TASK_INPUTS[task])}; no {' or '.join(missing)} given"
                if "text" in missing and asr_note:
                    reason += f" ({asr_note})"
                return {"status": "skipped", "reason": reason}
            try:
                preds = self.client.predict(task, text=text,
                                            audio=audio.wav_bytes if audio else None,
                                            top_k=req.top_k)
            except ModelNotFoundError as e:
                return {"status": "unavailable", "reason": str(e)}
            except ServerUnavailableError:
                raise
            except ServingError as e:
                return {"status": "error", "reason": str(e)}
            return {"status": "ok", "predictions": [
                {"emotion": p.emotion, "probability": round(p.probability, 6),
                 "emoji": emoji_for(p.emotion)} for p in preds]}

        try:
            if len(tasks) == 1:
                outcomes = [run(tasks[0])]
            else:
                outcomes = list(self._pool.map(run, tasks))
        except ServerUnavailableError as e:
            raise ApiError(503, "backend_unavailable", str(e)) from None
        results = {t: {"title": TASK_TITLES[t], **o} for t, o in zip(tasks, outcomes, strict=True)}
        return {
            "results": results,
            "input": {
                "text": text,
                "text_source": text_source,
                "audio": None if audio is None else {
                    "duration_s": round(audio.duration_s, 3),
                    "source_sample_rate": audio.source_sample_rate,
                    "source_channels": audio.source_channels,
                    "source_format": audio.source_format,
                },
            },
            "backend": self.client.description,
            "elapsed_ms": round((time.perf_counter() - start) * 1000, 2),
        }

    def health(self) -> tuple[int, dict]:
        models = {}
        for task in TASKS:
            try:
                models[task] = {"status": "available", "version": self.client.model_version(task)}
            except ServerUnavailableError as e:
                models[task] = {"status": "backend_unavailable", "reason": str(e)}
            except ServingError as e:
                models[task] = {"status": "unavailable", "reason": str(e)}
        up = sum(m["status"] == "available" for m in models.values())
        status = "ok" if up == len(TASKS) else "degraded" if up else "unavailable"
        return (200 if up else 503), {
            "status": status, "backend": self.client.description, "models": models,
            "asr": {"available": asr.available(), "engine": asr.ENGINE},
            "limits": asdict(self.limits),
        }
