"""The embedded demo corpus: deterministic, idempotent, well-formed, and truly multimodal.

The last property is the reason the corpus exists: each modality alone must be imperfect and
fusion must clearly beat both, otherwise the demo could not show what the MER model adds.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import demo_corpus
from pipeline.demo_corpus import EMOTIONS, DemoCorpusConfig

TINY = DemoCorpusConfig(n_speakers=2, utterances_per_class_per_speaker=3)
# The default corpus, i.e. exactly what `make demo` trains on: ~2 s to generate, ~2 s to
# featurise. (Much smaller corpora leave TF-IDF too few examples per cue phrase for a stable
# margin: over seeds 0-7 the fusion margin here is 0.09-0.18, at 4 speakers x 8 it is 0.01-0.19.)
MODALITY = DemoCorpusConfig()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return demo_corpus.generate(tmp_path_factory.mktemp("tiny"), TINY)


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_config_gives_identical_bytes(tiny, tmp_path):
    other = demo_corpus.generate(tmp_path / "again", TINY)
    assert (tiny / "manifest.csv").read_bytes() == (other / "manifest.csv").read_bytes()
    rows = demo_corpus.read_manifest(tiny)
    for row in rows[:: max(1, len(rows) // 5)]:
        rel = row["audio_path"]
        assert (tiny / rel).read_bytes() == (other / rel).read_bytes(), rel
    meta_a = json.loads((tiny / "corpus.json").read_text())
    meta_b = json.loads((other / "corpus.json").read_text())
    assert meta_a["content_sha256"] == meta_b["content_sha256"]
    assert demo_corpus.verify(tiny) and demo_corpus.verify(other)


def test_different_seed_gives_different_corpus(tiny, tmp_path):
    other = demo_corpus.generate(tmp_path / "seed1", DemoCorpusConfig(
        n_speakers=2, utterances_per_class_per_speaker=3, seed=1))
    assert (tiny / "manifest.csv").read_bytes() != (other / "manifest.csv").read_bytes()


def test_second_call_rewrites_nothing(tmp_path):
    out = demo_corpus.generate(tmp_path / "c", TINY)
    before = _mtimes(out)
    assert demo_corpus.generate(out, TINY) == out
    assert demo_corpus.generate(str(out)) == out  # None: reuse whatever valid corpus is there
    assert _mtimes(out) == before


def test_other_config_regenerates_and_drops_stale_files(tmp_path):
    out = demo_corpus.generate(tmp_path / "c", TINY)
    (out / "notes.txt").write_text("not ours")
    smaller = DemoCorpusConfig(n_speakers=1, utterances_per_class_per_speaker=2)
    demo_corpus.generate(out, smaller)
    rows = demo_corpus.read_manifest(out)
    assert len(rows) == smaller.n_utterances
    wavs = {str(p.relative_to(out)) for p in out.rglob("*.wav")}
    assert wavs == {r["audio_path"] for r in rows}
    assert (out / "notes.txt").read_text() == "not ours"
    assert json.loads((out / "corpus.json").read_text())["config"] == smaller.to_json()


@pytest.mark.parametrize("config", [TINY, None])
def test_incomplete_corpus_is_regenerated(tmp_path, config):
    out = demo_corpus.generate(tmp_path / "c", TINY)
    victim = out / demo_corpus.read_manifest(out)[0]["audio_path"]
    victim.unlink()
    demo_corpus.generate(out, config)  # None: repaired with the config it was made with
    assert victim.exists() and demo_corpus.verify(out)
    assert len(demo_corpus.read_manifest(out)) == TINY.n_utterances


def test_edits_survive_reuse_but_fail_verify(tmp_path):
    """The e2e test appends a corrupt row; reusing the corpus must keep it."""
    out = demo_corpus.generate(tmp_path / "c", TINY)
    with open(out / "manifest.csv", "a") as f:
        f.write("extra,audio/bad.wav,x,neutral,spk00,F\n")
    demo_corpus.generate(out)
    assert (out / "manifest.csv").read_text().endswith("extra,audio/bad.wav,x,neutral,spk00,F\n")
    assert not demo_corpus.verify(out)


def test_counts_per_class_speaker_gender(tiny):
    with open(tiny / "manifest.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == demo_corpus.MANIFEST_COLUMNS
        rows = list(reader)
    per = TINY.utterances_per_class_per_speaker
    assert len(rows) == TINY.n_utterances == len({r["id"] for r in rows})
    assert Counter(r["emotion"] for r in rows) == {e: per * TINY.n_speakers for e in EMOTIONS}
    assert Counter(r["speaker"] for r in rows) == {
        f"spk{i:02d}": per * len(EMOTIONS) for i in range(TINY.n_speakers)}
    assert Counter(r["gender"] for r in rows) == {"F": TINY.n_utterances // 2,
                                                  "M": TINY.n_utterances // 2}
    assert Counter((r["speaker"], r["emotion"]) for r in rows).most_common()[-1][1] == per
    assert all(r["text"].strip() for r in rows)
    assert all(r["audio_path"].startswith(f"audio/{r['speaker']}/") for r in rows)


def test_speakers_are_distinct_voices():
    speakers = demo_corpus.make_speakers(DemoCorpusConfig())
    assert Counter(s.gender for s in speakers) == {"F": 4, "M": 4}
    assert len({round(s.f0_hz) for s in speakers}) == len(speakers)
    women = [s for s in speakers if s.gender == "F"]
    men = [s for s in speakers if s.gender == "M"]
    assert min(s.f0_hz for s in women) > max(s.f0_hz for s in men)
    assert min(s.formant_scale for s in women) > max(s.formant_scale for s in men)


def test_wav_format(tiny):
    lo, hi = TINY.duration_s
    for row in demo_corpus.read_manifest(tiny):
        info = sf.info(tiny / row["audio_path"])
        assert (info.samplerate, info.channels, info.format, info.subtype) == (
            16000, 1, "WAV", "PCM_16"), row["id"]
        assert lo - 0.01 <= info.duration <= hi + 0.01, (row["id"], info.duration)
        y, _ = sf.read(tiny / row["audio_path"])
        assert 0.005 < np.abs(y).max() < 1.0, row["id"]  # audible, not clipped


def _audio_features(paths: list[Path]) -> np.ndarray:
    """Mean MFCC + log-mel per clip: the classic utterance features, cheap enough for a test."""
    import librosa

    feats = []
    for p in paths:
        y, sr = sf.read(p, dtype="float32")
        logmel = librosa.power_to_db(librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=64))
        mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=20)
        feats.append(np.concatenate([mfcc.mean(1), logmel.mean(1)]))
    return np.asarray(feats)


def test_fusion_beats_each_modality(tmp_path):
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    out = demo_corpus.generate(tmp_path / "m", MODALITY)
    rows = demo_corpus.read_manifest(out)
    texts = np.array([r["text"] for r in rows])
    audio = _audio_features([out / r["audio_path"] for r in rows])
    y = np.array([r["emotion"] for r in rows])

    correct = Counter()
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y):
        tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        xt_tr, xt_te = tfidf.fit_transform(texts[tr]), tfidf.transform(texts[te])
        scaler = StandardScaler().fit(audio[tr])
        w = 1.0 / np.sqrt(audio.shape[1])  # unit-norm audio block, like the TF-IDF rows
        xa_tr, xa_te = scaler.transform(audio[tr]) * w, scaler.transform(audio[te]) * w
        for name, x_tr, x_te in (
            ("text", xt_tr, xt_te),
            ("audio", xa_tr, xa_te),
            ("fusion", hstack([xt_tr, csr_matrix(xa_tr)]).tocsr(),
             hstack([xt_te, csr_matrix(xa_te)]).tocsr()),
        ):
            clf = LogisticRegression(C=10.0, max_iter=5000).fit(x_tr, y[tr])
            correct[name] += int((clf.predict(x_te) == y[te]).sum())
    acc = {k: v / len(y) for k, v in correct.items()}
    assert acc["text"] < 0.95 and acc["audio"] < 0.95, acc
    assert acc["text"] > 0.4 and acc["audio"] > 0.4, acc  # each modality does carry signal
    assert acc["fusion"] > max(acc["text"], acc["audio"]) + 0.05, acc
