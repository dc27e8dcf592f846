"""What `POST /api/predict` does, independent of HTTP: check, convert, predict, explain.

Kept apart from the web framework so the rules (limits, which task runs on what, how errors
read, what a client may see) are one readable unit, and tests and the benchmark can call them
without a socket. Replies name models by task and version and backends by kind; paths, URLs
and stack traces go to the server's log only (logger `mer.serve`).
"""

from __future__ import annotations

import binascii
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

from components.core.contract import TRUNCATED_AUDIO
from components.core.signal import NO_SIGNAL
from components.core.tasks import TASK_INPUTS, TASKS
from serving import asr
from serving.app.schemas import (
    AsrInfo,
    AudioInfo,
    Emotion,
    Health,
    InputEcho,
    Limits,
    LimitsInfo,
    ModelStatus,
    PredictResponse,
    TaskResult,
)
from serving.audio import (
    AudioError,
    AudioTooLongError,
    ConvertedAudio,
    TruncatedAudioError,
    to_wav16k,
)
from serving.client import EmotionClient
from serving.errors import (
    InvalidInputError,
    ModelNotFoundError,
    NoSignalError,
    ServerUnavailableError,
    ServingError,
    scrub,
)

log = logging.getLogger("mer.serve")

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

#: Called after each task's model call: (task, outcome status, seconds). The metrics use it.
TaskObserver = Callable[[str, str, float], None]


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


def parse_tasks(value: str | list[str] | None) -> Optional[list[str]]:
    """"ter,mer" or ["ter", "mer"] or "all" -> task list (None: choose from the inputs)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    tasks = [t.strip().lower() for t in items if t.strip()]
    if tasks == ["all"] or not tasks:
        return None
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ApiError(400, "invalid_tasks",
                       f"unknown task(s) {unknown}; choose from {', '.join(TASKS)} or 'all'")
    return list(dict.fromkeys(tasks))


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def decode_b64_audio(value: Optional[str]) -> Optional[bytes]:
    """Strict base64 (standard alphabet, padded) -> bytes.

    Checked with `bytes.translate` (C speed) instead of `b64decode(validate=True)`, whose regex
    over a 100 KB clip cost more than the rest of the body's handling in profiles.
    """
    if not value:
        return None
    try:
        encoded = value.encode("ascii")
    except UnicodeEncodeError:
        encoded = b"!"
    body = encoded.rstrip(b"=")
    if (len(encoded) % 4 or len(encoded) - len(body) > 2
            or body.translate(None, _B64_ALPHABET)):
        raise ApiError(400, "invalid_audio", "audio_b64 is not valid base64 (standard "
                                             "alphabet, padded, no line breaks)")
    try:
        return binascii.a2b_base64(encoded)
    except binascii.Error:
        raise ApiError(400, "invalid_audio", "audio_b64 is not valid base64") from None


class PredictService:
    """Runs TER, SER and MER for one request through an `EmotionClient`."""

    def __init__(self, client: EmotionClient, limits: Limits = Limits(), max_workers: int = 16,
                 observe: Optional[TaskObserver] = None):
        self.client = client
        self.limits = limits
        self.observe = observe
        self.backend_kind = client.backend.kind or type(client.backend).__name__
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="predict")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.client.close()

    # ---------------------------------------------------------------- validation

    def _check_text(self, text: Optional[str]) -> Optional[str]:
        if text is None:
            return None
        text = text.strip()
        if len(text) > self.limits.max_text_chars:
            raise ApiError(422, "text_too_long",
                           f"text has {len(text)} characters; the limit is "
                           f"{self.limits.max_text_chars}")
        return text or None

    def _check_audio(self, audio: Optional[bytes],
                     content_type: Optional[str]) -> Optional[ConvertedAudio]:
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
        except TruncatedAudioError as e:  # the code ingestion quarantines it under
            raise ApiError(400, TRUNCATED_AUDIO, str(e)) from None
        except AudioError as e:
            raise ApiError(400, "invalid_audio", str(e)) from None

    # ---------------------------------------------------------------- prediction

    def _run_task(self, task: str, have: dict[str, bool], text: Optional[str],
                  audio: Optional[ConvertedAudio], top_k: int,
                  asr_note: Optional[str]) -> TaskResult:
        title = TASK_TITLES[task]
        missing = [k for k in TASK_INPUTS[task] if not have[k]]
        if missing:
            reason = f"needs {' and '.join(TASK_INPUTS[task])}; no {' or '.join(missing)} given"
            if "text" in missing and asr_note:
                reason += f" ({asr_note})"
            return TaskResult(title=title, status="skipped", reason=reason)
        start = time.perf_counter()
        status, preds, reason = "ok", None, None
        try:
            preds = self.client.predict(task, text=text,
                                        audio=audio.wav_bytes if audio else None, top_k=top_k)
        except ServerUnavailableError:
            status = "backend_unavailable"
            raise
        except ModelNotFoundError as e:
            log.warning("task %s unavailable: %s", task, e)
            status, reason = "unavailable", e.public_message(f"no {task!r} model is served")
        except NoSignalError as e:  # no model was asked: the reply says why, no emotion
            status, reason = NO_SIGNAL, e.public_message("the input carries no signal")
        except InvalidInputError as e:
            status = "invalid_input"
            raise ApiError(400, "invalid_input", e.public_message(
                f"the {task!r} model refused the input")) from None
        except ServingError as e:
            log.warning("task %s failed: %s", task, e)
            status, reason = "error", e.public_message(f"the {task!r} model failed")
        finally:
            if self.observe is not None:
                self.observe(task, status, time.perf_counter() - start)
        if preds is None:
            return TaskResult(title=title, status=status, reason=reason)
        return TaskResult(title=title, status="ok", predictions=[
            Emotion(emotion=p.emotion, probability=round(p.probability, 6),
                    emoji=emoji_for(p.emotion)) for p in preds])

    def predict(self, req: PredictInput) -> PredictResponse:
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

        def run(task: str) -> TaskResult:
            return self._run_task(task, have, text, audio, req.top_k, asr_note)

        # Only tasks whose inputs are all present call a model; the others are skipped here,
        # so a WAV-only (or text-only) request runs its one model on this thread, no pool.
        runnable = [t for t in tasks if all(have[k] for k in TASK_INPUTS[t])]
        try:
            if len(runnable) > 1:
                done = dict(zip(runnable, self._pool.map(run, runnable), strict=True))
            else:
                done = {t: run(t) for t in runnable}
            outcomes = [done[t] if t in done else run(t) for t in tasks]
        except ServerUnavailableError as e:
            log.error("backend unavailable: %s", e)
            raise ApiError(503, "backend_unavailable", e.public_message(
                "the model server is unavailable") + "; retry later") from None
        audio_info = None if audio is None else AudioInfo(
            duration_s=round(audio.duration_s, 3), source_sample_rate=audio.source_sample_rate,
            source_channels=audio.source_channels, source_format=audio.source_format)
        return PredictResponse(
            results=dict(zip(tasks, outcomes, strict=True)),
            input=InputEcho(text=text, text_source=text_source, audio=audio_info),
            backend=self.backend_kind,
            elapsed_ms=round((time.perf_counter() - start) * 1000, 2))

    def health(self) -> tuple[int, Health]:
        models = {}
        for task in TASKS:
            try:
                version = self.client.model_version(task)
                failed = {v: scrub(r) for v, r in self.client.model_failures(task).items()}
                models[task] = ModelStatus(status="available", version=version,
                                           failed=failed or None)
            except ServerUnavailableError as e:
                log.warning("health: backend unavailable for %s: %s", task, e)
                models[task] = ModelStatus(status="backend_unavailable", reason=e.public_message(
                    "the model server is unavailable"))
            except ServingError as e:
                log.warning("health: %s unavailable: %s", task, e)
                failed = {v: scrub(r) for v, r in self.client.model_failures(task).items()}
                models[task] = ModelStatus(status="unavailable", reason=e.public_message(
                    f"no {task!r} model is served"), failed=failed or None)
        up = sum(m.status == "available" for m in models.values())
        status = "ok" if up == len(TASKS) else "degraded" if up else "unavailable"
        return (200 if up else 503), Health(
            status=status, backend=self.backend_kind, models=models,
            asr=AsrInfo(available=asr.available(), engine=asr.ENGINE),
            limits=LimitsInfo(**asdict(self.limits)))
