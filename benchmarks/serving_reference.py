"""The reference system's per-request serving path, for `benchmarks/serving.py` (context).

Every call loads the pickled scikit-learn models from disk and recomputes the librosa features
(mean MFCC 40 / log-mel 128 / chroma 12) from the WAV bytes, as the reference did. Models are
trained here on the demo corpus (TF-IDF + logistic regression, librosa features + logistic
regression, both concatenated for MER) and pickled with joblib.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from components.core.contract import SAMPLE_RATE as SR


def _librosa_features(wav: bytes) -> np.ndarray:
    import librosa

    y, sr = librosa.load(io.BytesIO(wav), sr=SR)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
    logmel = librosa.power_to_db(mel)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=40)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=2048, hop_length=512)
    return np.concatenate([mfcc.mean(1), logmel.mean(1), chroma.mean(1)])


def build_reference(train_rows: Sequence, out_dir: Path
                    ) -> Callable[[str, object], list[tuple[str, float]]]:
    """Train and pickle the reference's models; return its per-request predict function."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    texts = [s.text for s in train_rows]
    labels = [s.emotion for s in train_rows]
    audio = np.stack([_librosa_features(s.wav) for s in train_rows])
    tfidf = TfidfVectorizer(ngram_range=(1, 2)).fit(texts)
    joblib.dump(tfidf, out_dir / "tfidf.pkl")
    joblib.dump(LogisticRegression(max_iter=2000).fit(tfidf.transform(texts), labels),
                out_dir / "ter.pkl")
    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                .fit(audio, labels), out_dir / "ser.pkl")
    fused = np.hstack([tfidf.transform(texts).toarray(), audio])
    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                .fit(fused, labels), out_dir / "mer.pkl")

    def predict(task: str, s) -> list[tuple[str, float]]:
        # The per-request path: unpickle on every call, recompute librosa features.
        model = joblib.load(out_dir / f"{task}.pkl")
        if task == "ter":
            x = joblib.load(out_dir / "tfidf.pkl").transform([s.text])
        elif task == "ser":
            x = _librosa_features(s.wav)[None, :]
        else:
            text_x = joblib.load(out_dir / "tfidf.pkl").transform([s.text]).toarray()
            x = np.hstack([text_x, _librosa_features(s.wav)[None, :]])
        probs = model.predict_proba(x)[0]
        order = np.argsort(-probs)[:3]
        return [(model.classes_[i], float(probs[i])) for i in order]

    return predict
