"""How informative each modality of the demo corpus is: text, audio and fusion accuracy.

Why: the demo corpus is designed so that text and audio are each imperfect in complementary
ways (text confuses neutral/sad, audio confuses happy/angry) and fusion clearly beats both.
This script measures that with deliberately simple models, so a change to the generator that
breaks the property shows up as numbers, not as a puzzling demo:

* text: TF-IDF (word 1-2 grams) + logistic regression;
* audio: per-utterance mean MFCC (40) / log-mel (128) / chroma (12) from librosa, standardised,
  + logistic regression (the classic utterance features the pipeline also computes);
* fusion: both feature blocks concatenated (early fusion), same classifier.

Usage: ``python benchmarks/demo_corpus.py [--speakers 8 --per-class 8 --out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from components.core.contract import SAMPLE_RATE
from pipeline import demo_corpus  # noqa: E402


def audio_features(paths: Sequence[Path], sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mean MFCC/log-mel/chroma per clip, as librosa computes them (n_fft 2048, hop 512)."""
    import librosa
    import soundfile as sf

    feats = []
    for p in paths:
        y, file_sr = sf.read(p, dtype="float32")
        assert file_sr == sr
        mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
        logmel = librosa.power_to_db(mel)
        mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=40)
        chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=2048, hop_length=512, tuning=0.0)
        feats.append(np.concatenate([mfcc.mean(1), logmel.mean(1), chroma.mean(1)]))
    return np.asarray(feats)


def evaluate(rows: Sequence[dict], audio: np.ndarray, split: str = "random",
             seed: int = 0) -> dict[str, float]:
    """Accuracy of text, audio and fusion models on a seeded 80/20 split.

    ``split="random"`` is what the demo preset uses; ``"speaker"`` holds out whole speakers
    (about 20%), the harder, speaker-independent setting.
    """
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
    from sklearn.preprocessing import StandardScaler

    texts = [r["text"] for r in rows]
    y = np.array([r["emotion"] for r in rows])
    if split == "speaker":
        groups = [r["speaker"] for r in rows]
        tr, te = next(GroupShuffleSplit(1, test_size=0.2, random_state=seed).split(y, y, groups))
    else:
        tr, te = next(StratifiedShuffleSplit(1, test_size=0.2, random_state=seed).split(y, y))

    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    xt_tr = tfidf.fit_transform([texts[i] for i in tr])
    xt_te = tfidf.transform([texts[i] for i in te])
    scaler = StandardScaler().fit(audio[tr])
    xa_tr, xa_te = scaler.transform(audio[tr]), scaler.transform(audio[te])

    def fit_score(x_tr, x_te, c: float) -> float:
        clf = LogisticRegression(C=c, max_iter=5000).fit(x_tr, y[tr])
        return float((clf.predict(x_te) == y[te]).mean())

    # Scale each block to unit expected L2 norm (TF-IDF rows already are; standardised audio
    # has norm ~sqrt(dims)), so ~180 dense audio dims do not drown the sparse text features.
    w = 1.0 / np.sqrt(audio.shape[1])
    return {
        "text": fit_score(xt_tr, xt_te, 10.0),
        "audio": fit_score(xa_tr, xa_te, 0.1),
        "fusion": fit_score(hstack([xt_tr, csr_matrix(xa_tr * w)]).tocsr(),
                            hstack([xt_te, csr_matrix(xa_te * w)]).tocsr(), 10.0),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="corpus dir (default: temp)")
    parser.add_argument("--speakers", type=int, default=8)
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-noise", type=float, default=demo_corpus.DemoCorpusConfig.text_noise)
    parser.add_argument("--audio-noise", type=float,
                        default=demo_corpus.DemoCorpusConfig.audio_noise)
    parser.add_argument("--splits", type=int, default=5, help="seeded splits to average")
    args = parser.parse_args(argv)
    config = demo_corpus.DemoCorpusConfig(
        n_speakers=args.speakers, utterances_per_class_per_speaker=args.per_class,
        seed=args.seed, text_noise=args.text_noise, audio_noise=args.audio_noise)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        demo_corpus.generate(out, config)
        t_gen = time.perf_counter() - t0
        rows = demo_corpus.read_manifest(out)
        t0 = time.perf_counter()
        audio = audio_features([out / r["audio_path"] for r in rows], config.sample_rate)
        t_feat = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"{len(rows)} utterances, {size / 1e6:.1f} MB; generate {t_gen:.1f} s, "
              f"features {t_feat:.1f} s")
        for split in ("random", "speaker"):
            scores = [evaluate(rows, audio, split, seed) for seed in range(args.splits)]
            mean = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
            gain = mean["fusion"] - max(mean["text"], mean["audio"])
            print(f"{split:>7} split (mean of {args.splits}): text {mean['text']:.3f}  "
                  f"audio {mean['audio']:.3f}  fusion {mean['fusion']:.3f}  "
                  f"(fusion - best single: {gain:+.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
