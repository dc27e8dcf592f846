"""TF Serving warm-up records, written next to an exported SavedModel.

TF Serving loads a model lazily: the first request through a signature builds kernels and
allocates memory, which takes seconds and lands on a real user. If a SavedModel has
`assets.extra/tf_serving_warmup_requests` (a TFRecord file of `PredictionLog` protos), the
server replays those requests *before* marking the version AVAILABLE, so the first real
request is as fast as the rest. See TF Serving's "SavedModel Warmup" guide.

The records call `predict_raw`, the signature clients use, with batch sizes 1 and N (batching
may pad requests to several sizes). The Trainer calls it right after export; it lives in the
core, not in serving, because the Trainer may not import the serving layer:

    from components.core.warmup import write_warmup_requests
    write_warmup_requests(serving_model_dir, "mer", text_samples=texts[:8],
                          audio_samples=wavs[:8])

Samples default to a few generic sentences and a 1 s tone, so the call needs no data.
"""

from __future__ import annotations

import itertools
import os
from typing import Optional, Sequence

from components.core.signatures import RAW_SIGNATURE
from components.core.tasks import TASK_INPUTS

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving reads at most this many warm-up records
DEFAULT_TEXTS = ("I can't believe this happened.", "Okay.", "That is wonderful news!")


def warmup_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, WARMUP_DIR, WARMUP_FILE)


def write_warmup_requests(
    saved_model_dir: str,
    task: str,
    text_samples: Optional[Sequence[str]] = None,
    audio_samples: Optional[Sequence[bytes]] = None,
    *,
    model_name: Optional[str] = None,
    single_requests: int = 8,
) -> str:
    """Write warm-up `PredictRequest`s for `task`'s `predict_raw` signature; returns the path.

    Args:
      saved_model_dir: the exported SavedModel (the directory holding saved_model.pb).
      task: "ter", "ser" or "mer": decides which inputs the requests carry.
      text_samples: transcripts (ter, mer); default: a few generic sentences.
      audio_samples: 16 kHz mono PCM_16 WAV file bytes (ser, mer); default: a 1 s tone.
      model_name: `model_spec.name` in the records (default: the task); TF Serving does not
        route warm-up records by name, but its logs show it.
      single_requests: how many batch-size-1 requests to write (plus one with all samples).

    Rows for `mer` pair texts and audios, cycling the shorter list.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    if task not in TASK_INPUTS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASK_INPUTS)}")
    if not tf.io.gfile.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        raise FileNotFoundError(f"{saved_model_dir} is not a SavedModel (no saved_model.pb); "
                                f"call write_warmup_requests after exporting the model")
    samples = {
        "text": [t.encode("utf-8") if isinstance(t, str) else bytes(t)
                 for t in (text_samples or DEFAULT_TEXTS)],
        "audio": [bytes(a) for a in (audio_samples or [_default_audio()])],
    }
    names = TASK_INPUTS[task]
    n = max(len(samples[k]) for k in names)
    rows = {k: list(itertools.islice(itertools.cycle(samples[k]), n)) for k in names}

    def request(indices: Sequence[int]) -> prediction_log_pb2.PredictionLog:
        req = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name or task, signature_name=RAW_SIGNATURE))
        for k in names:
            values = [rows[k][i] for i in indices]
            req.inputs[k].CopyFrom(tf.make_tensor_proto(values, dtype=tf.string,
                                                        shape=[len(values)]))
        return prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=req))

    logs = [request([i]) for i in range(min(n, single_requests))]
    if n > 1:
        logs.append(request(list(range(n))))
    logs = logs[:MAX_RECORDS]
    path = warmup_path(saved_model_dir)
    tf.io.gfile.makedirs(os.path.dirname(path))  # a gs:// model dir on Kubeflow
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(saved_model_dir: str) -> list:
    """The `PredictRequest`s in a SavedModel's warm-up file (for checks and replays)."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    out = []
    for record in tf.data.TFRecordDataset(warmup_path(saved_model_dir)).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record)
        out.append(log.predict_log.request)
    return out


def _default_audio() -> bytes:
    from components.core.wav import tone_wav

    return tone_wav(seconds=1.0)
