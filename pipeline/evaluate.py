"""`mer evaluate`: score a pushed model on any dataset, e.g. a RAVDESS model on CREMA-D.

Cross-corpus evaluation answers "how does this model do on data it has never seen, recorded
elsewhere?". The dataset is read by its preset's reader and ingested exactly as the pipeline
ingests it (contract TFRecords), then fed in batches through the model's own
`serving_default` signature (serialized tf.Examples in, probabilities out): the same graph TFMA
and TF Serving run, transform included. Only the classes both label sets share are scored (a
`--label-map` renames the dataset's labels first, e.g. `fearful=fear`); the output names them,
and the records of other classes are counted, not silently dropped.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os
import sys
from typing import Mapping, Optional, Sequence

import numpy as np

from components.core import metrics
from components.core.config import Preset, SplitConfig
from components.core.errors import DataError, ModelError, UsageError
from components.core.signatures import EMOTIONS, EXAMPLES_INPUT, PROBABILITIES, SERVING_DEFAULT

SPLIT_CHOICES = ("all", "train", "eval")


def parse_label_map(text: Optional[str]) -> dict[str, str]:
    """`a=b,c=d` -> {"a": "b", "c": "d"}; a ValueError names a malformed pair."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise UsageError(f"--label-map: {pair!r} is not DATASET_LABEL=MODEL_LABEL "
                             f"(e.g. fearful=fear,angry=anger)")
        out[source.strip()] = target.strip()
    return out


@dataclasses.dataclass
class CrossCorpusResult:
    model: str
    dataset: str
    shared_classes: list[str]
    model_classes: list[str]
    n_scored: int
    n_skipped_by_label: dict[str, int]  # dataset label -> records left out (not shared)
    accuracy: float  # argmax over the shared classes
    accuracy_all_classes: float  # argmax over every class the model knows
    uar: float  # unweighted average recall over the shared classes
    per_class_recall: dict[str, float]
    confusion: list[list[int]]  # rows: true shared class, columns: predicted shared class
    files: dict[str, str] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        skipped = sum(self.n_skipped_by_label.values())
        out = [f"model {self.model} on {self.dataset}: {self.n_scored} records scored on the "
               f"{len(self.shared_classes)} shared classes {self.shared_classes}"
               + (f"; {skipped} left out ({self.n_skipped_by_label})" if skipped else ""),
               f"accuracy {100 * self.accuracy:.2f}% (argmax over shared classes), "
               f"{100 * self.accuracy_all_classes:.2f}% (over all {len(self.model_classes)} "
               f"model classes); UAR {100 * self.uar:.2f}%",
               "recall per class: " + ", ".join(f"{k} {100 * v:.1f}%"
                                                for k, v in self.per_class_recall.items())]
        out += [f"{k}: {v}" for k, v in self.files.items()]
        return out


def _model_classes(fn, example: bytes) -> list[str]:
    import tensorflow as tf

    out = fn(**{EXAMPLES_INPUT: tf.constant([example])})
    return [n.decode("utf-8") for n in out[EMOTIONS].numpy()[0]]


def _read_examples(examples_uri: str, splits: Sequence[str]) -> tuple[list[bytes], list[str]]:
    import tensorflow as tf

    files = sorted(f for s in splits for f in glob.glob(os.path.join(examples_uri, f"Split-{s}",
                                                                      "*")))
    serialized, emotions = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        ex = tf.train.Example()
        ex.ParseFromString(record)
        serialized.append(record)
        emotions.append(ex.features.feature["emotion"].bytes_list.value[0].decode("utf-8"))
    return serialized, emotions


def score(probabilities: np.ndarray, model_classes: Sequence[str], true: Sequence[str],
          shared: Sequence[str]) -> dict:
    """Accuracy (over shared classes and over all), UAR, recall per class, confusion matrix."""
    model_classes = list(model_classes)
    cols = [model_classes.index(c) for c in shared]
    true_idx = np.array([list(shared).index(t) for t in true])
    pred_shared = probabilities[:, cols].argmax(axis=1)
    pred_all = np.array([model_classes[i] for i in probabilities.argmax(axis=1)])
    cm = metrics.confusion(true_idx, pred_shared, len(shared))
    recall = metrics.per_class_recall(cm)
    return {"accuracy": metrics.accuracy(true_idx, pred_shared),
            "accuracy_all_classes": float((pred_all == np.array(true)).mean()),
            "uar": metrics.uar(cm) or 0.0,
            "per_class_recall": {c: float(r) for c, r in zip(shared, recall, strict=True)
                                 if not np.isnan(r)},
            "confusion": cm.tolist()}


def evaluate_model(model_dir: str, preset: Preset, data_root: str, output_dir: str,
                   label_map: Optional[Mapping[str, str]] = None, split: str = "all",
                   batch_size: int = 64) -> CrossCorpusResult:
    """Ingests `data_root` with `preset`'s reader and scores the model in `model_dir` on it."""
    import tensorflow as tf

    from components.example_gen import ingest

    if split not in SPLIT_CHOICES:
        raise UsageError(f"split must be one of {SPLIT_CHOICES}, got {split!r}")
    model = served_model(model_dir)  # before ingesting: a model that cannot load fails fast
    version_dir = model.path
    if split == "all":  # every record is scored: any split method that accepts the data will do
        preset = preset.replace(split=SplitConfig(method="random", seed=preset.split.seed))
    examples_uri = os.path.join(output_dir, "examples")
    ingest.run_ingest(preset, data_root, examples_uri=examples_uri)
    splits = ingest.SPLITS if split == "all" else (split,)
    serialized, emotions = _read_examples(examples_uri, splits)
    if not serialized:
        raise DataError(f"no records of split {split!r} were ingested from {data_root}")
    fn = model.saved_model.signatures[SERVING_DEFAULT]
    classes = _model_classes(fn, serialized[0])
    label_map = dict(label_map or {})
    mapped = [label_map.get(e, e) for e in emotions]
    shared = [c for c in classes if c in set(mapped)]
    if not shared:
        raise DataError(
            f"the model's classes {classes} and the dataset's labels {sorted(set(mapped))} "
            f"share none; map dataset labels onto the model's with --label-map a=b,c=d")
    keep = [i for i, m in enumerate(mapped) if m in shared]
    skipped: dict[str, int] = {}
    for e, m in zip(emotions, mapped, strict=True):
        if m not in shared:
            skipped[e] = skipped.get(e, 0) + 1
    probs = []
    for start in range(0, len(keep), batch_size):
        batch = [serialized[i] for i in keep[start:start + batch_size]]
        probs.append(fn(**{EXAMPLES_INPUT: tf.constant(batch)})[PROBABILITIES].numpy())
    scores = score(np.concatenate(probs), classes, [mapped[i] for i in keep], shared)
    result = CrossCorpusResult(
        model=version_dir, dataset=f"{preset.name} ({data_root})", shared_classes=shared,
        model_classes=classes, n_scored=len(keep), n_skipped_by_label=skipped, **scores)
    result.files = _write(result, output_dir)
    return result


def served_model(model_dir: str):
    """The version `mer serve` and `mer predict` would serve from `model_dir`: the folder itself
    when it is one version, else the newest version that passes the serving check
    (`serving.backends.inprocess.load_newest`: a broken newest version falls back to the one
    before it, and stderr says which and why). A ModelError when none loads."""
    from components.core.saved_model_check import VersionCheckError
    from serving.backends.inprocess import InProcessModel, load_newest
    from serving.backends.versions import numbered_versions

    if os.path.exists(os.path.join(model_dir, "saved_model.pb")):
        try:
            return InProcessModel(model_dir)
        except VersionCheckError as e:
            raise ModelError(f"the model at {model_dir} cannot be used: {e.reason}") from None
    failed: dict = {}
    model = load_newest(model_dir, failed, label=os.path.basename(model_dir))
    for version, (_, error) in sorted(failed.items(), key=lambda kv: -int(kv[0])):
        print(f"version {version} is not used: {error.reason}", file=sys.stderr)
    if model is None:
        found = "no numbered version" if not numbered_versions(model_dir) else \
            "no version that loads"
        raise ModelError(f"{model_dir} holds {found} (expected <dir>/<number>/saved_model.pb); "
                         f"pass a pushed model base, e.g. artifacts/serving/ser, or a version")
    return model


def _write(result: CrossCorpusResult, output_dir: str) -> dict[str, str]:
    os.makedirs(output_dir, exist_ok=True)
    files = {"summary": os.path.join(output_dir, "evaluation.json"),
             "confusion_csv": os.path.join(output_dir, "confusion_matrix.csv"),
             "recall_csv": os.path.join(output_dir, "per_class_recall.csv"),
             "confusion_png": os.path.join(output_dir, "confusion_matrix.png")}
    with open(files["summary"], "w") as f:
        json.dump({k: v for k, v in dataclasses.asdict(result).items() if k != "files"}, f,
                  indent=2)
    with open(files["confusion_csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["true \\ predicted"] + result.shared_classes)
        for name, row in zip(result.shared_classes, result.confusion, strict=True):
            w.writerow([name] + row)
    with open(files["recall_csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["class", "recall"])
        w.writerows(result.per_class_recall.items())
    from pipeline.experiments.report_plots import plot_confusion

    plot_confusion(np.array(result.confusion), result.shared_classes, files["confusion_png"],
                   title=f"{os.path.basename(os.path.dirname(result.model))} on "
                         f"{result.dataset.split(' ')[0]}", normalised=True)
    return files


def register(subparsers) -> None:
    """Adds `mer evaluate` to the `mer` parser (kept here so cli.py stays small)."""
    from pipeline import cli_config
    from pipeline.configs import PRESETS

    p = subparsers.add_parser(
        "evaluate", help="score a pushed model on another dataset (cross-corpus)",
        description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", required=True,
                   help="a pushed model (e.g. artifacts/serving/ser, its newest version is used) "
                        "or one version folder")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="the preset whose reader reads --data-root (or the base of --config)")
    cli_config.add_file_arguments(p)  # --config FILE, --set KEY=VALUE: as `mer run`'s
    p.add_argument("--data-root", required=True, help="the dataset to score the model on")
    p.add_argument("--label-map", default="",
                   help="rename dataset labels to the model's: a=b,c=d (e.g. fearful=fear)")
    p.add_argument("--split", default="all", choices=SPLIT_CHOICES,
                   help="which of the dataset's records to score (default: all of them)")
    p.add_argument("--output-dir",
                   help="where the ingested records and the results go (default: "
                        "artifacts/evaluations/<model>-on-<preset>)")
    p.set_defaults(fn=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from pipeline import cli_config
    from pipeline.configs import DEFAULT_OUTPUT_DIR

    preset = cli_config.load(args, with_flags=False).preset  # --preset/--config/--set
    model_name = os.path.basename(os.path.normpath(args.model_dir))
    output_dir = args.output_dir or str(
        DEFAULT_OUTPUT_DIR / "evaluations" / f"{model_name}-on-{preset.name}")
    result = evaluate_model(os.path.abspath(args.model_dir), preset,
                            os.path.abspath(args.data_root), os.path.abspath(output_dir),
                            label_map=parse_label_map(args.label_map), split=args.split)
    for line in result.lines():
        print(line)
    return 0
