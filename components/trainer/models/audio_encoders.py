"""Speech encoders over frame-level inputs: CNNs on log-mel, YAMNet and TRILL + LSTMs.

Head-less like every encoder in ``encoders``: transformed features in, one vector out.
"""

from __future__ import annotations

import tensorflow as tf

from components.core import features as ft
from components.core.contract import SAMPLE_RATE  # the waveform rate YAMNet and TRILL expect
from components.trainer.models.hub_layers import PerExample, hub_layer

keras = tf.keras

YAMNET_EMBEDDING = 1024
TRILL_EMBEDDING = 512
CNN2D_FILTERS = (32, 64)  # per block


def cnn2d(inputs: dict, hp: dict) -> tf.Tensor:
    """log-mel [frames, 64] -> two blocks of two 3x3 convolutions -> dense (reference SER CNN).

    Batch normalisation after each block and global average pooling keep it small (~75 k
    weights) and independent of clip length, which matters with ~1 k training clips.
    """
    x = inputs[ft.LOG_MEL]
    x = keras.layers.Reshape((-1, x.shape[-1], 1), name="cnn2d_channel")(x)
    for block, filters in enumerate(CNN2D_FILTERS, start=1):
        for conv in (1, 2):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                    name=f"cnn2d_block{block}_conv{conv}")(x)
        x = keras.layers.BatchNormalization(name=f"cnn2d_block{block}_bn")(x)
        x = keras.layers.MaxPooling2D(2, name=f"cnn2d_block{block}_pool")(x)
        x = keras.layers.Dropout(hp["dropout"] / 2, name=f"cnn2d_block{block}_dropout")(x)
    x = keras.layers.GlobalAveragePooling2D(name="cnn2d_pool")(x)
    x = keras.layers.Dropout(hp["dropout"], name="cnn2d_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="cnn2d_dense")(x)


TDNN_LAYERS = ((128, 5, 1), (128, 3, 2), (128, 3, 3), (256, 1, 1))  # (filters, kernel, dilation)


@keras.utils.register_keras_serializable(package="mer")
class StatisticsPooling(keras.layers.Layer):
    """[B, T, C] -> [B, 2C]: mean and standard deviation over time (x-vector pooling).

    The deviation is sqrt(max(E[x^2] - E[x]^2, 0) + eps): tf.math.reduce_std's gradient is
    NaN where a channel is constant over time (a dead ReLU), which stops training at once.
    """

    def call(self, x: tf.Tensor) -> tf.Tensor:
        mean = tf.reduce_mean(x, axis=1)
        var = tf.nn.relu(tf.reduce_mean(tf.square(x), axis=1) - tf.square(mean))
        return tf.concat([mean, tf.sqrt(var + 1e-6)], axis=1)


def tdnn(inputs: dict, hp: dict) -> tf.Tensor:
    """log-mel [frames, 64] -> dilated 1D convolutions over time -> statistics pooling -> dense.

    A time-delay network (x-vector style): each layer sees a wider context (dilations 1, 2,
    3 give ~0.15 s at the 10 ms hop), batch norm keeps it trainable on ~1 k clips, and mean +
    standard deviation over time summarise the clip whatever its length. ~200 k weights, and
    about 40 MFLOP per 3 s clip, so it trains in minutes on CPUs.
    """
    x = inputs[ft.LOG_MEL]
    for i, (filters, kernel, dilation) in enumerate(TDNN_LAYERS, start=1):
        x = keras.layers.Conv1D(filters, kernel, dilation_rate=dilation, padding="same",
                                use_bias=False, name=f"tdnn_conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"tdnn_bn{i}")(x)
        x = keras.layers.ReLU(name=f"tdnn_relu{i}")(x)
    x = StatisticsPooling(name="tdnn_stats")(x)
    x = keras.layers.Dropout(hp["dropout"], name="tdnn_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="tdnn_dense")(x)


@keras.utils.register_keras_serializable(package="mer")
class UtteranceNorm(keras.layers.Layer):
    """[B, T, F] -> each clip's frames with zero mean and unit variance over its frames.

    Per-utterance mean/variance normalisation inside the exported graph, computed at serving
    from the request alone: the level of the recording and of the voice go, how the spectrum
    moves stays. `per_band` normalises each band on its own (CMVN: also removes the clip's
    spectral envelope, the microphone and much of the vocal tract, but with them the spectral
    tilt that says how aroused a speaker is); otherwise one mean and variance over all frames
    and bands keep the bands' relative levels. `reslstm` uses the latter, which scored higher on
    a RAVDESS speaker fold (docs/models.md, issue 19).
    """

    def __init__(self, per_band: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.per_band = per_band

    def call(self, x: tf.Tensor) -> tf.Tensor:
        axes = [1] if self.per_band else [1, 2]
        mean = tf.reduce_mean(x, axis=axes, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), axis=axes, keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + 1e-5)

    def get_config(self) -> dict:
        return {**super().get_config(), "per_band": self.per_band}


@keras.utils.register_keras_serializable(package="mer")
class AttentivePooling(keras.layers.Layer):
    """[B, T, C] -> [B, 2C]: attention-weighted mean and standard deviation over time.

    One learned score per frame (a small tanh layer), softmax over time: the clip is summarised
    by its emotional frames rather than equally by every frame, pauses and padding included.
    """

    def __init__(self, units: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.score = keras.layers.Dense(1)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        w = tf.nn.softmax(self.score(self.hidden(x)), axis=1)  # [B, T, 1]
        mean = tf.reduce_sum(w * x, axis=1)
        var = tf.nn.relu(tf.reduce_sum(w * tf.square(x), axis=1) - tf.square(mean))
        return tf.concat([mean, tf.sqrt(var + 1e-6)], axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


RESLSTM_CHANNELS = 48


def reslstm(inputs: dict, hp: dict) -> tf.Tensor:
    """log-mel [frames, 64] -> utterance norm -> residual conv blocks -> residual LSTM ->
    attentive pooling -> dense (ResLSTM-SA style, ~60 k weights).

    Small on purpose: ~1 k training clips from 20 actors. A stride-2 convolution and two
    stride-2 poolings bring 3 s to 38 steps of 80 ms (cheap on CPUs); the residual connections
    let the LSTM add to the convolutions' features rather than replace them.
    """
    c, units = RESLSTM_CHANNELS, int(hp.get("lstm_units", 64))
    x = UtteranceNorm(name="reslstm_norm")(inputs[ft.LOG_MEL])
    x = keras.layers.Conv1D(c, 5, strides=2, padding="same", use_bias=False,
                            name="reslstm_conv0")(x)
    x = keras.layers.BatchNormalization(name="reslstm_bn0")(x)
    x = keras.layers.ReLU(name="reslstm_relu0")(x)
    x = keras.layers.MaxPooling1D(2, name="reslstm_pool0")(x)
    y = x
    for i in (1, 2):
        y = keras.layers.Conv1D(c, 3, padding="same", use_bias=False, name=f"reslstm_conv{i}")(y)
        y = keras.layers.BatchNormalization(name=f"reslstm_bn{i}")(y)
        if i == 1:
            y = keras.layers.ReLU(name="reslstm_relu1")(y)
    x = keras.layers.ReLU(name="reslstm_res_relu")(keras.layers.Add(name="reslstm_res")([x, y]))
    x = keras.layers.MaxPooling1D(2, name="reslstm_pool1")(x)
    x = keras.layers.SpatialDropout1D(hp["dropout"] / 2, name="reslstm_drop_frames")(x)
    seq = keras.layers.LSTM(units, return_sequences=True, name="reslstm_lstm")(x)
    x = keras.layers.Add(name="reslstm_lstm_res")(
        [keras.layers.Dense(units, use_bias=False, name="reslstm_proj")(x), seq])
    x = AttentivePooling(name="reslstm_attention")(x)
    x = keras.layers.Dropout(hp["dropout"], name="reslstm_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name="reslstm_dense")(x)


def lstm_stack(frames: tf.Tensor, hp: dict, prefix: str, depth: int = 4) -> tf.Tensor:
    """``depth`` stacked LSTMs over [B, T, D] frames, the last one summarising -> dense."""
    units = int(hp.get("lstm_units", 64))
    x = frames
    for i in range(1, depth + 1):
        x = keras.layers.LSTM(units, return_sequences=i < depth, name=f"{prefix}_lstm{i}")(x)
    x = keras.layers.Dropout(hp["dropout"], name=f"{prefix}_dropout")(x)
    return keras.layers.Dense(hp["hidden_units"], activation="relu", name=f"{prefix}_dense")(x)


def yamnet_lstm(inputs: dict, hp: dict) -> tf.Tensor:
    """waveform -> YAMNet embeddings (1024 per 0.96 s patch, 0.48 s hop) -> 4 LSTMs -> dense."""
    yamnet = hub_layer("yamnet", hp, name="yamnet")
    frames = PerExample(yamnet, output_index=1, output_dim=YAMNET_EMBEDDING,
                        name="yamnet_frames")(inputs[ft.WAVEFORM])
    return lstm_stack(frames, hp, "yamnet")


def trill_lstm(inputs: dict, hp: dict) -> tf.Tensor:
    """waveform -> TRILL ``embedding`` frames (512) -> 4 LSTMs -> dense.

    TRILL v3 takes the batch directly: ``samples`` [B, N] and ``sample_rate`` -> [B, T, 512].
    ``sample_rate`` is a plain int in ``arguments`` so the layer config stays JSON (saving a
    Keras model serialises it).
    """
    trill = hub_layer("trill", hp, name="trill", arguments={"sample_rate": SAMPLE_RATE},
                      output_key="embedding", output_shape=[None, TRILL_EMBEDDING])
    return lstm_stack(trill(inputs[ft.WAVEFORM]), hp, "trill")
