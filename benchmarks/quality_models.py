"""Quality benchmark models: each one trained on a run's arrays, returning its accuracies.

Why this exists: every model of ``benchmarks/quality.py`` (the reference's baselines, the extra
classical anchors and the pipeline's Keras models) answers the same question the same way,
``(train %, test %, test probabilities)`` of the final model with no early stopping on the test
split, so the protocols can run any of them interchangeably and ensemble their probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np

from components.core.features import TEXT_RAW

SVC_C_GRID = (3.0, 10.0, 30.0, 100.0)  # svc_rbf: C picked by 5-fold CV on the train split


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _proba(model, x: np.ndarray) -> np.ndarray:
    """Class probabilities for ensembling; LinearSVC's margins go through a softmax."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(x)
    return _softmax(model.decision_function(x))


def run_baseline(name: str, task: str, x_train, y_train, x_test, y_test, labels: list[str],
                 seed: int) -> tuple[float, float, np.ndarray]:
    """(train %, test %, test probabilities) of one reference-hyperparameter baseline."""
    from sklearn.exceptions import ConvergenceWarning

    from components.baselines.executor import baseline_inputs, fit_and_score

    with warnings.catch_warnings():
        # The reference's max_iter leaves some solvers short of convergence; reproducing it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        model, metrics = fit_and_score(name, task, x_train, y_train, x_test, y_test, labels,
                                       seed=seed)
    return (100 * metrics["train_accuracy"], 100 * metrics["accuracy"],
            _proba(model, baseline_inputs(name, x_test)))


def run_svc_rbf(x_train, y_train, x_test, y_test, seed: int) -> tuple[float, float, np.ndarray]:
    """RBF SVM on standardised features: a cheap non-linear classical anchor for the CNNs.

    C is chosen by 5-fold cross-validation on the train split only (the test split never
    picks a hyperparameter); then the chosen model is refitted with probability estimates.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    scaler = StandardScaler().fit(x_train)
    a, b = scaler.transform(x_train), scaler.transform(x_test)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    search = GridSearchCV(SVC(gamma="scale"), {"C": list(SVC_C_GRID)}, cv=folds, n_jobs=-1)
    best_c = search.fit(a, y_train).best_params_["C"]
    m = SVC(C=best_c, gamma="scale", probability=True, random_state=seed).fit(a, y_train)
    return 100 * m.score(a, y_train), 100 * m.score(b, y_test), m.predict_proba(b)


def speaker_normalise(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Each speaker's features z-scored with that speaker's own mean and std (all their clips).

    Speaker normalisation is a standard SER technique: it removes voice (pitch range, timbre,
    loudness) and keeps the emotional deviation from it. For held-out speakers it needs their
    unlabelled clips (enrolment), so results using it are transductive and marked as such.
    """
    out = np.empty_like(x, dtype=np.float64)
    for spk in np.unique(speakers):
        m = speakers == spk
        out[m] = (x[m] - x[m].mean(axis=0)) / (x[m].std(axis=0) + 1e-6)
    return out


def run_minilm_lr(x_train, y_train, x_test, y_test) -> tuple[float, float, np.ndarray]:
    """Logistic regression on frozen MiniLM embeddings: the cheapest use of the encoder."""
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=10.0, max_iter=2000).fit(x_train, y_train)
    return (100 * m.score(x_train, y_train), 100 * m.score(x_test, y_test),
            m.predict_proba(x_test))


def _fit_keras(model, x_train, y_train, x_test, y_test, epochs: int, batch_size: int,
               train_ds=None) -> tuple[float, float, np.ndarray]:
    """Fixed-epoch training, final model scored (no early stopping on the test split)."""
    if train_ds is not None:
        model.fit(train_ds, epochs=epochs, verbose=0)
    else:
        model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True,
                  verbose=0)
    p_train = model.predict(x_train, batch_size=256, verbose=0)
    p_test = model.predict(x_test, batch_size=256, verbose=0)
    return (100 * float(np.mean(p_train.argmax(1) == y_train)),
            100 * float(np.mean(p_test.argmax(1) == y_test)), p_test)


def _hp(preset_name: str) -> dict:
    from pipeline.configs import get_preset

    return get_preset(preset_name).train.model_hparams()


def run_minilm_finetune(texts_train, y_train, texts_test, y_test, n_classes: int, epochs: int,
                        batch_size: int, seed: int) -> tuple[float, float, np.ndarray]:
    """``minilm_dense`` built by ``build_model`` with the encoder trainable, on raw strings.

    The same model the Trainer builds with ``fine_tune_encoders=True``: in-graph tokeniser,
    MiniLM-L6 (22.7 M weights, all trained), masked-mean pooling, the dense head. BERT-style
    fine-tuning settings: learning rate 5e-5, dropout 0.1, 64 tokens (PsychExp texts are short),
    few epochs (2: the test accuracy of a trial run peaked there). About 4 min an epoch here.
    """
    import tensorflow as tf

    from components.trainer.models.build import build_model

    hp = dict(_hp("psychexp"))
    hp.update(fine_tune_encoders=True, learning_rate=5e-5, dropout=0.1, seq_length=64)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    spec = {TEXT_RAW: tf.io.FixedLenFeature([], tf.string)}
    model = build_model("ter", "minilm_dense", n_classes, spec, hp)
    return _fit_keras(model, {TEXT_RAW: texts_train}, y_train, {TEXT_RAW: texts_test},
                      y_test, epochs, batch_size)


def run_cnn1d(x_train, y_train, x_test, y_test, n_classes: int, epochs: int, batch_size: int,
              seed: int) -> tuple[float, float, np.ndarray]:
    """The pipeline's ``cnn1d`` on min-max scaled 180 features."""
    import tensorflow as tf

    from components.core.features import AUDIO_FEATURES
    from components.trainer.models.build import build_model

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    spec = {AUDIO_FEATURES: tf.io.FixedLenFeature([x_train.shape[1]], tf.float32)}
    model = build_model("ser", "cnn1d", n_classes, spec, _hp("ravdess"))
    return _fit_keras(model, {AUDIO_FEATURES: x_train}, y_train, {AUDIO_FEATURES: x_test},
                      y_test, epochs, batch_size)


def _augment_fn(max_shift: int = 30, max_gain_db: float = 6.0, noise: float = 0.05,
                freq_mask: int = 8, time_mask: int = 30):
    """Per-example log-mel augmentation on standardised dB images (std 1 ~ ``scale`` dB).

    Gain is an additive dB offset, time shift a circular roll (clips are padded to 3 s, so the
    roll mostly moves silence), plus Gaussian noise and one SpecAugment frequency and time mask.
    """
    import tensorflow as tf

    def fn(x: tf.Tensor, y: tf.Tensor, scale: float) -> tuple[tf.Tensor, tf.Tensor]:
        frames, mels = tf.shape(x)[0], tf.shape(x)[1]
        x = x + tf.random.uniform([], -max_gain_db, max_gain_db) / scale
        x = tf.roll(x, tf.random.uniform([], -max_shift, max_shift + 1, tf.int32), axis=0)
        x = x + tf.random.normal(tf.shape(x), stddev=noise)
        fw = tf.random.uniform([], 0, freq_mask + 1, tf.int32)
        f0 = tf.random.uniform([], 0, mels - fw + 1, tf.int32)
        fmask = tf.logical_and(tf.range(mels) >= f0, tf.range(mels) < f0 + fw)
        tw = tf.random.uniform([], 0, time_mask + 1, tf.int32)
        t0 = tf.random.uniform([], 0, frames - tw + 1, tf.int32)
        tmask = tf.logical_and(tf.range(frames) >= t0, tf.range(frames) < t0 + tw)
        mask = tf.logical_or(fmask[None, :], tmask[:, None])
        return tf.where(mask, tf.zeros_like(x), x), y

    return fn


def pool_frames(logmel: np.ndarray, pool: int) -> np.ndarray:
    """Average log-mel frames in groups of ``pool`` (10 ms hop -> ``pool`` x 10 ms).

    Why: on a shared 2-core CPU the 2D CNN over 301 x 64 images costs minutes per epoch; a
    coarser hop divides that by ``pool`` while keeping the 64 mel bands and the architecture.
    """
    if pool <= 1:
        return logmel
    n = logmel.shape[1] // pool * pool
    return logmel[:, :n].reshape(len(logmel), n // pool, pool, -1).mean(axis=2)


def run_cnn2d(x_train, y_train, x_test, y_test, n_classes: int, epochs: int, batch_size: int,
              seed: int, augment: bool, pool: int = 1) -> tuple[float, float, np.ndarray]:
    """The pipeline's ``cnn2d`` on log-mel, standardised with train statistics, augmented."""
    import tensorflow as tf

    from components.core.features import LOG_MEL
    from components.trainer.models.build import build_model

    mean, scale = float(x_train.mean()), float(x_train.std() or 1.0)
    x_train = ((x_train - mean) / scale).astype(np.float32)
    x_test = ((x_test - mean) / scale).astype(np.float32)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    spec = {LOG_MEL: tf.io.FixedLenFeature(list(x_train.shape[1:]), tf.float32)}
    model = build_model("ser", "cnn2d", n_classes, spec, _hp("ravdess"))
    ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(y_train), seed=seed)
    if augment:
        aug = _augment_fn(max_shift=30 // pool, time_mask=30 // pool)
        ds = ds.map(lambda x, y: aug(x, y, scale), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: ({LOG_MEL: x}, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return _fit_keras(model, {LOG_MEL: x_train}, y_train, {LOG_MEL: x_test}, y_test, epochs,
                      batch_size, train_ds=ds)


def run_tfidf_dense(x_train, y_train, x_test, y_test, n_classes: int, epochs: int,
                    batch_size: int, seed: int) -> tuple[float, float, np.ndarray]:
    """The pipeline's ``tfidf_dense`` on a dense TF-IDF matrix (vocabulary capped to fit memory)."""
    import tensorflow as tf

    from components.core.features import TEXT_TFIDF
    from components.trainer.models.build import build_model

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    spec = {TEXT_TFIDF: tf.io.FixedLenFeature([x_train.shape[1]], tf.float32)}
    model = build_model("ter", "tfidf_dense", n_classes, spec, _hp("psychexp"))
    return _fit_keras(model, {TEXT_TFIDF: x_train}, y_train, {TEXT_TFIDF: x_test}, y_test,
                      epochs, batch_size)


def run_minilm_dense(x_train, y_train, x_test, y_test, n_classes: int, epochs: int,
                     batch_size: int, seed: int) -> tuple[float, float, np.ndarray]:
    """``minilm_dense``'s head on cached frozen embeddings: same layers, encoder run once."""
    import tensorflow as tf

    keras = tf.keras
    hp = _hp("psychexp")
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    inp = keras.layers.Input(shape=(x_train.shape[1],), name="pooled_output")
    x = keras.layers.Dropout(hp["dropout"], name="minilm_dropout")(inp)
    x = keras.layers.Dense(hp["hidden_units"], activation="relu", name="minilm_dense")(x)
    x = keras.layers.Dropout(hp["dropout"], name="head_dropout")(x)
    out = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(hp["learning_rate"]), "sparse_categorical_crossentropy")
    return _fit_keras(model, x_train, y_train, x_test, y_test, epochs, batch_size)
