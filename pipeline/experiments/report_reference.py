"""Reference-table lookup for the model study: which of the reference's rows is comparable.

Why separate from :mod:`pipeline.experiments.model_study`: the study decides *what* is measured;
this module decides *how it is compared* (the summary, the figures and the written reports are
:mod:`~pipeline.experiments.report_summary`, :mod:`~pipeline.experiments.report_plots` and
:mod:`~pipeline.experiments.report`). Keeping the comparison rules here (which of the
reference's rows is comparable with which of our runs) makes them one readable place, since
they are the part most likely to be argued about: a number beside the reference's is a claim
that the two were measured the same way, so a row is only compared when the dataset, the task,
the model and the split protocol all match, and otherwise the report says why it is not.

The reference's results are ``../shared/reference/thesis-results.csv`` (accuracies in %, columns
task, dataset, model, train_acc_mean, train_acc_std, test_acc_mean, test_acc_std, protocol).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path
from typing import Optional, Sequence

from pipeline.configs import REFERENCE_RESULTS

REFERENCE_CSV = REFERENCE_RESULTS

#: Our preset name -> the reference's dataset name.
REFERENCE_DATASETS: dict[str, str] = {
    "ravdess": "RAVDESS-8",
    "psychexp": "PsychExp-7",
    "iemocap": "IEMOCAP-4",
}

#: Our single-task model names -> the reference's (TER baselines carry " (TFIDF)" there).
REFERENCE_MODELS: dict[str, str] = {
    "linsvm": "LinSVM", "rf": "RF", "mnb": "MNB", "lr": "LR",
    "cnn1d": "1D CNN", "cnn2d": "2D CNN",
    "trill_lstm": "TRILL", "trill": "TRILL", "yamnet_lstm": "YAMNet", "yamnet": "YAMNet",
    "bert_bilstm": "BERT", "bert": "BERT", "electra_dense": "Electra small",
}
#: Each side of an early-fusion name ``TEXT+AUDIO`` -> the reference's words for it.
_FUSION_PARTS: dict[str, str] = {
    "bert": "BERT", "bert_bilstm": "BERT", "electra": "Electra", "electra_dense": "Electra",
    "cnn1d": "1D CNN", "cnn2d": "2D CNN", "trill": "TRILL", "trill_lstm": "TRILL",
    "yamnet": "YAMNet", "yamnet_lstm": "YAMNet",
}

#: Our split methods, as the reference would describe them.
PROTOCOL_WORDS: dict[str, str] = {
    "random": "speaker-dependent stratified random 80/20",
    "speaker": "speaker-independent 80/20 (held-out speakers)",
    "loso": "leave-one-speaker-out",
    "kfold": "stratified k-fold",
}


@dataclasses.dataclass(frozen=True)
class ReferenceRow:
    """One row of the reference's results; accuracies in %, None where the reference gave none."""

    task: str
    dataset: str
    model: str
    train_mean: Optional[float]
    train_std: Optional[float]
    test_mean: Optional[float]
    test_std: Optional[float]
    protocol: str

    @property
    def split(self) -> str:
        """The reference's protocol in our split vocabulary: "speaker" or "random"."""
        text = f"{self.model} {self.protocol}".lower()
        return "speaker" if ("speaker-independent" in text or "speakers disjoint" in text) \
            else "random"

    @property
    def base_model(self) -> str:
        """Model name without the qualifiers the reference appends ("(TFIDF)", protocol)."""
        name = self.model
        for suffix in (" (TFIDF)", " (speaker-independent)"):
            name = name.replace(suffix, "")
        return name.strip()


@dataclasses.dataclass(frozen=True)
class ReferenceMatch:
    """What the report shows beside one of our (split, model) results.

    ``row`` is set only when the reference measured the same thing the same way (``comparable``);
    ``other`` holds the reference's rows for the same model under another protocol, shown as
    context with ``note`` explaining why they are not compared.
    """

    row: Optional[ReferenceRow]
    comparable: bool
    note: str
    other: tuple[ReferenceRow, ...] = ()


def _float(value: str) -> Optional[float]:
    value = (value or "").strip()
    return float(value) if value else None


def load_reference(path: str | os.PathLike | None = None) -> list[ReferenceRow]:
    """The reference's rows, or [] when the file is not there (a user's clone has no ../shared)."""
    path = Path(path) if path else REFERENCE_CSV
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [ReferenceRow(r["task"].strip().lower(), r["dataset"].strip(), r["model"].strip(),
                             _float(r["train_acc_mean"]), _float(r["train_acc_std"]),
                             _float(r["test_acc_mean"]), _float(r["test_acc_std"]),
                             r["protocol"].strip())
                for r in csv.DictReader(f)]


def reference_model_name(task: str, model: str) -> Optional[str]:
    """Our model name in the reference's words, or None when the reference has no such model.

    MER baselines keep their plain names (the reference's MER rows say "LinSVM"); fusion names
    ``TEXT+AUDIO`` become "Electra + 1D CNN" and the like.
    """
    if task == "mer" and "+" in model:
        text, audio = model.split("+", 1)
        if text in _FUSION_PARTS and audio in _FUSION_PARTS:
            return f"{_FUSION_PARTS[text]} + {_FUSION_PARTS[audio]}"
        return None
    return REFERENCE_MODELS.get(model)


def match_reference(rows: Sequence[ReferenceRow], preset: str, task: str, model: str,
                    split: str) -> ReferenceMatch:
    """The reference row comparable with our (preset, task, model, split), or why there is none."""
    if not rows:
        return ReferenceMatch(None, False, "reference table not found "
                                           f"({REFERENCE_CSV}); nothing to compare with")
    dataset = REFERENCE_DATASETS.get(preset)
    if dataset is None:
        known = ", ".join(f"{k} ({v})" for k, v in REFERENCE_DATASETS.items())
        return ReferenceMatch(None, False, f"the reference has no results on preset {preset!r} "
                                           f"(it reports {known})")
    name = reference_model_name(task, model)
    same = [r for r in rows if r.task == task and r.dataset == dataset and r.base_model == name]
    if name is None or not same:
        return ReferenceMatch(None, False, f"the reference reports no {task.upper()} model "
                                           f"{model!r} on {dataset}")
    exact = [r for r in same if r.split == split]
    if exact:
        return ReferenceMatch(exact[0], True, f"same protocol: {exact[0].protocol}",
                              tuple(r for r in same if r is not exact[0]))
    protocols = "; ".join(sorted({r.protocol for r in same}))
    return ReferenceMatch(None, False,
                          f"protocol differs, not compared: reference {protocols}; this run "
                          f"{PROTOCOL_WORDS.get(split, split)}", tuple(same))


def table46_reference(rows: Sequence[ReferenceRow], dataset: str = "RAVDESS-8"
                      ) -> list[dict]:
    """The reference's Table 4.6: SER models measured both speaker-dependent and -independent.

    In thesis-results.csv these are the "TRILL"/"YAMNet" rows of RAVDESS-8 and their
    "(speaker-independent)" twins; any model with both protocols on ``dataset`` is listed.
    """
    by_model: dict[str, dict[str, ReferenceRow]] = {}
    for r in rows:
        if r.task == "ser" and r.dataset == dataset:
            by_model.setdefault(r.base_model, {})[r.split] = r
    out = []
    for name, both in by_model.items():
        if "random" in both and "speaker" in both:
            dep, ind = both["random"], both["speaker"]
            out.append({"model": name, "dependent": dep.test_mean, "dependent_std": dep.test_std,
                        "independent": ind.test_mean, "independent_std": ind.test_std,
                        "drop": dep.test_mean - ind.test_mean})
    return out
