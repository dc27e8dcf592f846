"""Trainer module: `run_fn` fits the task's model by name (`fit.fit_model`) and exports it.

Pipeline wiring lives in pipeline/pipeline.py; this file never names a
component, and the pipeline never builds a layer.
"""

from __future__ import annotations

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx_bsl.public import tfxio  # noqa: E402

from components.core.config import PresetPart  # noqa: E402
from components.core.features import LABEL  # noqa: E402
from components.trainer import export, run_files  # noqa: E402
from components.trainer.epoch_progress import EpochProgress  # noqa: E402
from components.trainer.fit import carve_validation, fit_model  # noqa: E402
from components.trainer.strategy import distribution_strategy  # noqa: E402
from components.transform import preprocessing as pp  # noqa: E402


def _rows(fn_args, tft_output, files) -> tf.data.Dataset:
    """Unbatched (features, label) rows of transformed examples, in file order."""
    return fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=256, label_key=LABEL, shuffle=False, num_epochs=1),
        tft_output.transformed_metadata.schema,
    ).unbatch()




def run_fn(fn_args: tfx.components.FnArgs) -> None:
    config = fn_args.custom_config
    preset = PresetPart.from_json(config["preset"])  # the fields the pipeline's TRAINER_FIELDS name
    task = config["task"]
    model_name = preset.train.models[task]
    cfg = preset.train.for_task(task)

    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    names = pp.label_names(tft_output, n_min=len(preset.labels))
    train_rows, val_rows = carve_validation(
        _rows(fn_args, tft_output, fn_args.train_files), cfg.validation_fraction,
        cfg.validation_split)
    result = fit_model(
        task, model_name, len(names), tft_output.transformed_feature_spec(), train_rows, cfg,
        validation_rows=val_rows, train_steps=fn_args.train_steps or None,
        strategy=distribution_strategy(),
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
                   EpochProgress(cfg.epochs, cfg.ensemble_size)])
    model = result.model
    model.summary(print_fn=lambda line: print(line))
    run_files.save_history(result.history, fn_args.model_run_dir)
    run_files.write_model_card(fn_args.model_run_dir, {
        "task": task, "model": model_name, "labels": names, "ensemble_size": cfg.ensemble_size,
        "train_examples": result.train_examples, "train_seconds": round(result.seconds, 1)})

    export.export_model(model, tft_output, task, names, fn_args.serving_model_dir)
