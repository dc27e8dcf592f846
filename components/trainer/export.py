"""Serving signatures: the transform graph travels inside the exported model.

`serving_default` takes serialized tf.Examples (what TFMA and batch jobs
send); `predict_raw` takes the raw contract fields a client has: text
strings and/or WAV bytes. Both run the same tf.Transform graph.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from components.core.signatures import (
    EMOTIONS,
    EXAMPLES_INPUT,
    PROBABILITIES,
    RAW_SIGNATURE,
    SERVING_DEFAULT,
)
from components.core.tasks import TASK_INPUTS


def _outputs(model, transformed: dict, names: list[str]) -> dict:
    probs = model({k: transformed[k] for k in model.input_names})
    table = tf.constant(names)
    emotions = tf.tile(table[tf.newaxis, :], [tf.shape(probs)[0], 1])
    return {PROBABILITIES: probs, EMOTIONS: emotions}


def make_signatures(
    model, tft_output: tft.TFTransformOutput, task: str, names: list[str]
) -> dict:
    model.tft_layer = tft_output.transform_features_layer()
    needed = TASK_INPUTS[task]
    raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items() if k in needed}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)])
    def serve_examples(serialized):
        parsed = tf.io.parse_example(serialized, raw_spec)
        return _outputs(model, model.tft_layer(parsed), names)

    def _raw(**features):
        batched = {k: tf.reshape(v, [-1, 1]) for k, v in features.items()}
        return _outputs(model, model.tft_layer(batched), names)

    spec = {k: tf.TensorSpec([None], tf.string, name=k) for k in needed}
    if task == "ter":
        serve_raw = tf.function(lambda text: _raw(text=text), input_signature=[spec["text"]])
    elif task == "ser":
        serve_raw = tf.function(lambda audio: _raw(audio=audio), input_signature=[spec["audio"]])
    else:
        serve_raw = tf.function(
            lambda text, audio: _raw(text=text, audio=audio),
            input_signature=[spec["text"], spec["audio"]],
        )
    return {
        SERVING_DEFAULT: serve_examples.get_concrete_function(),
        RAW_SIGNATURE: serve_raw.get_concrete_function(),
    }


def export_model(model, tft_output: tft.TFTransformOutput, task: str, names: list[str],
                 serving_model_dir: str) -> None:
    """Saves `model` with both signatures and the TF Serving warm-up records: what run_fn
    pushes, and what a study or test exports to get the same served model."""
    from components.core.warmup import write_warmup_requests

    model.save(serving_model_dir, save_format="tf",
               signatures=make_signatures(model, tft_output, task, names))
    # TF Serving replays these at load time, so the first real request is not slow.
    write_warmup_requests(serving_model_dir, task)
