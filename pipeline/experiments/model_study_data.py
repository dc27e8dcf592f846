"""The examples of a model study and their per-clip audio arrays, cached on disk.

Why this exists: listing, checking and decoding a dataset and computing its in-graph audio
features is the slow, model-independent part of a study; it is shared by the study and the
fusion benchmark, and its cache (keyed by the feature parameters and each file's path, size and
mtime) lets a second invocation, another split or another model list skip decoding.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from components.core.features import AUDIO_FEATURES, LOG_MEL, WAVEFORM  # noqa: E402

Progress = Callable[[str], None]

AUDIO_ARRAYS = (AUDIO_FEATURES, LOG_MEL, WAVEFORM)
#: Bump when what is cached for a clip changes for unchanged parameters.
CACHE_VERSION = 1


@dataclasses.dataclass
class StudyData:
    """The examples of one study, in id order: labels, speakers, texts and raw audio arrays.

    ``arrays`` holds unscaled per-clip audio arrays (``audio_features`` [n, d],
    ``log_mel`` [n, frames, 64], ``waveform`` [n, samples]); scaling happens per run with that
    run's train statistics.
    """

    dataset: str
    labels: list[str]
    ids: np.ndarray
    y: np.ndarray
    speakers: np.ndarray
    texts: np.ndarray
    arrays: dict[str, np.ndarray]
    feature_seconds: float = 0.0
    cache_hit: bool = False
    rejected: dict[str, int] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: np.ndarray) -> StudyData:
        """The examples at ``idx`` (e.g. the fusion benchmark's five shared classes)."""
        return dataclasses.replace(
            self, ids=self.ids[idx], y=self.y[idx], speakers=self.speakers[idx],
            texts=self.texts[idx], arrays={k: v[idx] for k, v in self.arrays.items()})


class FeatureCache:
    """Per-clip arrays of one kind on disk, valid while the clip's file and the parameters are.

    One ``.npz`` per (kind, parameters, data root) holding ids, fingerprints (path, size,
    mtime) and the rows. A changed file gets a new fingerprint and is recomputed; new clips are
    appended. Written atomically (temp file + rename) so an interrupted run leaves the previous
    cache intact.
    """

    def __init__(self, directory: str | os.PathLike, kind: str, key: dict):
        digest = hashlib.sha1(json.dumps({"kind": kind, "version": CACHE_VERSION, **key},
                                         sort_keys=True, default=str).encode()).hexdigest()[:16]
        self.path = Path(directory) / f"{kind}-{digest}.npz"
        self.rows: dict[str, tuple[str, np.ndarray]] = {}
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    for i, fp, row in zip(z["ids"], z["fingerprints"], z["values"], strict=True):
                        self.rows[str(i)] = (str(fp), row)
            except (OSError, ValueError, KeyError):  # damaged: recompute, then overwrite
                self.rows = {}

    def get(self, clip_id: str, fingerprint: str) -> Optional[np.ndarray]:
        hit = self.rows.get(clip_id)
        return hit[1] if hit is not None and hit[0] == fingerprint else None

    def put(self, clip_id: str, fingerprint: str, row: np.ndarray) -> None:
        self.rows[clip_id] = (fingerprint, row)

    def save(self) -> None:
        if not self.rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ids = sorted(self.rows)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.savez(f, ids=np.asarray(ids),
                     fingerprints=np.asarray([self.rows[i][0] for i in ids]),
                     values=np.stack([self.rows[i][1] for i in ids]))
        os.replace(tmp, self.path)


def _fingerprint(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"


def _audio_fn(duration_s: float, kinds: Sequence[str]):
    """WAV bytes [batch] -> dict of the requested per-clip arrays, traced once.

    The 180 utterance values come from ``feature_study.make_feature_fn`` (the same in-graph
    code the Transform runs; one implementation for both studies); log-mel frames and the
    padded waveform from ``audio_features`` directly.
    """
    import tensorflow as tf

    from components.transform import audio_features as af
    from components.transform.wav_decode import decode_wav
    from pipeline.experiments.feature_study_data import make_feature_fn

    params = af.AudioFeatureParams()
    num_samples = int(round(duration_s * params.sample_rate))
    utterance = make_feature_fn(duration_s, params.sample_rate) if AUDIO_FEATURES in kinds \
        else None
    frames = [k for k in kinds if k in (LOG_MEL, WAVEFORM)]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def frame_fn(wav: tf.Tensor) -> dict:
        waveforms, _ = decode_wav(wav, num_samples)
        out = {}
        if LOG_MEL in frames:
            out[LOG_MEL] = af.log_mel_frames(waveforms, params)
        if WAVEFORM in frames:
            out[WAVEFORM] = waveforms
        return out

    def compute(wavs: list[bytes]) -> dict[str, np.ndarray]:
        batch = np.asarray(wavs, dtype=object)
        out = {}
        if utterance is not None:
            out[AUDIO_FEATURES] = utterance(batch).numpy().astype(np.float32)
        if frames:
            out.update({k: v.numpy().astype(np.float32) for k, v in frame_fn(batch).items()})
        return out

    return compute


def load_study_data(preset, data_root: str | os.PathLike, task: str, features: Iterable[str],
                    cache_dir: Optional[str | os.PathLike], say: Progress = print,
                    batch_size: int = 64) -> StudyData:
    """Lists the dataset with the preset's reader and computes (or loads) the per-clip arrays.

    Records are checked as ingestion checks them (``load_or_reject``: label in the preset's
    label set, text present for text tasks, audio readable for audio tasks); rejected records
    are counted by reason, reported through ``say`` and left out, as ingestion quarantines them.
    """
    from components.core import contract
    from components.example_gen.loading import load_or_reject
    from components.example_gen.readers import get_reader
    from components.transform.audio_features import AudioFeatureParams

    root = Path(data_root)
    if not root.exists():
        raise FileNotFoundError(f"data root {root} does not exist; pass --data-root")
    need_text = task in ("ter", "mer")
    need_audio = task in ("ser", "mer")
    listed = list(get_reader(preset.reader)(root, **preset.reader_options))
    rejected: dict[str, int] = {}
    examples: list[dict] = []
    sources = [s for s in listed if isinstance(s, contract.Source)]
    for r in listed:
        if isinstance(r, contract.Rejected):
            rejected[r.reason] = rejected.get(r.reason, 0) + 1
    labels = list(preset.labels) or sorted({s.emotion for s in sources})
    for src in sources:
        # Label and text checks without decoding (the audio is decoded once, below, and only
        # when its features are not cached).
        probe = dataclasses.replace(src, audio_path=None)
        res = load_or_reject(probe, labels, need_text, need_audio and src.audio_path is None)
        if isinstance(res, contract.Rejected):
            rejected[res.reason] = rejected.get(res.reason, 0) + 1
            continue
        examples.append({"id": src.id, "emotion": src.emotion, "speaker": src.speaker,
                         "text": res.text, "source": src})
    examples.sort(key=lambda e: e["id"])

    audio_kinds = sorted(set(features) & set(AUDIO_ARRAYS)) if need_audio else []
    arrays: dict[str, np.ndarray] = {}
    t0 = time.time()
    cache_hit = True
    if audio_kinds:
        duration_s = preset.features.fixed_duration_s("the model study")
        key = {"data_root": str(root.resolve()), "duration_s": duration_s,
               "params": dataclasses.asdict(AudioFeatureParams())}
        caches = {k: FeatureCache(cache_dir, k, key) for k in audio_kinds} if cache_dir else {}
        rows: dict[str, dict[str, np.ndarray]] = {k: {} for k in audio_kinds}
        missing = []
        for e in examples:
            fp = _fingerprint(e["source"].audio_path)
            e["fingerprint"] = fp
            hits = {k: caches[k].get(e["id"], fp) for k in caches}
            if caches and all(v is not None for v in hits.values()):
                for k, v in hits.items():
                    rows[k][e["id"]] = v
            else:
                missing.append(e)
        cache_hit = not missing
        if missing:
            say(f"decoding {len(missing)} clip(s) and computing {', '.join(audio_kinds)} "
                f"in-graph ({len(examples) - len(missing)} cached) ...")
            compute = _audio_fn(duration_s, audio_kinds)
            for start in range(0, len(missing), batch_size):
                chunk, wavs = [], []
                for e in missing[start:start + batch_size]:
                    utt = load_or_reject(e["source"], labels, need_text, True)
                    if isinstance(utt, contract.Rejected):
                        rejected[utt.reason] = rejected.get(utt.reason, 0) + 1
                        e["rejected"] = True
                        continue
                    chunk.append(e)
                    wavs.append(utt.audio)
                if wavs:
                    out = compute(wavs)
                    for k in audio_kinds:
                        for j, e in enumerate(chunk):
                            rows[k][e["id"]] = out[k][j]
                            if caches:
                                caches[k].put(e["id"], e["fingerprint"], out[k][j])
                end = min(start + batch_size, len(missing))
                if len(missing) > 4 * batch_size and (end // batch_size) % 5 == 0 \
                        or end == len(missing):
                    say(f"  features: {end}/{len(missing)} clips, {time.time() - t0:.0f} s")
            for c in caches.values():
                c.save()
        examples = [e for e in examples if not e.get("rejected")]
        for k in audio_kinds:
            arrays[k] = np.stack([rows[k][e["id"]] for e in examples]).astype(np.float32)
            if not np.all(np.isfinite(arrays[k])):
                raise ValueError(f"non-finite {k} values; check the input audio")
        if AUDIO_FEATURES in arrays:
            from pipeline.experiments.feature_study_data import feature_columns

            # The cache holds all 180 values; the preset may use a subset of the kinds.
            arrays[AUDIO_FEATURES] = arrays[AUDIO_FEATURES][
                :, feature_columns(preset.features.audio_kinds)]
    if rejected:
        say("left out (as ingestion would quarantine them): "
            + ", ".join(f"{n} {reason}" for reason, n in sorted(rejected.items())))
    if not examples:
        raise ValueError(f"no usable records under {root} for preset {preset.name!r}")
    present = {e["emotion"] for e in examples}
    labels = [name for name in labels if name in present]
    if len(labels) < 2:
        raise ValueError(f"need at least 2 classes, found {labels} under {root}")
    return StudyData(
        dataset=preset.name, labels=labels,
        ids=np.asarray([e["id"] for e in examples]),
        y=np.asarray([labels.index(e["emotion"]) for e in examples], dtype=np.int64),
        speakers=np.asarray([e["speaker"] or "" for e in examples]),
        texts=np.asarray([e["text"] for e in examples], dtype=object),
        arrays=arrays, feature_seconds=time.time() - t0, cache_hit=bool(audio_kinds) and cache_hit,
        rejected=rejected)
