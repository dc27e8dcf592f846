"""Builds a task model by name: encoders from models.encoders plus one head."""

from __future__ import annotations

import tensorflow as tf

from components.core import model_names
from components.trainer.models import encoders

keras = tf.keras

def parse_model_name(task: str, name: str) -> tuple[list[str], list[str]]:
    """(text encoder names, audio encoder names) for a task's model name: the core's one
    parser (`components.core.model_names`), checked against this zoo's registries."""
    texts, audios = model_names.parse_model_name(task, name)
    for text in texts:
        _check(text, encoders.TEXT_ENCODERS, task, name)
    for audio in audios:
        _check(audio, encoders.AUDIO_ENCODERS, task, name)
    return texts, audios


def _check(part: str, registry: dict, task: str, name: str) -> None:
    if part not in registry:
        raise ValueError(
            f"Unknown {task} model {name!r}: {part!r} is not one of {sorted(registry)}."
        )


def _encoders(task: str, name: str) -> list[str]:
    text_names, audio_names = parse_model_name(task, name)
    return text_names + audio_names


def required_features(task: str, name: str) -> tuple[str, ...]:
    """Transformed features a model reads (so the Transform computes only those)."""
    text_names, audio_names = parse_model_name(task, name)
    parts = [encoders.TEXT_ENCODERS[n] for n in text_names] + [
        encoders.AUDIO_ENCODERS[n] for n in audio_names]
    return tuple(sorted({f for _, feats in parts for f in feats}))


def required_handles(task: str, name: str) -> tuple[str, ...]:
    """Hub handle names a model loads: what must be reachable, or overridden, to build it."""
    return tuple(h for enc in _encoders(task, name) for h in encoders.ENCODER_HANDLES.get(enc, ()))


def build_model(
    task: str, name: str, n_classes: int, feature_spec: dict, hp: dict
) -> keras.Model:
    """Keras functional model over transformed features -> class probabilities."""
    text_names, audio_names = parse_model_name(task, name)
    parts = [encoders.TEXT_ENCODERS[n] for n in text_names] + [
        encoders.AUDIO_ENCODERS[n] for n in audio_names
    ]
    needed = sorted({f for _, feats in parts for f in feats})
    missing = [f for f in needed if f not in feature_spec]
    if missing:
        raise ValueError(
            f"{task} model {name!r} reads transformed features {missing}, which the Transform "
            f"did not produce (it has {sorted(feature_spec)}); the pipeline requests them from "
            f"required_features(), so the Transform output is from another configuration.")
    inputs = {
        f: keras.layers.Input(shape=feature_spec[f].shape, name=f, dtype=feature_spec[f].dtype)
        for f in needed
    }
    vectors = [fn(inputs, hp) for fn, _ in parts]
    if len(vectors) == 1:
        x = vectors[0]
    else:
        # Early fusion: one hidden layer over both modalities lets the head
        # learn interactions (e.g. which modality to trust for which class).
        x = keras.layers.Concatenate(name="fusion")(vectors)
        x = keras.layers.Dropout(hp["dropout"], name="fusion_dropout")(x)
        x = keras.layers.Dense(hp["hidden_units"], activation="relu", name="fusion_dense")(x)
    x = keras.layers.Dropout(hp["dropout"], name="head_dropout")(x)
    # float32 softmax even under a mixed-precision policy (float16 probabilities underflow).
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities",
                                 dtype="float32")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name=f"{task}_{name.replace('+', '_')}")
    model.compile(
        optimizer=keras.optimizers.Adam(hp["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model
