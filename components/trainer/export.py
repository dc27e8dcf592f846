"""Serving signatures: the transform graph travels inside the exported model.

`serving_default` takes serialized tf.Examples (what TFMA and batch jobs
send); `predict_raw` takes the raw contract fields a client has: text
strings and/or WAV bytes. Both run the same tf.Transform graph.

`predict_raw` refuses an empty input the task reads (INVALID_ARGUMENT naming it) before the
Transform runs: the Transform reads "" as "no text" / silence so a text-only training example
cannot fail a batch, but a served model that answers "sad 0.55" for no audio at all claims to
know what it cannot. The check is graph ops, so TF Serving and the in-process backend refuse
alike.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from components.core.contract import AUDIO, TEXT
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


_FIX = {TEXT: "send the words that were said (a transcript; `mer predict --audio` can "
                "transcribe speech), or ask the ser model for audio alone",
        AUDIO: "send a 16 kHz mono 16-bit PCM WAV file, or ask the ter model for text alone"}


def require_present(values: tf.Tensor, name: str, task: str) -> tf.Tensor:
    """`values` once every element is non-empty (text: not only whitespace); else the call
    fails with INVALID_ARGUMENT naming the input, the first empty element and the fix."""
    content = tf.strings.strip(values) if name == TEXT else values
    present = tf.strings.length(content) > 0

    def refuse() -> tf.Tensor:
        first = tf.argmax(tf.cast(~present, tf.int32), output_type=tf.int64)
        message = tf.strings.join([
            f"{name} is empty (batch element ", tf.strings.as_string(first), f"); the {task} "
            f"model needs {name}: {_FIX[name]}"])
        with tf.control_dependencies([tf.debugging.Assert(False, [message], summarize=1)]):
            return tf.constant(False)

    passed = tf.cond(tf.reduce_all(present), lambda: tf.constant(True), refuse)
    with tf.control_dependencies([passed]):
        return tf.identity(values)


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
        features = {k: require_present(v, k, task) for k, v in features.items()}
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
