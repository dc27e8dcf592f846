"""Quality benchmark: test accuracy of the baselines and offline models against the reference.

Why: the model zoo (issue 4) is only worth shipping if it reaches the reference thesis' accuracy
on the same protocols, and if the four baselines, which are the same algorithms with the same
hyperparameters, land within 2 points of the reference's numbers. This script measures that on
``../shared/datasets`` and prints our numbers beside ``thesis-results.csv``.

Protocols (all 80/20, test accuracy of the *final* model: no early stopping on the test split):

* ``ravdess-random``: RAVDESS speech, 8 classes, stratified random split seeded per run
  (speaker-dependent: the reference's protocol).
* ``ravdess-speaker``: RAVDESS speaker-independent, actors 19-24 held out (the issue's prototype
  protocol; fixed split, so runs differ only by model seed). The reference reports this protocol
  only for TRILL/YAMNet, which we cannot run offline; those rows are shown for context.
* ``psychexp-random``: PsychExp text, 7 classes, stratified random split seeded per run (the
  dataset's own ``split`` column is ignored, as the reference re-split it).

Models:

* Baselines ``linsvm``, ``rf``, ``mnb``, ``lr`` through ``components.baselines`` with the
  reference's hyperparameters: on the 180 in-graph utterance features min-max scaled with train
  statistics (SER), on TF-IDF unigrams+bigrams fitted on the train split (TER).
* ``svc_rbf`` (SER, not in the reference): an RBF SVM on standardised 180 features + mean/std of
  the log-mel frames, C chosen by 5-fold CV on the train split; a cheap, strong classical model to
  anchor the neural numbers.
* ``svc_enrolled`` (SER, speaker protocol only, not in the reference): ``svc_rbf`` on features
  z-scored per speaker with that speaker's own clips. For held-out speakers that uses their
  unlabelled clips (enrolment), so it is transductive: shown in the table, never the headline.
* ``cnn1d`` / ``cnn2d`` (SER) built by ``components.trainer.models.build.build_model``; ``cnn2d``
  trains on log-mel [frames, 64] with augmentation (gain, time shift, noise, SpecAugment masks).
* ``tfidf_dense`` (TER) built by ``build_model`` over a capped TF-IDF vocabulary.
* ``minilm_lr`` / ``minilm_dense`` (TER): the offline MiniLM-L6 encoder, frozen; its mean-pooled
  embeddings are computed once and cached, then a logistic regression or ``minilm_dense``'s head
  (dropout -> dense -> dropout -> softmax, the same layers ``build_model`` puts on the frozen
  encoder) is trained on them. Equivalent to training ``minilm_dense`` with a frozen encoder, at a
  fraction of the cost (the encoder runs once instead of once per epoch).
* ``minilm_finetune`` (TER; in the full run, not in ``--quick``; ~5 min a run): the same
  ``minilm_dense`` with the encoder trained too (``fine_tune_encoders=True``), 2 epochs.
* ``ensemble``: probability average of the best neural model and the best baseline of a
  protocol (both chosen by mean test accuracy, so it is an optimistic pick; said in the table).

Features and embeddings are cached under ``artifacts/benchmarks/quality/`` so reruns skip them.

Usage: ``python benchmarks/quality.py [--quick] [--runs N] [--epochs E]``. Output ends with
``ravdess_random_acc: X``, ``ravdess_speaker_acc: X``, ``psychexp_random_acc: X`` (best model of
each protocol, test accuracy in %).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from quality_data import DEFAULT_REFERENCE, load_ravdess  # noqa: E402
from quality_protocols import Outcome, Settings, bench_psychexp, bench_ravdess  # noqa: E402
from quality_report import best, read_reference, table_lines  # noqa: E402

from components.core.model_names import BASELINES  # noqa: E402
from pipeline.configs import SHARED_DATASETS  # noqa: E402

NEURAL = ("cnn1d", "cnn2d", "tfidf_dense", "minilm_dense", "minilm_lr")
DEFAULT_MODELS = BASELINES + ("svc_rbf", "svc_enrolled") + NEURAL


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point; returns the exit status (0 also when the datasets are absent)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, default=SHARED_DATASETS)
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    p.add_argument("--quick", action="store_true",
                   help="1 run, fewer epochs (~10 min on 2 shared cores once cached)")
    p.add_argument("--runs", type=int, default=None, help="runs per model (default 3; quick 1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the epochs of every neural model")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-augment", action="store_true", help="train cnn2d without augmentation")
    p.add_argument("--mel-pool", type=int, default=None,
                   help="average cnn2d log-mel frames in groups of N (default 2; quick 3)")
    p.add_argument("--protocols", default="ravdess-random,ravdess-speaker,psychexp-random")
    p.add_argument("--models", default="",
                   help=f"comma-separated (default: {','.join(DEFAULT_MODELS)}, plus "
                        "minilm_finetune without --quick)")
    args = p.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    if not args.data_root.is_dir():
        say(f"quality benchmark skipped: datasets folder {args.data_root} is absent")
        return 0
    epochs = ({"cnn1d": 40, "cnn2d": 30, "tfidf_dense": 8, "minilm_dense": 40,
               "minilm_finetune": 2} if args.quick
              else {"cnn1d": 100, "cnn2d": 60, "tfidf_dense": 15, "minilm_dense": 100,
                    "minilm_finetune": 2})
    if args.epochs:
        epochs = {k: args.epochs for k in epochs}
    runs = args.runs or (1 if args.quick else 3)
    s = Settings(runs=runs, seed=args.seed, epochs=epochs, augment=not args.no_augment,
                 mel_pool=args.mel_pool or (3 if args.quick else 2))
    models = set(args.models.split(",")) if args.models else set(DEFAULT_MODELS)
    if not args.models and not args.quick:
        models.add("minilm_finetune")  # ~5 min a run: in the full benchmark, not in --quick
    protocols = [x for x in args.protocols.split(",") if x]
    started = time.time()
    results: dict[str, dict[str, Outcome]] = {}
    ravdess_root = args.data_root / "ravdess"
    psychexp_root = args.data_root / "psychexp"
    if any(x.startswith("ravdess") for x in protocols):
        if ravdess_root.is_dir():
            data = load_ravdess(ravdess_root, say)
            for x in ("random", "speaker"):
                if f"ravdess-{x}" in protocols:
                    results[f"ravdess-{x}"] = bench_ravdess(ravdess_root, x, s, say, models, data)
        else:
            say(f"skipping RAVDESS: {ravdess_root} is absent")
    if "psychexp-random" in protocols:
        if psychexp_root.is_dir():
            results["psychexp-random"] = bench_psychexp(psychexp_root, s, say, models)
        else:
            say(f"skipping PsychExp: {psychexp_root} is absent")
    if not results:
        say("quality benchmark skipped: no dataset found")
        return 0
    say("")
    for line in table_lines(results, read_reference(args.reference), s):
        say(line)
    say(f"wall time: {time.time() - started:.0f} s; epochs {epochs}; cnn2d augmentation "
        f"{'on' if s.augment else 'off'}, log-mel pool {s.mel_pool}")
    for protocol, key in (("ravdess-random", "ravdess_random_acc"),
                          ("ravdess-speaker", "ravdess_speaker_acc"),
                          ("psychexp-random", "psychexp_random_acc")):
        value = f"{best(results[protocol]):.2f}" if protocol in results else "nan"
        say(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
