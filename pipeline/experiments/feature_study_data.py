"""Clips of a dataset as contract WAV bytes, and their 180 in-graph utterance features.

Why this exists: the feature study, the model study and the benchmarks must see the records
ingestion writes (the preset's reader, 16 kHz mono PCM_16 WAV) and the features the Transform
computes (the same in-graph code), not a re-implementation; listing, decoding and featurising
clips, and knowing which columns of the 180 values are which kind, is that one shared job.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from components.core.contract import SAMPLE_RATE

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

#: The three utterance feature kinds, in the order ``utterance_features`` concatenates them.
KINDS: tuple[str, ...] = ("mfcc", "mel", "chroma")

#: All 7 non-empty combinations, named as in the reference's table ("mfcc+mel+chroma", ...).
COMBINATIONS: tuple[tuple[str, ...], ...] = (
    ("mfcc",), ("mel",), ("chroma",),
    ("mfcc", "mel"), ("mfcc", "chroma"), ("mel", "chroma"),
    ("mfcc", "mel", "chroma"),
)

# RAVDESS file names: modality-vocal_channel-emotion-intensity-statement-repetition-actor.ext
_RAVDESS_NAME = re.compile(r"^\d\d-\d\d-(\d\d)-\d\d-\d\d-\d\d-(\d\d)\.(wav|flac)$", re.I)
_RAVDESS_EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful",
                     7: "disgust", 8: "surprised"}

Progress = Callable[[str], None]


def combination_name(kinds: Sequence[str]) -> str:
    """``("mfcc", "chroma") -> "mfcc+chroma"``: the reference's naming, used as table keys."""
    return "+".join(k for k in KINDS if k in kinds)


def feature_columns(kinds: Sequence[str], params=None) -> np.ndarray:
    """Column indices of ``kinds`` inside the full mfcc+mel+chroma vector.

    Slicing one 180-vector instead of recomputing per combination is exact because
    ``utterance_features`` computes each kind independently and concatenates in fixed order.
    """
    from components.transform.audio_features import AudioFeatureParams

    params = params or AudioFeatureParams()
    sizes = {"mfcc": params.n_mfcc, "mel": params.n_mels, "chroma": params.n_chroma}
    cols, start = [], 0
    for kind in KINDS:
        if kind in kinds:
            cols.extend(range(start, start + sizes[kind]))
        start += sizes[kind]
    return np.asarray(cols, dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class Clip:
    """One utterance as the study needs it: where it is, its label and its speaker."""

    path: Path
    emotion: str
    speaker: str


def list_clips(data_root: str | os.PathLike, preset: Optional[str] = None,
               say: Optional[Progress] = None) -> list[Clip]:
    """Clips of a dataset folder with audio: via the preset's ingest reader when there is one.

    Going through ``components.example_gen.readers`` means the study sees exactly the records
    (labels mapped to the preset's names, speakers) that ingestion writes. Without a preset, or
    if the readers cannot be imported, a ``manifest.csv`` (columns ``path`` or ``audio_path``,
    ``emotion``, ``actor`` or ``speaker``) or RAVDESS file names
    (``Actor_XX/03-01-EE-II-SS-RR-AA.wav``) are read directly, so the study stays usable on
    its own. Rows the reader rejects are counted and reported through ``say``.
    """
    root = Path(data_root)
    if not root.exists():
        raise FileNotFoundError(f"data root {root} does not exist")
    clips = _list_with_reader(root, preset, say) if preset else None
    if clips is None:
        clips = _list_without_reader(root)
    if not clips:
        raise FileNotFoundError(
            f"no clips with audio under {root}: expected what the {preset or 'ravdess'} reader "
            f"lists, a manifest.csv (path, emotion, actor) or RAVDESS file names such as "
            f"Actor_01/03-01-05-01-02-01-01.wav")
    return clips


def _list_with_reader(root: Path, preset: str, say: Optional[Progress]) -> Optional[list[Clip]]:
    """Clips from the preset's ingest reader, or None when there is no usable reader."""
    cfg = resolve_preset(preset)
    try:
        from components.core.contract import Rejected
        from components.example_gen.readers import get_reader

        reader = get_reader(cfg.reader) if cfg is not None else None
    except (ImportError, ValueError):
        reader = None
    if reader is None:
        return None
    clips, rejected = [], []
    for row in reader(root, **cfg.reader_options):
        if isinstance(row, Rejected):
            rejected.append(row)
        elif row.audio_path:
            path = Path(row.audio_path)
            clips.append(Clip(path if path.is_absolute() else root / path, row.emotion,
                              row.speaker or row.id))
    if rejected and say is not None:
        say(f"{cfg.reader} reader rejected {len(rejected)} record(s), e.g. "
            f"{rejected[0].origin}: {rejected[0].detail}")
    return clips


def _list_without_reader(root: Path) -> list[Clip]:
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} is not a folder")
    manifest = root / "manifest.csv"
    clips: list[Clip] = []
    if manifest.exists():
        with open(manifest, newline="") as f:
            for row in csv.DictReader(f):
                rel = row.get("path") or row.get("audio_path")
                if not rel or not row.get("emotion"):
                    continue
                speaker = row.get("actor") or row.get("speaker") or rel
                clips.append(Clip(root / rel, row["emotion"], str(speaker)))
    else:
        for path in sorted(root.rglob("*")):
            match = _RAVDESS_NAME.match(path.name)
            if match and int(match.group(1)) in _RAVDESS_EMOTIONS:
                clips.append(Clip(path, _RAVDESS_EMOTIONS[int(match.group(1))],
                                  str(int(match.group(2)))))
    return clips


def stratified_subset(labels: Sequence[str], n: Optional[int], seed: int = 0) -> np.ndarray:
    """Indices of a fixed, seeded, label-stratified choice of ``n`` items (all when ``n`` is None).

    Stratified so that a small subset (benchmarks, quick tests) still covers every class in
    the dataset's proportions; seeded so two runs (or two machines) measure the same clips.
    """
    labels = np.asarray(labels)
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    n_classes = len(set(labels.tolist()))
    if n < n_classes:
        return np.sort(np.random.default_rng(seed).choice(idx, n, replace=False))
    chosen, _ = train_test_split(idx, train_size=n, stratify=labels, random_state=seed)
    return np.sort(chosen)


def file_to_wav_bytes(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Any soundfile-readable file -> contract bytes (16 kHz mono 16-bit PCM WAV).

    Uses the ingest's converter when it is available, so the study sees exactly what the
    TFRecords hold; otherwise does the same thing here (channel average, librosa resampling
    only when the rate differs; a 16-bit 16 kHz source round-trips losslessly).
    """
    try:
        from components.example_gen.audio_io import file_to_wav_bytes as ingest_converter
    except ImportError:
        ingest_converter = None
    if ingest_converter is not None:
        return ingest_converter(str(path))
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = data.mean(axis=1)
    if sr != sample_rate:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate)
    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def load_wavs(clips: list[Clip], say: Progress) -> tuple[list[Clip], list[bytes]]:
    """Contract WAV bytes of each clip; unreadable files are skipped and reported, not fatal.

    One corrupt file in a 1,440-clip study should cost one clip, as it does in ingestion
    (which quarantines it), not the whole run.
    """
    errors: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError)
    try:
        from components.core.contract import InvalidInput

        errors += (InvalidInput,)
    except ImportError:
        pass
    kept, wavs, skipped = [], [], []
    for clip in clips:
        try:
            wavs.append(file_to_wav_bytes(clip.path))
            kept.append(clip)
        except errors as err:
            skipped.append(f"{clip.path}: {err}")
    if skipped:
        say(f"skipped {len(skipped)} unreadable clip(s), e.g. {skipped[0]}")
    if not kept:
        raise ValueError("no readable audio among the listed clips")
    return kept, wavs


def make_feature_fn(duration_s: float, sample_rate: int = SAMPLE_RATE):
    """A traced-once ``tf.function``: WAV bytes ``[batch]`` -> float32 features ``[batch, 180]``.

    One input signature with a dynamic batch keeps it to a single trace for any batch size
    (the last, partial batch included), which matters for the benchmark's timings.
    """
    import tensorflow as tf

    from components.transform import audio_features as af
    from components.transform.wav_decode import decode_wav

    num_samples = int(round(duration_s * sample_rate))
    params = af.AudioFeatureParams(sample_rate=sample_rate)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def features(wav_bytes: tf.Tensor) -> tf.Tensor:
        waveforms, _ = decode_wav(wav_bytes, num_samples)
        return af.utterance_features(waveforms, params, af.FEATURE_KINDS)

    return features


def compute_features(wav_bytes: Sequence[bytes], duration_s: float, batch_size: int = 64,
                     sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The 180 in-graph utterance features of each clip, ``[n_clips, 180]`` float32."""
    fn = make_feature_fn(duration_s, sample_rate)
    out = [fn(np.asarray(wav_bytes[i:i + batch_size], dtype=object)).numpy()
           for i in range(0, len(wav_bytes), batch_size)]
    return np.concatenate(out, axis=0).astype(np.float32)


def resolve_preset(preset: str):
    """The pipeline preset of that name, or None when there is none (built-in defaults then)."""
    from pipeline.configs import get_preset

    try:
        return get_preset(preset)
    except (KeyError, ValueError):
        return None
