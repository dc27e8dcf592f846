"""Fit one candidate on one transformed split and score it, the same way for every study.

Keras candidates go through the Trainer's `fit_model` (validation carve-out, early stopping,
schedule, augmentation, ensembles: what `run_fn` does), baselines through the Baselines
component's own loader and `fit_and_score`. Each candidate reports its validation accuracy
(on the carve-out of the train split: what a study may select on) and its test accuracy and
UAR (on the eval split: what it reports, never what it selects on).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import numpy as np  # noqa: E402

from components.core.carve_out import mask as validation_mask  # noqa: E402
from components.core.config import TrainConfig  # noqa: E402
from components.core.metrics import uar_of  # noqa: E402
from components.core.model_names import is_baseline  # noqa: E402
from pipeline.experiments.study_data import EVAL, TRAIN, TransformedSplit  # noqa: E402

RowsFn = Callable  # (tf.data rows) -> rows: e.g. a column slice of the audio features


@dataclasses.dataclass
class CandidateFit:
    model: str
    train_accuracy: float  # %, on the rows it was fitted on
    val_accuracy: Optional[float]  # %, on the validation carve-out (None: no carve-out)
    test_accuracy: float  # %, on the eval split
    uar: float  # %, unweighted average recall on the eval split
    y_test: np.ndarray
    pred_test: np.ndarray
    proba_test: Optional[np.ndarray]
    history: dict
    epochs: int
    seconds: float


def fit_candidate(ts: TransformedSplit, task: str, model: str, cfg: TrainConfig,
                  rows_fn: Optional[RowsFn] = None, feature_spec: Optional[dict] = None,
                  verbose: int = 0) -> CandidateFit:
    """Fits `model` (a baseline or a Keras model name) on `ts`'s train split and scores it."""
    if is_baseline(model):
        return _fit_baseline(ts, task, model, cfg, rows_fn)
    return _fit_keras(ts, task, model, cfg, rows_fn, feature_spec, verbose)


def _fit_keras(ts, task, model, cfg, rows_fn, feature_spec, verbose) -> CandidateFit:
    from components.trainer.fit import carve_validation, fit_model

    started = time.time()
    spec = feature_spec or ts.tft_output().transformed_feature_spec()
    rows = {s: ts.rows(s) for s in (TRAIN, EVAL)}
    if rows_fn is not None:
        rows = {s: rows_fn(r) for s, r in rows.items()}
    train, val = carve_validation(rows[TRAIN], cfg.validation_fraction,
                                  cfg.validation_split)
    result = fit_model(task, model, len(ts.labels), spec, train, cfg, validation_rows=val,
                       verbose=verbose)
    inputs = list(result.model.input_names)

    def predict(ds):
        xs, ys = [], []
        for x, y in ds.batch(256):
            xs.append(result.model({k: x[k] for k in inputs}, training=False).numpy())
            ys.append(np.reshape(y.numpy(), -1))
        return np.concatenate(xs), np.concatenate(ys)

    p_train, y_train = predict(train)
    p_test, y_test = predict(rows[EVAL])
    val_acc = None
    if val is not None:
        p_val, y_val = predict(val)
        val_acc = 100.0 * float(np.mean(p_val.argmax(1) == y_val))
    pred = p_test.argmax(1)
    return CandidateFit(
        model=model, train_accuracy=100.0 * float(np.mean(p_train.argmax(1) == y_train)),
        val_accuracy=val_acc, test_accuracy=100.0 * float(np.mean(pred == y_test)),
        uar=100.0 * uar_of(y_test, pred, len(ts.labels)), y_test=y_test, pred_test=pred,
        proba_test=p_test, history=result.history, epochs=len(result.history.get("loss", [])),
        seconds=time.time() - started)


def _fit_baseline(ts, task, model, cfg, rows_fn) -> CandidateFit:
    """The Baselines component's code on the same transformed features (its loader and fit)."""
    from components.baselines.data import load_split

    if rows_fn is not None:
        raise ValueError("baselines read whole feature matrices; slice their columns and call "
                         "fit_baseline_arrays instead")
    started = time.time()
    schema = ts.tft_output().transformed_metadata.schema
    x_train, y_train = load_split(ts.examples, TRAIN, schema, task)
    x_test, y_test = load_split(ts.examples, EVAL, schema, task)
    return _score_baseline(model, task, ts.labels, x_train, y_train, x_test, y_test, cfg,
                           started)


def fit_baseline_arrays(model: str, task: str, labels: list[str], x_train, y_train, x_test,
                        y_test, cfg: TrainConfig) -> CandidateFit:
    """A baseline on given arrays (e.g. a column slice of the audio features)."""
    return _score_baseline(model, task, labels, x_train, y_train, x_test, y_test, cfg,
                           time.time())


def _score_baseline(model, task, labels, x_train, y_train, x_test, y_test, cfg, started
                    ) -> CandidateFit:
    from components.baselines.executor import baseline_inputs, fit_and_score

    val_acc = None
    mask = validation_mask(len(y_train), cfg.validation_fraction)
    if mask.any():  # selection evidence, as for the Keras candidates: fit without the carve-out
        fitted, _ = fit_and_score(model, task, x_train[~mask], y_train[~mask], x_train[mask],
                                  y_train[mask], labels, seed=cfg.seed)
        val_acc = 100.0 * float(np.mean(
            fitted.predict(baseline_inputs(model, x_train[mask])) == y_train[mask]))
    fitted, metrics = fit_and_score(model, task, x_train, y_train, x_test, y_test, labels,
                                    seed=cfg.seed)
    pred = fitted.predict(baseline_inputs(model, x_test))
    return CandidateFit(
        model=model, train_accuracy=100.0 * metrics["train_accuracy"], val_accuracy=val_acc,
        test_accuracy=100.0 * metrics["accuracy"], uar=100.0 * uar_of(y_test, pred, len(labels)),
        y_test=y_test, pred_test=pred, proba_test=None, history={}, epochs=0,
        seconds=time.time() - started)
