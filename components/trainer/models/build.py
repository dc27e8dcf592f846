"""Builds a task model by name: encoders from models.encoders plus one head."""

from __future__ import annotations

import tensorflow as tf

from components.trainer.models import encoders

keras = tf.keras

# Model names per task (the design card's names). A TER or SER name is an encoder plus the
# head (TER may fuse text encoders: `minilm+tfidf`); MER names are `TEXT+AUDIO`, where each
# side is an encoder's short name (`electra`, `yamnet`) or its single-task name
# (`electra_dense`, `yamnet_lstm`).
_TER_ALIASES = {"tfidf_dense": "tfidf", "minilm_dense": "minilm", "bert_bilstm": "bert",
                "electra_dense": "electra"}
_SER_ALIASES = {"yamnet_lstm": "yamnet", "trill_lstm": "trill"}


def parse_model_name(task: str, name: str) -> tuple[list[str], list[str]]:
    """Returns (text encoder names, audio encoder names) for a task's model name."""
    if task == "ter":
        # `minilm+tfidf`: several text encoders fused like MER's two modalities.
        texts = [_TER_ALIASES.get(part, part) for part in name.split("+")]
        for text in texts:
            _check(text, encoders.TEXT_ENCODERS, task, name)
        if len(set(texts)) != len(texts):
            raise ValueError(f"TER model {name!r} names an encoder twice")
        return texts, []
    if task == "ser":
        audio = _SER_ALIASES.get(name, name)
        _check(audio, encoders.AUDIO_ENCODERS, task, name)
        return [], [audio]
    if task == "mer":
        if "+" not in name:
            raise ValueError(f"MER model names are TEXT+AUDIO (e.g. tfidf+cnn1d), got {name!r}")
        text, audio = name.split("+", 1)
        text = _TER_ALIASES.get(text, text)
        audio = _SER_ALIASES.get(audio, audio)
        _check(text, encoders.TEXT_ENCODERS, task, name)
        _check(audio, encoders.AUDIO_ENCODERS, task, name)
        return [text], [audio]
    raise ValueError(f"Unknown task {task!r}; tasks are ter, ser, mer.")


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
