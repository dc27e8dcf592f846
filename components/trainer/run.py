"""Trainer module: `run_fn` builds the task's model by name, trains, exports.

Pipeline wiring lives in pipeline/pipeline.py; this file never names a
component, and the pipeline never builds a layer.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx_bsl.public import tfxio  # noqa: E402

from components.core.config import Preset  # noqa: E402
from components.core.features import LABEL  # noqa: E402
from components.core.warmup import write_warmup_requests  # noqa: E402
from components.trainer import export, run_files  # noqa: E402
from components.trainer.models.build import build_model  # noqa: E402
from components.trainer.strategy import distribution_strategy  # noqa: E402
from components.transform import preprocessing as pp  # noqa: E402


def _dataset(fn_args, tft_output, files, batch_size):
    return fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=LABEL, shuffle=False, num_epochs=1),
        tft_output.transformed_metadata.schema,
    )


def _split_train(ds, batch_size: int, validation_fraction: float, seed: int):
    """Every k-th train example goes to validation (deterministic, no leak from eval)."""
    if validation_fraction <= 0:
        return ds.shuffle(64, seed=seed).prefetch(tf.data.AUTOTUNE), None
    k = max(2, int(round(1 / validation_fraction)))
    rows = ds.unbatch().enumerate()
    train = rows.filter(lambda i, _: i % k != 0).map(lambda _, xy: xy)
    val = rows.filter(lambda i, _: i % k == 0).map(lambda _, xy: xy)
    train = train.cache().shuffle(4096, seed=seed, reshuffle_each_iteration=True)
    return (train.batch(batch_size).prefetch(tf.data.AUTOTUNE),
            val.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE))


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    config = fn_args.custom_config
    preset = Preset.from_json(config["preset"])
    task = config["task"]
    model_name = preset.train.models[task]
    tf.keras.utils.set_random_seed(preset.train.seed)

    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    names = pp.label_names(tft_output, n_min=len(preset.labels))
    cfg = preset.train
    train_ds, val_ds = _split_train(
        _dataset(fn_args, tft_output, fn_args.train_files, cfg.batch_size),
        cfg.batch_size, cfg.validation_fraction, cfg.seed)

    with distribution_strategy().scope():
        model = build_model(
            task, model_name, len(names),
            tft_output.transformed_feature_spec(), preset.train.model_hparams(),
        )
    model.summary(print_fn=lambda line: print(line))
    # The transformed examples hold every task's features; feed only this model's.
    names_in = list(model.input_names)
    train_ds = train_ds.map(lambda x, y: ({k: x[k] for k in names_in}, y))
    if val_ds is not None:
        val_ds = val_ds.map(lambda x, y: ({k: x[k] for k in names_in}, y))
    epochs = cfg.epochs
    if fn_args.train_steps:
        train_ds = train_ds.repeat()
        steps_per_epoch = max(1, fn_args.train_steps // epochs)
    else:
        steps_per_epoch = None
    callbacks = [tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)]
    if val_ds is not None and cfg.early_stopping_patience:
        callbacks.append(tf.keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=cfg.early_stopping_patience,
            restore_best_weights=True))
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
        verbose=2, callbacks=callbacks,
    )
    run_files.save_history(history, fn_args.model_run_dir)
    run_files.write_model_card(
        fn_args.model_run_dir, {"task": task, "model": model_name, "labels": names})

    signatures = export.make_signatures(model, tft_output, task, names)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
    # TF Serving replays these at load time, so the first real request is not slow.
    write_warmup_requests(fn_args.serving_model_dir, task)
