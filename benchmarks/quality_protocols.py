"""Quality benchmark protocols: RAVDESS random/speaker and PsychExp random, run by run.

Why this exists: a protocol fixes the split (seeded stratified 80/20, or actors 19-24 held
out), the train-only scaling and which model sees which arrays; collecting every model's runs
into an :class:`Outcome` per protocol (plus the optimistic ensemble) is what the report reads.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from quality_data import Say, load_psychexp, minilm_embeddings
from quality_models import (
    pool_frames,
    run_baseline,
    run_cnn1d,
    run_cnn2d,
    run_minilm_dense,
    run_minilm_finetune,
    run_minilm_lr,
    run_svc_rbf,
    run_tfidf_dense,
    speaker_normalise,
)

from components.core.model_names import BASELINES

SPEAKER_TEST_ACTORS = (19, 20, 21, 22, 23, 24)


@dataclasses.dataclass
class Settings:
    """Run sizes: ``--quick`` shrinks runs and epochs to fit ~10 min on 2 cores."""

    runs: int
    seed: int
    epochs: dict[str, int]
    batch_size: int = 32
    augment: bool = True
    mel_pool: int = 1  # average log-mel frames in groups of this size before cnn2d (CPU cost)


@dataclasses.dataclass
class Outcome:
    """One model on one protocol: per-run accuracies (%), timings and the test probabilities."""

    protocol: str
    model: str
    # "transductive": uses the test speakers' unlabelled clips; shown, never the headline.
    kind: str  # "baseline", "neural", "extra", "ensemble", "transductive"
    test: list[float] = dataclasses.field(default_factory=list)
    train: list[float] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)
    epochs: Optional[int] = None
    probs: list[np.ndarray] = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def mean(self) -> float:
        return float(np.mean(self.test))

    @property
    def std(self) -> float:
        return float(np.std(self.test))


def _record(outcomes: dict[str, Outcome], protocol: str, model: str, kind: str,
            result: tuple[float, float, np.ndarray], seconds: float, say: Say,
            epochs: Optional[int] = None, note: str = "") -> None:
    out = outcomes.setdefault(model, Outcome(protocol, model, kind, epochs=epochs, note=note))
    train, test, probs = result
    out.train.append(train)
    out.test.append(test)
    out.seconds.append(seconds)
    out.probs.append(probs)
    say(f"  {protocol:<16} {model:<13} test {test:6.2f}%  train {train:6.2f}%  "
        f"{seconds:6.1f} s" + (f"  ({epochs} epochs)" if epochs else ""))


def _timed(fn: Callable[..., tuple[float, float, np.ndarray]], *args, **kwargs):
    t0 = time.time()
    result = fn(*args, **kwargs)
    return result, time.time() - t0


def _ensemble(outcomes: dict[str, Outcome], protocol: str, y_tests: list[np.ndarray]) -> None:
    """Probability average of the best neural model and the best baseline (by mean test %)."""
    neural = [o for o in outcomes.values() if o.kind == "neural"]
    base = [o for o in outcomes.values() if o.kind in ("baseline", "extra")]
    if not neural or not base:
        return
    a = max(neural, key=lambda o: o.mean)
    b = max(base, key=lambda o: o.mean)
    ens = Outcome(protocol, "ensemble", "ensemble", note=f"{a.model} + {b.model} (picked on test)")
    for pa, pb, y, sa, sb in zip(a.probs, b.probs, y_tests, a.seconds, b.seconds, strict=True):
        ens.test.append(100 * float(np.mean(((pa + pb) / 2).argmax(1) == y)))
        ens.seconds.append(sa + sb)
    outcomes["ensemble"] = ens


def bench_ravdess(root: Path, protocol: str, s: Settings, say: Say, models: set[str],
                  data=None) -> dict[str, Outcome]:
    """All SER models on one RAVDESS protocol ("random" or "speaker"), ``s.runs`` runs each."""
    from sklearn.model_selection import train_test_split

    from pipeline.experiments.feature_study_fit import minmax_scale

    features, logmel, y, actors, labels = data
    name = f"ravdess-{protocol}"
    pooled = pool_frames(logmel, s.mel_pool)
    stats = np.concatenate([logmel.mean(axis=1), logmel.std(axis=1)], axis=1)
    outcomes: dict[str, Outcome] = {}
    y_tests = []
    for run in range(s.runs):
        seed = s.seed + run
        idx = np.arange(len(y))
        if protocol == "random":
            tr, te = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
        else:
            held = np.isin(actors, SPEAKER_TEST_ACTORS)
            tr, te = idx[~held], idx[held]
        y_tr, y_te = y[tr], y[te]
        y_tests.append(y_te)
        x_tr, x_te = minmax_scale(features[tr], features[te])
        for b in BASELINES:
            if b in models:
                res, sec = _timed(run_baseline, b, "ser", x_tr, y_tr, x_te, y_te, labels, seed)
                _record(outcomes, name, b, "baseline", res, sec, say)
        if "svc_rbf" in models:
            both = np.concatenate([features, stats], axis=1)
            res, sec = _timed(run_svc_rbf, both[tr], y_tr, both[te], y_te, seed)
            _record(outcomes, name, "svc_rbf", "extra", res, sec, say,
                    note="not in the reference: RBF SVM, 180 feats + log-mel mean/std")
        if "svc_enrolled" in models and protocol == "speaker":
            both = speaker_normalise(np.concatenate([features, stats], axis=1), actors)
            res, sec = _timed(run_svc_rbf, both[tr], y_tr, both[te], y_te, seed)
            _record(outcomes, name, "svc_enrolled", "transductive", res, sec, say,
                    note="svc_rbf on per-speaker z-scored features; needs each test speaker's "
                         "unlabelled clips (enrolment): transductive, not the headline")
        if "cnn1d" in models:
            e = s.epochs["cnn1d"]
            res, sec = _timed(run_cnn1d, x_tr, y_tr, x_te, y_te, len(labels), e,
                              s.batch_size, seed)
            _record(outcomes, name, "cnn1d", "neural", res, sec, say, epochs=e)
        if "cnn2d" in models:
            e = s.epochs["cnn2d"]
            res, sec = _timed(run_cnn2d, pooled[tr], y_tr, pooled[te], y_te, len(labels),
                              e, s.batch_size, seed, s.augment, s.mel_pool)
            _record(outcomes, name, "cnn2d", "neural", res, sec, say, epochs=e,
                    note=f"log-mel {pooled.shape[1]}x{pooled.shape[2]} ({10 * s.mel_pool} ms "
                         f"hop){', augmented' if s.augment else ''}")
    _ensemble(outcomes, name, y_tests)
    return outcomes


def tfidf_vectorizer(max_features: Optional[int] = None):
    """The reference's TF-IDF: word unigrams+bigrams (the setting that mattered most), sublinear
    tf, rare and ubiquitous terms dropped. Stop words are kept: "not", "never" carry emotion."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.95,
                           max_features=max_features)


def bench_psychexp(root: Path, s: Settings, say: Say, models: set[str]) -> dict[str, Outcome]:
    """All TER models on PsychExp random 80/20, ``s.runs`` runs each."""
    from sklearn.model_selection import train_test_split

    texts, y, labels = load_psychexp(root, say)
    emb = minilm_embeddings(texts, say) if models & {"minilm_lr", "minilm_dense"} else None
    name = "psychexp-random"
    arr = np.asarray(texts, dtype=object)
    outcomes: dict[str, Outcome] = {}
    y_tests = []
    for run in range(s.runs):
        seed = s.seed + run
        tr, te = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y,
                                  random_state=seed)
        y_tr, y_te = y[tr], y[te]
        y_tests.append(y_te)
        vec = tfidf_vectorizer()
        x_tr = vec.fit_transform(arr[tr])
        x_te = vec.transform(arr[te])
        for b in BASELINES:
            if b in models:
                res, sec = _timed(run_baseline, b, "ter", x_tr, y_tr, x_te, y_te, labels, seed)
                _record(outcomes, name, b, "baseline", res, sec, say)
        if "tfidf_dense" in models:
            e = s.epochs["tfidf_dense"]
            capped = tfidf_vectorizer(max_features=5000)
            d_tr = capped.fit_transform(arr[tr]).toarray().astype(np.float32)
            d_te = capped.transform(arr[te]).toarray().astype(np.float32)
            res, sec = _timed(run_tfidf_dense, d_tr, y_tr, d_te, y_te, len(labels), e,
                              s.batch_size, seed)
            _record(outcomes, name, "tfidf_dense", "neural", res, sec, say, epochs=e,
                    note="TF-IDF capped at 5000 terms")
        if emb is not None and "minilm_lr" in models:
            res, sec = _timed(run_minilm_lr, emb[tr], y_tr, emb[te], y_te)
            _record(outcomes, name, "minilm_lr", "neural", res, sec, say,
                    note="frozen MiniLM-L6 embeddings + LR (C=10)")
        if emb is not None and "minilm_dense" in models:
            e = s.epochs["minilm_dense"]
            res, sec = _timed(run_minilm_dense, emb[tr], y_tr, emb[te], y_te,
                              len(labels), e, s.batch_size, seed)
            _record(outcomes, name, "minilm_dense", "neural", res, sec, say, epochs=e,
                    note="frozen encoder, head on cached embeddings")
        if "minilm_finetune" in models:
            e = s.epochs["minilm_finetune"]
            res, sec = _timed(run_minilm_finetune, arr[tr].astype(str), y_tr, arr[te].astype(str),
                              y_te, len(labels), e, s.batch_size, seed)
            _record(outcomes, name, "minilm_finetune", "neural", res, sec, say, epochs=e,
                    note="MiniLM-L6 fine-tuned end to end (lr 5e-5, 64 tokens)")
    _ensemble(outcomes, name, y_tests)
    return outcomes
