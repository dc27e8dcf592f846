"""The one training path: fit a named model on one split of the Transform's output.

The Trainer's `run_fn`, the model and feature studies (`mer experiment ...`) and
`benchmarks/quality.py` all call `fit_model`, so a figure a study reports is what the Trainer
pushes for the same split, seed and configuration: the same validation carve-out, early
stopping, schedule, augmentation, seeds and (for `ensemble_size > 1`) the same averaged model.

Inputs are tf.data datasets of unbatched `(features, label)` rows of the transformed examples
(all features of the split; each model is fed only the ones it reads).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Mapping, Optional, Sequence

import tensorflow as tf

from components.core import carve_out
from components.core import features as ft
from components.core.config import TrainConfig
from components.core.metrics import KERAS_ACCURACY
from components.trainer import augment as aug
from components.trainer.models.build import build_model

keras = tf.keras

ACCURACY = KERAS_ACCURACY  # history keys: loss, accuracy, val_loss, val_accuracy
SHUFFLE_BUFFER = 4096


@dataclasses.dataclass
class FitResult:
    """What a fit produced: the model to export and how training went."""

    model: keras.Model  # one member, or the members' average (same inputs, one output)
    histories: list[dict[str, list[float]]]  # per member: loss, accuracy, val_loss, val_accuracy
    seconds: float
    train_examples: int

    @property
    def history(self) -> dict[str, list[float]]:
        """The first member's curves (what the run report plots)."""
        return self.histories[0]


def carve_validation(rows: tf.data.Dataset, fraction: float, split: str = "rows"
                     ) -> tuple[tf.data.Dataset, Optional[tf.data.Dataset]]:
    """The carve-out (`components.core.carve_out`) of a tf.data stream: (train, validation);
    validation is None when `fraction` is 0. `split` is `train.validation_split`: "rows" holds
    out every k-th row, "speakers" every row of the held-out train speakers."""
    k = carve_out.period(fraction)
    if not k:
        return rows, None
    if split == "speakers":
        return _carve_speakers(rows, fraction)
    indexed = rows.enumerate()
    train = indexed.filter(lambda i, _: i % k != 0).map(lambda _, row: row)
    val = indexed.filter(lambda i, _: i % k == 0).map(lambda _, row: row)
    return train, val


def _speaker(x: dict) -> tf.Tensor:
    return tf.reshape(x[ft.SPEAKER], [-1])[0]


def _carve_speakers(rows: tf.data.Dataset, fraction: float
                    ) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    if ft.SPEAKER not in rows.element_spec[0]:
        raise ValueError(
            f"train.validation_split 'speakers' needs the speaker ids the Transform passes "
            f"through as {ft.SPEAKER!r}; these transformed examples have none (features: "
            f"{sorted(rows.element_spec[0])}): rerun the Transform, or use 'rows'")
    seen = [s.decode() for s in rows.map(lambda x, _: _speaker(x)).as_numpy_iterator()]
    held = carve_out.held_out_speakers(seen, fraction)
    table = tf.constant(list(held))

    def held_out(x: dict, _) -> tf.Tensor:
        return tf.reduce_any(tf.equal(_speaker(x), table))

    n_val = sum(s in held for s in seen)
    print(f"validation carve-out: speakers {', '.join(held)} held out ({n_val} of {len(seen)} "
          f"train rows); training on {len(set(seen) - set(held))} speakers")
    return (rows.filter(lambda x, y: tf.logical_not(held_out(x, y))), rows.filter(held_out))


def _learning_rate(cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, max(1, total_steps))
    if cfg.schedule == "one_cycle":
        warmup = max(1, int(0.3 * total_steps))
        return keras.optimizers.schedules.CosineDecay(
            cfg.learning_rate / 25.0, max(1, total_steps - warmup),
            warmup_target=cfg.learning_rate, warmup_steps=warmup)
    return cfg.learning_rate


def _feed(rows: tf.data.Dataset, inputs: Sequence[str], n_classes: int) -> tf.data.Dataset:
    """Only the model's inputs, labels one-hot (label smoothing and mixup need soft labels)."""
    return rows.map(lambda x, y: ({k: x[k] for k in inputs},
                                  tf.one_hot(tf.cast(tf.reshape(y, []), tf.int32), n_classes)),
                    num_parallel_calls=tf.data.AUTOTUNE)


LENGTH_BUCKET_WORDS = 4  # texts of 0-3, 4-7, ... words share batches
LENGTH_BUCKETS = 16  # the last bucket holds every text of 60 words or more


def _grouped(cfg: TrainConfig, inputs: Sequence[str]) -> bool:
    return cfg.group_by_length and ft.TEXT_RAW in inputs


def _length_bucket(x: dict, _) -> tf.Tensor:
    words = tf.size(tf.strings.split(tf.reshape(x[ft.TEXT_RAW], [-1])[0]))
    return tf.cast(tf.minimum(words // LENGTH_BUCKET_WORDS, LENGTH_BUCKETS - 1), tf.int64)


def train_batches(rows: tf.data.Dataset, cfg: TrainConfig, inputs: Sequence[str]
                  ) -> tf.data.Dataset:
    """Batches of shuffled rows; with `cfg.group_by_length` (and a model reading `text_raw`)
    each batch holds texts of one length bucket, so `TrimPadding` cuts it to short texts. The
    buckets fill from the shuffled stream, so batch order stays random and every row is seen
    once an epoch (each bucket's last, partial batch is flushed at the end)."""
    if not _grouped(cfg, inputs):
        return rows.batch(cfg.batch_size)
    return rows.group_by_window(_length_bucket, lambda _, bucket: bucket.batch(cfg.batch_size),
                                window_size=cfg.batch_size)


def _count(rows: tf.data.Dataset) -> int:
    return int(rows.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1).numpy())


def average_members(members: Sequence[keras.Model], name: str) -> keras.Model:
    """One model whose output is the mean of the members' probabilities (one graph to export)."""
    if len(members) == 1:
        return members[0]
    first = members[0]
    for i, member in enumerate(members):
        member._name = f"{name}_member{i}"  # sub-model names must be unique in one graph
    inputs = {k: keras.Input(shape=t.shape[1:], dtype=t.dtype, name=k)
              for k, t in zip(first.input_names, first.inputs, strict=True)}
    outputs = [m(inputs) for m in members]
    mean = keras.layers.Average(name="probabilities")(outputs)
    return keras.Model(inputs=inputs, outputs=mean, name=name)


def fit_model(
    task: str,
    model_name: str,
    n_classes: int,
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    train_rows: tf.data.Dataset,
    cfg: TrainConfig,
    *,
    validation_rows: Optional[tf.data.Dataset] = None,
    train_steps: Optional[int] = None,
    strategy: Optional[tf.distribute.Strategy] = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
) -> FitResult:
    """Builds `model_name` for `task`, trains it (or `cfg.ensemble_size` seeds of it), returns it.

    `train_rows` / `validation_rows` are unbatched `(features, label)` rows; pass the train
    split through `carve_validation` first to get both. With validation rows, early stopping
    (`cfg.early_stopping_patience`) restores the best epoch's weights. `train_steps` (TFX's
    TrainArgs) overrides epochs x rows with a fixed number of steps.
    """
    strategy = strategy or tf.distribute.get_strategy()
    started = time.time()
    members, histories = [], []
    n_train = None
    for member in range(cfg.ensemble_size):
        seed = cfg.seed + member
        keras.utils.set_random_seed(seed)
        with strategy.scope():
            model = build_model(task, model_name, n_classes, feature_spec, cfg.model_hparams())
        inputs = list(model.input_names)
        augment = aug.make_augment(cfg.augment, feature_spec, inputs, cfg.mixup_alpha)
        train = _feed(train_rows, inputs, n_classes).cache()
        if n_train is None:
            n_train = _count(train)
        shuffled = train.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        batches = train_batches(shuffled, cfg, inputs)
        steps_per_epoch = max(1, math.ceil(n_train / cfg.batch_size))
        if _grouped(cfg, inputs):  # each bucket ends an epoch with its own partial batch
            steps_per_epoch = _count(batches)
        epochs = cfg.epochs
        if train_steps:
            steps_per_epoch = max(1, train_steps // epochs)
        if cfg.augment:
            # One batch at a time: the augmentations draw from seeded stateful generators, and
            # parallel calls would hand the draws to batches in thread order, so the same seed
            # would train a different model on every run (the prefetch below still overlaps it
            # with the training step).
            batches = batches.map(augment)
        if train_steps:
            batches = batches.repeat()
        batches = batches.prefetch(tf.data.AUTOTUNE)
        val = None
        if validation_rows is not None:
            val = (_feed(validation_rows, inputs, n_classes).batch(cfg.batch_size).cache()
                   .prefetch(tf.data.AUTOTUNE))
        with strategy.scope():
            model.compile(
                optimizer=keras.optimizers.Adam(_learning_rate(cfg, epochs * steps_per_epoch)),
                loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
                metrics=[keras.metrics.CategoricalAccuracy(name=ACCURACY)])
        member_callbacks = list(callbacks)
        if val is not None and cfg.early_stopping_patience:
            member_callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=cfg.early_stopping_patience,
                restore_best_weights=True))
        history = model.fit(batches, validation_data=val, epochs=epochs,
                            steps_per_epoch=steps_per_epoch if train_steps else None,
                            callbacks=member_callbacks, verbose=verbose)
        members.append(model)
        histories.append({k: [float(v) for v in vs] for k, vs in history.history.items()})
    name = f"{task}_{model_name.replace('+', '_')}"
    model = average_members(members, f"{name}_ensemble")
    # The exported model is compiled for what everyone else feeds it: integer labels. TFMA
    # computes a Keras model's compiled metrics on the eval split, and the one-hot loss used
    # for training (label smoothing, mixup) would fail on integer labels there.
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                      loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
    return FitResult(model=model, histories=histories, seconds=time.time() - started,
                     train_examples=int(n_train or 0))
