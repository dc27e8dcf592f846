"""One run of one model in a model study: its inputs, scaled on train, and its fit.

Why this exists: how a run's inputs are prepared (statistics from the train split only) and how
a baseline or a Keras model is trained on them (as the pipeline's Trainer trains, the test split
only monitored) decides whether the study's numbers apply to what the pipeline ships; the study
and the fusion benchmark share this one implementation.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from typing import Iterable, Optional, Sequence

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from components.core.features import (  # noqa: E402
    AUDIO_FEATURES,
    LOG_MEL,
    TEXT_RAW,
    TEXT_TFIDF,
    WAVEFORM,
)
from pipeline.experiments.model_study_data import StudyData  # noqa: E402
from pipeline.experiments.model_study_names import is_baseline  # noqa: E402


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
    from pipeline.experiments.feature_study_fit import minmax_scale

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
