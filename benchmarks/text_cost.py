"""What fine-tuning a text model costs per step on this machine, on real PsychExp texts.

Why: a full PsychExp fine-tuning run of a BERT-base-sized encoder takes hours on two CPU cores,
so its cost is measured over a few steps and extrapolated to an epoch instead. Each model is
built as the Trainer builds it (`build_model` with the psychexp preset's hyperparameters) and
trained with `train_on_batch` on random batches of PsychExp texts; two warm-up steps are not
timed. All models of one call run in the same process, so their ratios are comparable even
on a loaded machine. Batches come from the Trainer's own batching (`fit.train_batches` over the
shuffled train texts). ``NAME:notrim`` times a model without `TrimPadding` (texts padded to the
full `seq_length`), to show what trimming saves; ``NAME:grouped`` / ``NAME:random`` time it
with `train.group_by_length` on / off (otherwise the preset's setting); ``NAME:topN`` with
only the encoder's top N blocks fine-tuned (`train.fine_tune_layers`).

Usage: ``python benchmarks/text_cost.py minilm_dense,mpnet_dense,mpnet_bilstm [--steps 5]``
(``minilm_dense:random,minilm_dense:grouped --steps 40`` for what grouping saves,
``mpnet_dense:grouped+top4`` for a partly fine-tuned MPNet; options join with ``+``)
(from the repository root; the PsychExp data beside the checkout).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import numpy as np  # noqa: E402

from pipeline.configs import SHARED_DATASETS, get_preset  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    import pandas as pd
    import tensorflow as tf

    from components.core import carve_out
    from components.trainer import fit
    from components.trainer.models import build, hub_layers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", help="comma-separated TER model names "
                        "(NAME:notrim, NAME:grouped, NAME:random, NAME:topN too; join with +)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model")
    parser.add_argument("--csv", default=str(SHARED_DATASETS / "psychexp" / "psychexp.csv"))
    args = parser.parse_args(argv)
    texts = pd.read_csv(args.csv)["text"].astype(str).tolist()
    cfg = get_preset("psychexp").train.for_task("ter")
    k = carve_out.period(cfg.validation_fraction)
    n_train = int(len(texts) * 0.8 * (1 - 1 / k)) if k else int(len(texts) * 0.8)
    rng = np.random.default_rng(0)
    rows = tf.data.Dataset.from_tensor_slices(
        ({"text_raw": [texts[i] for i in rng.permutation(len(texts))[:n_train]]},
         rng.integers(0, 7, n_train)))
    trim = hub_layers.TrimPadding.call
    spec = {"text_raw": tf.io.FixedLenFeature([], tf.string)}
    for name in args.models.split(","):
        model_name, _, option = name.partition(":")
        options = set(option.split("+")) - {""}
        hub_layers.TrimPadding.call = trim if "notrim" not in options else (lambda self, x: x)
        variant = cfg
        if options & {"grouped", "random"}:
            variant = dataclasses.replace(variant, group_by_length="grouped" in options)
        for top in [o for o in options if o.startswith("top")]:
            variant = dataclasses.replace(variant, fine_tune_layers=int(top[3:]))
        tf.keras.backend.clear_session()
        model = build.build_model("ter", model_name, 7, spec, variant.model_hparams())
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        batches = fit.train_batches(rows.shuffle(len(texts), seed=0), variant, ["text_raw"])
        steps_per_epoch = sum(1 for _ in batches)
        for i, (batch, labels) in enumerate(batches.take(args.steps + 2)):
            if i == 2:
                started = time.perf_counter()
            model.train_on_batch(batch, labels)
        per_step = (time.perf_counter() - started) / args.steps
        print(f"{name}: {per_step:.2f} s/step (batch {cfg.batch_size}, seq_length "
              f"{cfg.seq_length}), about {per_step * steps_per_epoch / 60:.1f} min per epoch "
              f"of {n_train} texts ({steps_per_epoch} steps); {trainable / 1e6:.1f} M trainable",
              flush=True)
    hub_layers.TrimPadding.call = trim
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
