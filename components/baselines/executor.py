"""Fits the four baselines on the Transform outputs and records their metrics."""

from __future__ import annotations

import io
import json
import os
import time
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
import tensorflow_transform as tft
from sklearn.metrics import accuracy_score, balanced_accuracy_score, classification_report
from sklearn.model_selection import GridSearchCV
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.artifacts import write_baseline_metrics
from components.baselines.data import load_split
from components.baselines.models import GRIDS, make_baseline
from components.core.config import PresetPart
from components.transform import preprocessing as pp


def baseline_inputs(name: str, x):
    """What baseline ``name`` is fed: MultinomialNB needs non-negative inputs (min-max scaled
    values can dip below 0 on the eval split), so negatives become 0; a SciPy sparse matrix
    stays sparse. Callers that predict with a fitted baseline use it too."""
    if name != "mnb":
        return x
    if sp.issparse(x):
        return x.maximum(0)
    return np.clip(x, 0, None)


def fit_and_score(
    name: str, task: str, x_train, y_train, x_eval, y_eval, labels: list[str],
    seed: int = 42, grid_search: bool = False,
) -> tuple[Any, dict]:
    model = make_baseline(name, task, seed=seed)
    x_train, x_eval = baseline_inputs(name, x_train), baseline_inputs(name, x_eval)
    started = time.time()
    if grid_search:
        search = GridSearchCV(model, GRIDS[name], cv=5, n_jobs=-1)
        search.fit(x_train, y_train)
        model = search.best_estimator_
    else:
        model.fit(x_train, y_train)
    pred_train, pred_eval = model.predict(x_train), model.predict(x_eval)
    ids = list(range(len(labels)))
    report = classification_report(y_eval, pred_eval, labels=ids, target_names=labels,
                                   output_dict=True, zero_division=0)
    return model, {
        "train_accuracy": float(accuracy_score(y_train, pred_train)),
        "accuracy": float(accuracy_score(y_eval, pred_eval)),
        "balanced_accuracy": float(balanced_accuracy_score(y_eval, pred_eval)),
        "per_class": {k: v for k, v in report.items() if k in labels},
        "params": {k: v for k, v in model.get_params().items()
                   if isinstance(v, (int, float, str, type(None)))},
        "fit_seconds": round(time.time() - started, 2),
    }


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]],
           output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any]) -> None:
        preset = PresetPart.from_json(exec_properties["preset"])
        seed = int(exec_properties["seed"])
        task = exec_properties["task"]
        names = json.loads(exec_properties["models"])
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        graph = artifact_utils.get_single_instance(input_dict["transform_graph"])
        out = artifact_utils.get_single_instance(output_dict["baselines"])

        tft_output = tft.TFTransformOutput(graph.uri)
        labels = pp.label_names(tft_output, n_min=len(preset.labels))
        schema = tft_output.transformed_metadata.schema
        x_train, y_train = load_split(examples, "train", schema, task)
        x_eval, y_eval = load_split(examples, "eval", schema, task)
        results = {}
        for name in names:
            model, metrics = fit_and_score(
                name, task, x_train, y_train, x_eval, y_eval, labels, seed=seed,
                grid_search=bool(exec_properties.get("grid_search")))
            blob = io.BytesIO()  # GFile takes bytes, not the memoryviews joblib writes
            joblib.dump(model, blob)
            with fileio.open(os.path.join(out.uri, f"{name}.joblib"), "wb") as f:
                f.write(blob.getvalue())
            results[name] = metrics
            print(f"baseline {task}/{name}: eval accuracy {metrics['accuracy']:.4f}")
        best = max(results, key=lambda n: results[n]["accuracy"])
        summary = {"task": task, "labels": labels, "n_train": int(len(y_train)),
                   "n_eval": int(len(y_eval)), "best": best, "models": results}
        write_baseline_metrics(out.uri, summary)
        out.set_string_custom_property("best_model", best)
        out.set_float_custom_property("best_accuracy", results[best]["accuracy"])
