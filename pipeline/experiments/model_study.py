"""Model study: N seeded runs per model, reported the way the reference reported its tables.

Why this exists: the project's claims rest on numbers measured the way the reference measured
them (train and test accuracy, mean ± std over repeated seeded 80/20 runs, confusion matrices),
plus the speaker-independent numbers the reference said matter but mostly skipped (its Table
4.6: TRILL 67.13% speaker-dependent -> 50.89% on new speakers). A single pipeline run gives one
number on one split; this study gives the distribution, per protocol, next to the reference's.

What it reuses, so its answers apply to what the pipeline ships:

* listing and decoding: the preset's ingest reader (``components.example_gen.readers``) and
  ``load_or_reject`` (labels mapped and checked, audio decoded to the 16 kHz WAV contract), so
  the study sees exactly the records ingestion writes, and skips the ones it would quarantine;
* splits: ``components.example_gen.splits.assign_splits`` (random | speaker | kfold | loso),
  seed ``seed + i`` for run i (0-based), so run i is the split a pipeline run with that seed gets;
* audio features: the in-graph code of the Transform (via ``feature_study.make_feature_fn`` for
  the 180 utterance values; ``log_mel_frames`` for 2D CNNs), computed once per clip and cached on
  disk (``<output_dir>/cache`` by default) keyed by the feature parameters and each file's path,
  size and mtime, so a second invocation, another split or another model list skips decoding;
* scaling as the Transform does it, with train-split statistics only: min-max for the 180 values
  (``tft.scale_to_0_1``), one global z-score for log-mel (``tft.scale_to_z_score``);
* text: TF-IDF as the reference did it, scikit-learn's ``TfidfVectorizer`` (word 1-2 grams,
  ``sublinear_tf``, the preset's vocabulary size, min count and stop words, ``max_df=0.95`` as in
  the reference app), fitted on each run's train split. Not the pipeline's in-graph tf.Transform
  TF-IDF: that needs a Beam pass per split, which costs more than the models here;
* models: ``components.baselines`` (reference hyperparameters) and
  ``components.trainer.models.build.build_model`` by name, trained as the pipeline's Trainer
  trains them: the preset's epochs, batch size and hyperparameters, a stratified validation
  slice of the *train* split (``validation_fraction``) with early stopping on it (best weights
  restored), never anything chosen on the test split. The test split is also evaluated after
  each epoch, for the curves only.

Outputs (``output_dir``): ``runs.csv`` (one row per split, model, run), ``summary.csv`` and
``results.md`` (mean ± std in the reference's format, beside the reference's row when dataset,
task, model and protocol match, see :mod:`pipeline.experiments.report`), ``report.html`` (self-
contained, images referenced relatively), ``confusion/`` (raw and row-normalised PNG + CSV, summed
over runs), ``curves/`` (Keras training/validation/test curves, PNG + CSV), ``splits.csv`` (which
example was in which split in every run) and ``config.json``.

Entry points: :func:`run_model_study`; :func:`add_arguments` / :func:`main` for
``mer experiment models``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from components.core.config import SPLIT_METHODS  # noqa: E402
from components.core.features import (  # noqa: E402
    AUDIO_FEATURES,
    LOG_MEL,
    TEXT_RAW,
    TEXT_TFIDF,
    WAVEFORM,
)
from components.core.model_names import BASELINES  # noqa: E402
from components.core.tasks import TASKS  # noqa: E402
from pipeline.configs import DEFAULT_OUTPUT_DIR  # noqa: E402
from pipeline.experiments import report as rep  # noqa: E402

Progress = Callable[[str], None]

SPLITS = SPLIT_METHODS
DEFAULT_OUTPUT_ROOT = DEFAULT_OUTPUT_DIR / "experiments" / "model_study"

AUDIO_ARRAYS = (AUDIO_FEATURES, LOG_MEL, WAVEFORM)
#: Bump when what is cached for a clip changes for unchanged parameters.
CACHE_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Models and tasks
# ---------------------------------------------------------------------------------------------


def is_baseline(model: str) -> bool:
    """Baselines are the four scikit-learn models; everything else is a Keras model by name."""
    return model in BASELINES


def check_models(task: str, models: Sequence[str]) -> None:
    """Fails early, naming the known models, before any data is decoded."""
    from components.core.model_names import MODEL_NAMES
    from components.trainer.models.build import parse_model_name

    if not models:
        raise ValueError("no models given; e.g. --models linsvm,rf,cnn1d")
    for m in models:
        if is_baseline(m):
            continue
        try:
            parse_model_name(task, m)
        except ValueError as err:
            raise ValueError(f"{err} Baselines: {', '.join(BASELINES)}; {task.upper()} Keras "
                             f"models: {', '.join(MODEL_NAMES[task])}.") from None


def resolve_task(preset, models: Sequence[str], task: Optional[str] = None) -> str:
    """The task to study: given, the preset's only task, or the one the Keras models imply.

    A preset such as ``demo`` supports all three tasks; ``cnn1d`` then means SER and
    ``tfidf+cnn1d`` MER, while baselines alone are ambiguous and need ``task``.
    """
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
        return task
    if len(preset.tasks) == 1:
        return preset.tasks[0]
    from components.trainer.models.build import parse_model_name

    candidates = set(preset.tasks)
    for m in models:
        if is_baseline(m):
            continue
        fits = set()
        for t in TASKS:
            try:
                parse_model_name(t, m)
                fits.add(t)
            except ValueError:
                pass
        candidates &= fits
    if len(candidates) == 1:
        return candidates.pop()
    raise ValueError(f"preset {preset.name!r} supports tasks {', '.join(preset.tasks)} and the "
                     f"models {', '.join(models)} do not say which; pass --task")


def needed_features(task: str, models: Sequence[str]) -> set[str]:
    """Transformed features the models read (baselines: TF-IDF and/or the 180 audio values)."""
    from components.trainer.models.build import required_features

    feats: set[str] = set()
    for m in models:
        if is_baseline(m):
            if task in ("ter", "mer"):
                feats.add(TEXT_TFIDF)
            if task in ("ser", "mer"):
                feats.add(AUDIO_FEATURES)
        else:
            feats.update(required_features(task, m))
    return feats


# ---------------------------------------------------------------------------------------------
# Data and the per-clip feature cache
# ---------------------------------------------------------------------------------------------


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
    from pipeline.experiments.feature_study import make_feature_fn

    params = af.AudioFeatureParams()
    num_samples = int(round(duration_s * params.sample_rate))
    utterance = make_feature_fn(duration_s, params.sample_rate) if AUDIO_FEATURES in kinds \
        else None
    frames = [k for k in kinds if k in (LOG_MEL, WAVEFORM)]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def frame_fn(wav: tf.Tensor) -> dict:
        waveforms, _ = af.decode_wav(wav, num_samples)
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
            from pipeline.experiments.feature_study import feature_columns

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


# ---------------------------------------------------------------------------------------------
# Per-run inputs and fitting
# ---------------------------------------------------------------------------------------------


def make_tfidf(feature_config):
    """The reference's TF-IDF (word 1-2 grams, sublinear tf) with the preset's vocabulary knobs."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=tuple(feature_config.tfidf_ngrams), sublinear_tf=True,
        max_features=feature_config.tfidf_vocab_size, min_df=feature_config.tfidf_min_count,
        max_df=0.95, stop_words="english" if feature_config.stop_words else None,
        dtype=np.float32)


def prepare_inputs(data: StudyData, features: Iterable[str], train_idx: np.ndarray,
                   test_idx: np.ndarray, feature_config) -> tuple[dict, dict]:
    """Model inputs of one run, every statistic fitted on its train split only.

    Min-max for the 180 audio values and one global mean/std for log-mel, as the Transform
    does; TF-IDF vocabulary and idf from the train texts.
    """
    from pipeline.experiments.feature_study import minmax_scale

    features = set(features)
    train: dict[str, np.ndarray] = {}
    test: dict[str, np.ndarray] = {}
    if AUDIO_FEATURES in features:
        a = data.arrays[AUDIO_FEATURES]
        train[AUDIO_FEATURES], test[AUDIO_FEATURES] = minmax_scale(a[train_idx], a[test_idx])
    if LOG_MEL in features:
        m = data.arrays[LOG_MEL]
        mean, std = float(m[train_idx].mean()), float(m[train_idx].std()) or 1.0
        train[LOG_MEL] = ((m[train_idx] - mean) / std).astype(np.float32)
        test[LOG_MEL] = ((m[test_idx] - mean) / std).astype(np.float32)
    if WAVEFORM in features:
        train[WAVEFORM], test[WAVEFORM] = (data.arrays[WAVEFORM][train_idx],
                                           data.arrays[WAVEFORM][test_idx])
    if TEXT_TFIDF in features:
        vec = make_tfidf(feature_config)
        train[TEXT_TFIDF] = vec.fit_transform(data.texts[train_idx]).toarray()
        test[TEXT_TFIDF] = vec.transform(data.texts[test_idx]).toarray()
    if TEXT_RAW in features:
        train[TEXT_RAW], test[TEXT_RAW] = data.texts[train_idx], data.texts[test_idx]
    return train, test


def baseline_matrix(task: str, inputs: dict) -> np.ndarray:
    """What a baseline reads: TF-IDF (TER), the 180 audio values (SER), both concatenated (MER)."""
    if task == "ter":
        return inputs[TEXT_TFIDF]
    if task == "ser":
        return inputs[AUDIO_FEATURES]
    return np.hstack([inputs[TEXT_TFIDF], inputs[AUDIO_FEATURES]]).astype(np.float32)


@dataclasses.dataclass
class Fit:
    """Predictions of one trained model on its train and test split, and its curves."""

    pred_train: np.ndarray
    pred_test: np.ndarray
    history: dict[str, list[float]]
    epochs: int
    seconds: float


def _validation_slice(y: np.ndarray, fraction: float, seed: int
                      ) -> tuple[np.ndarray, Optional[np.ndarray]]:
    idx = np.arange(len(y))
    if fraction <= 0 or len(y) < 10:
        return idx, None
    from sklearn.model_selection import train_test_split

    try:
        fit, val = train_test_split(idx, test_size=fraction, stratify=y, random_state=seed)
    except ValueError:  # a class too small to stratify
        fit, val = train_test_split(idx, test_size=fraction, random_state=seed)
    return np.sort(fit), np.sort(val)


def train_keras(task: str, name: str, n_classes: int, x_train: dict, y_train: np.ndarray,
                x_test: dict, y_test: np.ndarray, hp: dict, epochs: int, batch_size: int,
                validation_fraction: float, patience: int, seed: int) -> Fit:
    """Trains ``build_model(task, name)`` as the Trainer does; the test split only monitors."""
    import tensorflow as tf

    from components.trainer.models.build import build_model, required_features

    started = time.time()
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    names = required_features(task, name)
    spec = {}
    for f in names:
        arr = x_train[f]
        if arr.dtype == object:
            spec[f] = tf.io.FixedLenFeature([], tf.string)
        else:
            spec[f] = tf.io.FixedLenFeature(list(arr.shape[1:]), tf.float32)
    model = build_model(task, name, n_classes, spec, hp)
    fit_idx, val_idx = _validation_slice(y_train, validation_fraction, seed)
    x_fit = {f: x_train[f][fit_idx] for f in names}
    x_all = {f: x_train[f] for f in names}
    x_tst = {f: x_test[f] for f in names}
    val = None
    if val_idx is not None:
        val = ({f: x_train[f][val_idx] for f in names}, y_train[val_idx])

    test_curve: dict[str, list[float]] = {"test_loss": [], "test_accuracy": []}

    class _TestMonitor(tf.keras.callbacks.Callback):
        """Test loss/accuracy per epoch, for the curves; nothing is selected on it."""

        def on_epoch_end(self, epoch, logs=None):
            loss, acc = self.model.evaluate(x_tst, y_test, batch_size=256, verbose=0)
            test_curve["test_loss"].append(float(loss))
            test_curve["test_accuracy"].append(float(acc))

    callbacks: list = [_TestMonitor()]
    if val is not None and patience:
        callbacks.append(tf.keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True))
    hist = model.fit(x_fit, y_train[fit_idx], validation_data=val, epochs=epochs,
                     batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks)
    history = {}
    for k, v in hist.history.items():
        history[k.replace("sparse_categorical_accuracy", "accuracy")] = [float(x) for x in v]
    history.update(test_curve)
    pred_train = model.predict(x_all, batch_size=256, verbose=0).argmax(axis=1)
    pred_test = model.predict(x_tst, batch_size=256, verbose=0).argmax(axis=1)
    return Fit(pred_train, pred_test, history, len(hist.epoch), time.time() - started)


def fit_model(task: str, name: str, labels: Sequence[str], x_train: dict, y_train: np.ndarray,
              x_test: dict, y_test: np.ndarray, train_config, epochs: Optional[int] = None,
              seed: int = 0) -> Fit:
    """One model, baseline or Keras, on one run's prepared inputs (shared with the benchmarks)."""
    started = time.time()
    if is_baseline(name):
        from sklearn.exceptions import ConvergenceWarning

        from components.baselines.executor import baseline_inputs, fit_and_score

        xtr, xte = baseline_matrix(task, x_train), baseline_matrix(task, x_test)
        with warnings.catch_warnings():
            # The reference's max_iter leaves LinearSVC/LR short of convergence on some data;
            # reproducing it means keeping those settings, not warning on every run.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model, _ = fit_and_score(name, task, xtr, y_train, xte, y_test, list(labels),
                                     seed=seed)
        xtr, xte = baseline_inputs(name, xtr), baseline_inputs(name, xte)  # as fitted
        return Fit(model.predict(xtr), model.predict(xte), {}, 0, time.time() - started)
    return train_keras(task, name, len(labels), x_train, y_train, x_test, y_test,
                       train_config.model_hparams(),
                       epochs or train_config.epochs, train_config.batch_size,
                       train_config.validation_fraction, train_config.early_stopping_patience,
                       seed)


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ModelStudyResult:
    """Per-run records, the per-(split, model) summary and where the files went."""

    records: list[dict]
    summary: list[dict]
    config: dict
    files: dict[str, str]
    wall_seconds: float

    def table_lines(self) -> list[str]:
        """The summary as aligned text (the reference's train/test mean ± std format)."""
        lines = [f"{'split':<8} {'model':<14} {'runs':>4}  {'train acc. %':>15}  "
                 f"{'test acc. %':>15}  {'reference test':>15}  note"]
        for r in self.summary:
            lines.append(
                f"{r['split']:<8} {r['model']:<14} {r['runs']:>4}  "
                f"{rep.pm(r['train_acc_mean'], r['train_acc_std']):>15}  "
                f"{rep.pm(r['test_acc_mean'], r['test_acc_std']):>15}  "
                f"{rep.pm(r['ref_test_acc_mean'], r['ref_test_acc_std']):>15}  {r['note']}")
        return lines


def parse_splits(split: str | Sequence[str]) -> list[str]:
    """``"random,speaker"`` or a list -> validated split methods, in the given order."""
    names = [s.strip() for s in (split.split(",") if isinstance(split, str) else split)
             if s.strip()]
    bad = [s for s in names if s not in SPLITS]
    if bad or not names:
        raise ValueError(f"unknown split(s) {bad or split!r}; choose from {', '.join(SPLITS)}")
    return list(dict.fromkeys(names))


def split_plan(split: str, n_speakers: int, runs: int, seed: int, n_folds: int
               ) -> list[tuple[int, int]]:
    """(seed, fold) of every run: ``runs`` seeds for random/speaker, every fold for loso/kfold.

    Leave-one-speaker-out and k-fold are complete by construction (each example is tested
    once), so they iterate all folds whatever ``runs`` says.
    """
    if split in ("random", "speaker"):
        return [(seed + i, 0) for i in range(runs)]
    if split == "kfold":
        return [(seed, f) for f in range(n_folds)]
    return [(seed, f) for f in range(n_speakers)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_model_study(
    preset: str,
    data_root: str | os.PathLike,
    models: Sequence[str],
    runs: int,
    split: str | Sequence[str],
    output_dir: str | os.PathLike,
    epochs: Optional[int] = None,
    seed: int = 0,
    progress: Optional[Progress] = print,
    task: Optional[str] = None,
    cache_dir: Optional[str | os.PathLike] = None,
    reference_csv: Optional[str | os.PathLike] = None,
    command: str = "",
) -> ModelStudyResult:
    """Trains every model on ``runs`` seeded splits per split method and writes the report.

    Args:
      preset: pipeline preset name (reader, labels, clip duration, TF-IDF settings, Keras
        hyperparameters, epochs, batch size, validation fraction, early stopping patience).
      data_root: the dataset folder the preset's reader lists.
      models: baselines (linsvm, rf, mnb, lr) and/or Keras model names of ``build_model``.
      runs: seeded runs per model for random/speaker splits (seeds seed .. seed+runs-1);
        loso and kfold iterate all their folds instead.
      split: one method or several ("random,speaker" gives the Table 4.6 comparison).
      output_dir: where the report, CSVs and figures go.
      epochs: Keras epochs (None: the preset's, with early stopping on the validation slice).
      seed: base seed of splits and models.
      progress: called with one line per run (model, run i/N, accuracy, elapsed); None: silent.
      task: ter/ser/mer; None infers it (see :func:`resolve_task`).
      cache_dir: per-clip feature cache (None: ``<output_dir>/cache``).
      reference_csv: the reference's results (None: ../shared/reference/thesis-results.csv).
      command: the command line, written into the report.
    """
    from components.example_gen.splits import EVAL, SplitKey, assign_splits
    from pipeline.configs import get_preset

    started = time.time()
    say: Progress = progress or (lambda _line: None)
    cfg = get_preset(preset)
    splits = parse_splits(split)
    models = list(dict.fromkeys(models))
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    task = resolve_task(cfg, models, task)
    if task not in cfg.tasks:
        raise ValueError(f"preset {preset!r} supports {', '.join(cfg.tasks)}, not {task}")
    check_models(task, models)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir) if cache_dir is not None else out / "cache"
    features = needed_features(task, models)
    say(f"model study: preset {preset}, task {task.upper()}, models {', '.join(models)}, "
        f"splits {', '.join(splits)}; features {', '.join(sorted(features))}")
    data = load_study_data(cfg, data_root, task, features, cache_dir, say)
    say(f"{len(data)} examples, {len(data.labels)} classes ({', '.join(data.labels)}), "
        f"{len(set(data.speakers.tolist()) - {''})} speakers; features "
        f"{'from cache' if data.cache_hit else 'computed'} in {data.feature_seconds:.1f} s")

    keys = [SplitKey(i, data.labels[y], s) for i, y, s in
            zip(data.ids.tolist(), data.y.tolist(), data.speakers.tolist(), strict=True)]
    n_speakers = len(set(data.speakers.tolist()) - {""})
    plans = {s: split_plan(s, n_speakers, runs, seed, cfg.split.n_folds) for s in splits}
    total = sum(len(p) for p in plans.values()) * len(models)
    n_classes = len(data.labels)
    records: list[dict] = []
    confusion: dict[tuple[str, str], np.ndarray] = {}
    histories: dict[tuple[str, str], list[dict]] = {}
    split_rows: list[str] = ["split,run,id,speaker,emotion,assignment"]
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix

    for split_name in splits:
        plan = plans[split_name]
        for i, (run_seed, fold) in enumerate(plan, 1):
            assignment = assign_splits(keys, split_name, seed=run_seed,
                                       test_fraction=cfg.split.test_fraction,
                                       n_folds=cfg.split.n_folds, fold=fold)
            is_test = np.asarray([assignment[k] == EVAL for k in data.ids.tolist()])
            train_idx, test_idx = np.flatnonzero(~is_test), np.flatnonzero(is_test)
            for k, key in enumerate(keys):
                split_rows.append(f"{split_name},{i},{key.id},{key.speaker},{key.label},"
                                  f"{'test' if is_test[k] else 'train'}")
            test_speakers = set(data.speakers[test_idx].tolist()) - {""}
            shared = len(set(data.speakers[train_idx].tolist()) & test_speakers)
            x_train, x_test = prepare_inputs(data, features, train_idx, test_idx, cfg.features)
            y_train, y_test = data.y[train_idx], data.y[test_idx]
            model_seed = run_seed + (fold if split_name in ("loso", "kfold") else 0)
            for model in models:
                fit = fit_model(task, model, data.labels, x_train, y_train, x_test, y_test,
                                cfg.train, epochs, seed=model_seed)
                rec = {
                    "split": split_name, "model": model, "run": i, "seed": run_seed,
                    "fold": fold if split_name in ("loso", "kfold") else "",
                    "n_train": len(train_idx), "n_test": len(test_idx),
                    "train_accuracy": 100.0 * float(np.mean(fit.pred_train == y_train)),
                    "test_accuracy": 100.0 * float(np.mean(fit.pred_test == y_test)),
                    "balanced_accuracy": 100.0 * float(
                        balanced_accuracy_score(y_test, fit.pred_test)),
                    "epochs": fit.epochs,
                    "eval_speakers": " ".join(sorted(test_speakers))
                    if split_name in ("speaker", "loso") else "",
                    "shared_speakers": shared, "seconds": round(fit.seconds, 2),
                }
                records.append(rec)
                cm = confusion_matrix(y_test, fit.pred_test, labels=list(range(n_classes)))
                confusion[(split_name, model)] = confusion.get(
                    (split_name, model), np.zeros_like(cm)) + cm
                if fit.history:
                    histories.setdefault((split_name, model), []).append(fit.history)
                say(f"[{len(records):>3}/{total}] {split_name:<7} {model:<12} run {i}/{len(plan)}"
                    f"  test {rec['test_accuracy']:6.2f}%  train {rec['train_accuracy']:6.2f}%"
                    f"{f'  {fit.epochs} epochs' if fit.epochs else ''}  {fit.seconds:6.1f} s"
                    f"  elapsed {_elapsed(time.time() - started)}")

    reference = rep.load_reference(reference_csv)
    summary = rep.summarize(records, reference, preset, task)
    table46 = None
    if task == "ser" and rep.REFERENCE_DATASETS.get(preset) == "RAVDESS-8":
        table46 = (rep.table46_ours(summary), rep.table46_reference(reference))
    elif {"random", "speaker"} <= set(splits):
        table46 = (rep.table46_ours(summary), [])
    figures = _write_figures(out, data.labels, confusion, histories)
    config = {
        "preset": preset, "task": task, "data_root": str(data_root), "n_examples": len(data),
        "labels": data.labels, "splits": splits, "models": models, "seed": seed,
        "runs_desc": "; ".join(f"{s}: {len(p)}" + (" folds" if s in ("loso", "kfold") else "")
                               for s, p in plans.items()),
        "keras_desc": _keras_desc(cfg, epochs, models),
        "features_desc": _features_desc(cfg, features),
        "feature_seconds": data.feature_seconds, "cache_hit": data.cache_hit,
        "cache_dir": str(cache_dir), "rejected": data.rejected, "command": command,
        "wall_seconds": time.time() - started,
    }
    caveats = _caveats(splits, task, features, preset)
    files = {"runs_csv": str(out / "runs.csv"), "summary_csv": str(out / "summary.csv"),
             "markdown": str(out / "results.md"), "html": str(out / "report.html"),
             "splits_csv": str(out / "splits.csv"), "config": str(out / "config.json")}
    rep.write_csv(files["runs_csv"], records, rep.RUN_FIELDS)
    rep.write_csv(files["summary_csv"], summary, rep.SUMMARY_FIELDS)
    Path(files["splits_csv"]).write_text("\n".join(split_rows) + "\n")
    config["wall_seconds"] = time.time() - started
    Path(files["markdown"]).write_text(rep.markdown_report(config, summary, records, table46))
    Path(files["html"]).write_text(rep.html_report(config, summary, records, figures, table46,
                                                   caveats))
    Path(files["config"]).write_text(json.dumps(config, indent=2, default=str))
    return ModelStudyResult(records, summary, config, files, config["wall_seconds"])


def _write_figures(out: Path, labels: list[str], confusion: dict, histories: dict
                   ) -> dict[tuple[str, str], dict[str, str]]:
    """Confusion matrices (PNG + CSV) and curves (PNG + CSV); paths relative to ``out``."""
    (out / "confusion").mkdir(exist_ok=True)
    figures: dict[tuple[str, str], dict[str, str]] = {}
    for (split, model), cm in confusion.items():
        stem = f"{split}-{_slug(model)}"
        figs = figures.setdefault((split, model), {})
        rep.plot_confusion(cm, labels, out / "confusion" / f"{stem}-counts.png",
                           f"{model}, {split} split: counts summed over runs",
                           normalised=False)
        rep.plot_confusion(cm, labels, out / "confusion" / f"{stem}-normalised.png",
                           f"{model}, {split} split: row-normalised (recall)", normalised=True)
        buf = io.StringIO()
        buf.write("true\\predicted," + ",".join(labels) + "\n")
        for name, row in zip(labels, cm, strict=True):
            buf.write(name + "," + ",".join(str(int(v)) for v in row) + "\n")
        (out / "confusion" / f"{stem}.csv").write_text(buf.getvalue())
        figs.update({"cm_raw": f"confusion/{stem}-counts.png",
                     "cm_norm": f"confusion/{stem}-normalised.png",
                     "confusion.csv": f"confusion/{stem}.csv"})
    if histories:
        (out / "curves").mkdir(exist_ok=True)
    for (split, model), hists in histories.items():
        stem = f"{split}-{_slug(model)}"
        rep.plot_curves(hists, out / "curves" / f"{stem}.png", f"{model}, {split} split")
        keys = ["loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"]
        lines = ["run,epoch," + ",".join(keys)]
        for r, h in enumerate(hists, 1):
            for e in range(len(h.get("loss", []))):
                vals = [h.get(k, []) for k in keys]
                lines.append(f"{r},{e + 1}," + ",".join(
                    f"{v[e]:.6f}" if e < len(v) else "" for v in vals))
        (out / "curves" / f"{stem}.csv").write_text("\n".join(lines) + "\n")
        figures.setdefault((split, model), {}).update(
            {"curves_png": f"curves/{stem}.png", "curves.csv": f"curves/{stem}.csv"})
    return figures


def _keras_desc(cfg, epochs: Optional[int], models: Sequence[str]) -> str:
    if all(is_baseline(m) for m in models):
        return "none"
    t = cfg.train
    stop = (f"early stopping on a {t.validation_fraction:.0%} validation slice of the train split "
            f"(patience {t.early_stopping_patience}, best weights restored)"
            if t.validation_fraction > 0 and t.early_stopping_patience else "no early stopping")
    return (f"up to {epochs or t.epochs} epochs, batch {t.batch_size}, lr {t.learning_rate}, "
            f"hidden {t.hidden_units}, dropout {t.dropout}; {stop}")


def _features_desc(cfg, features: set[str]) -> str:
    parts = []
    f = cfg.features
    if AUDIO_FEATURES in features:
        parts.append(f"{'+'.join(f.audio_kinds)} utterance means (in-graph, {f.duration_s} s at "
                     f"16 kHz, min-max scaled on train)")
    if LOG_MEL in features:
        parts.append("log-mel frames (64 bands, z-scored on train)")
    if WAVEFORM in features:
        parts.append("16 kHz waveform")
    if TEXT_TFIDF in features:
        parts.append(f"scikit-learn TF-IDF {tuple(f.tfidf_ngrams)}-grams, sublinear tf, max "
                     f"{f.tfidf_vocab_size} terms, min_df {f.tfidf_min_count}, max_df 0.95"
                     f"{', English stop words' if f.stop_words else ''} (fitted on train)")
    if TEXT_RAW in features:
        parts.append("raw text (tokenised in the model)")
    return "; ".join(parts)


def _caveats(splits: Sequence[str], task: str, features: set[str], preset: str) -> list[str]:
    out = []
    if "random" in splits:
        out.append("The random split is speaker-dependent (the same speakers appear in train and "
                   "test: see 'shared speakers'), the reference's protocol; it overstates "
                   "accuracy on new voices, which the speaker split measures.")
    if rep.REFERENCE_DATASETS.get(preset) is None:
        out.append(f"The reference has no results on {preset!r}: nothing here is compared.")
    if TEXT_TFIDF in features:
        out.append("Text features are scikit-learn TF-IDF fitted per run (as the reference), "
                   "not the pipeline's in-graph tf.Transform TF-IDF; the two differ slightly "
                   "in tokenisation.")
    return out


# ---------------------------------------------------------------------------------------------
# Command line: `mer experiment models ...`
# ---------------------------------------------------------------------------------------------


def _model_list(value: str) -> list[str]:
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one model, e.g. linsvm,rf,cnn1d")
    return names


def _split_list(value: str) -> list[str]:
    try:
        return parse_splits(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mer experiment models`` (no TensorFlow import: ``--help`` stays fast)."""
    from pipeline.configs import PRESETS

    parser.add_argument("--preset", default="ravdess", choices=sorted(PRESETS),
                        help="pipeline preset: reader, labels, features, hyperparameters")
    parser.add_argument("--models", type=_model_list, required=True,
                        help="comma-separated: baselines linsvm,rf,mnb,lr and/or Keras models "
                             "by name (e.g. cnn1d, cnn2d, tfidf_dense, tfidf+cnn1d)")
    parser.add_argument("--runs", type=int, default=3,
                        help="seeded runs per model for random/speaker (the reference used "
                             "10); loso/kfold run every fold")
    parser.add_argument("--split", type=_split_list, default=["random"],
                        help="random (speaker-dependent, the reference's), speaker (held-out "
                             "speakers), loso or kfold; comma-separated for several, e.g. "
                             "random,speaker for the Table 4.6 comparison")
    parser.add_argument("--data-root",
                        help="dataset folder (default: ../shared/datasets/<preset> if present)")
    parser.add_argument("--output-dir",
                        help="report folder (default: artifacts/experiments/model_study/"
                             "<preset>-<split>)")
    parser.add_argument("--epochs", type=int,
                        help="Keras epochs (default: the preset's, with early stopping)")
    parser.add_argument("--seed", type=int, default=0, help="run i uses seed + i - 1")
    parser.add_argument("--task", choices=TASKS,
                        help="ter/ser/mer (default: the preset's, or implied by the models)")
    parser.add_argument("--cache-dir",
                        help="per-clip feature cache (default: artifacts/experiments/model_study/"
                             "cache without --output-dir, else <output-dir>/cache)")


def _command(args: argparse.Namespace) -> str:
    parts = ["mer experiment models", f"--preset {args.preset}",
             f"--models {','.join(args.models)}", f"--runs {args.runs}",
             f"--split {','.join(args.split)}"]
    for opt in ("data_root", "output_dir", "epochs", "task", "cache_dir"):
        if getattr(args, opt, None) is not None:
            parts.append(f"--{opt.replace('_', '-')} {getattr(args, opt)}")
    if getattr(args, "seed", 0):
        parts.append(f"--seed {args.seed}")
    return " ".join(parts)


def main(args: argparse.Namespace) -> int:
    """Runs the study from parsed arguments; prints the table and where the report is."""
    from pipeline.configs import shared_dataset_root

    data_root = args.data_root or shared_dataset_root(args.preset)
    if not data_root:
        print(f"error: --data-root is required for preset {args.preset!r}", file=sys.stderr)
        return 2
    splits = args.split if isinstance(args.split, list) else parse_splits(args.split)
    output_dir = args.output_dir or str(DEFAULT_OUTPUT_ROOT / f"{args.preset}-{'+'.join(splits)}")
    cache_dir = args.cache_dir or (str(Path(args.output_dir) / "cache") if args.output_dir
                                   else str(DEFAULT_OUTPUT_ROOT / "cache"))
    try:
        result = run_model_study(
            args.preset, os.path.abspath(data_root), args.models, args.runs, splits,
            os.path.abspath(output_dir), epochs=args.epochs, seed=args.seed,
            task=getattr(args, "task", None), cache_dir=os.path.abspath(cache_dir),
            command=_command(args))
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    for line in result.table_lines():
        print(line)
    print(f"\nwall time {result.wall_seconds:.0f} s; report: {result.files['html']}")
    return 0


if __name__ == "__main__":  # python -m pipeline.experiments.model_study ...
    _parser = argparse.ArgumentParser(prog="model_study", description=__doc__.split("\n")[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
