"""Embedded, deterministic multimodal demo corpus (text + synthetic speech, 4 emotions).

Why this exists: ``make demo`` and the end-to-end tests must run the whole pipeline on a fresh
clone with no downloads and no licensed data. Real emotion corpora (IEMOCAP, RAVDESS) cannot be
shipped, so we synthesise a small one in a few seconds with NumPy/SciPy.

Why it is built the way it is: a demo corpus where each modality alone is perfect would hide
every interesting property of a multimodal pipeline (and bugs in the fusion model). The
generator therefore makes each modality *imperfect in a complementary way*:

* **Text** carries valence. Happy vs angry wording is well separated (distinct cue words), but
  low-arousal utterances (neutral and sad) often use the same plain, cue-free wording, so text
  confuses neutral with sad. A small share of happy/angry utterances only carries shared
  arousal words ("really", "can't believe") which do not tell the two apart.
* **Audio** carries arousal and voice quality. Sad speech is low, flat, slow, quiet and breathy,
  clearly unlike neutral speech; happy and angry are both high, varied, fast and loud and differ
  only slightly (angry a little tenser/louder, happy a little higher with raised formants), so
  audio confuses happy with angry.

Fusing both therefore fixes most errors of either one (see ``benchmarks/demo_corpus.py``).

Audio model (source-filter, vectorised per clip): a Rosenberg glottal pulse driven by a pitch
contour (declination + per-syllable accents + jitter), aspiration noise for breathiness,
a five-vowel set of three-formant resonators (cross-faded per syllable), fricative noise bursts
between syllables, a per-syllable amplitude envelope and a background noise floor. Speakers
differ in base pitch, formant scale (vocal-tract length), breathiness and loudness.

Every clip and sentence is drawn from its own RNG stream derived from
``(seed, speaker, emotion, index)``, so the corpus is byte-for-byte reproducible and independent
of generation order.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import soundfile as sf
from scipy.signal import lfilter, sosfilt

#: Emotion labels, in the order the demo preset lists them.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry")

#: Bump whenever the generator's output changes for an unchanged config, so that existing
#: corpora on disk are regenerated instead of silently reused.
GENERATOR_VERSION = 1

MANIFEST_NAME = "manifest.csv"
METADATA_NAME = "corpus.json"
MANIFEST_COLUMNS: tuple[str, ...] = ("id", "audio_path", "text", "emotion", "speaker", "gender")


@dataclasses.dataclass(frozen=True)
class DemoCorpusConfig:
    """Everything that defines a demo corpus; equal configs give byte-identical corpora.

    Frozen and JSON-serialisable because it is stored in ``corpus.json`` and compared on the
    next call to decide whether the corpus on disk can be reused.

    ``text_noise`` is the probability that a low-arousal (neutral or sad) utterance uses plain
    wording shared by both classes; a fifth of it is the probability that a happy/angry one
    carries only shared arousal words. ``audio_noise`` scales per-utterance prosodic randomness
    (pitch, rate, loudness, voice quality) and the background noise level; 0 gives textbook
    prototypes. The defaults are tuned so that, with simple models on the default corpus, text
    and audio alone each reach ~70-75% and their fusion ~85-90% (``benchmarks/demo_corpus.py``).
    """

    n_speakers: int = 8
    utterances_per_class_per_speaker: int = 16  # 512 clips: ~100 eval examples
    duration_s: tuple[float, float] = (1.5, 3.0)
    sample_rate: int = 16000
    seed: int = 0
    text_noise: float = 0.6
    audio_noise: float = 0.7

    def __post_init__(self) -> None:
        if self.n_speakers < 1 or self.utterances_per_class_per_speaker < 1:
            raise ValueError("n_speakers and utterances_per_class_per_speaker must be >= 1")
        lo, hi = self.duration_s
        if not 0.5 <= lo <= hi:
            raise ValueError(f"duration_s must satisfy 0.5 <= lo <= hi, got {self.duration_s}")
        if self.sample_rate < 8000:
            raise ValueError("sample_rate must be >= 8000 (formants reach ~4 kHz)")
        if not 0.0 <= self.text_noise <= 1.0:
            raise ValueError("text_noise must be in [0, 1]")
        if self.audio_noise < 0.0:
            raise ValueError("audio_noise must be >= 0")
        # Normalise so a config read back from JSON (lists) compares equal to the original.
        object.__setattr__(self, "duration_s", (float(lo), float(hi)))

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"duration_s": list(self.duration_s)}

    @classmethod
    def from_json(cls, raw: dict) -> DemoCorpusConfig:
        return cls(**{**raw, "duration_s": tuple(raw["duration_s"])})

    @property
    def n_utterances(self) -> int:
        return self.n_speakers * self.utterances_per_class_per_speaker * len(EMOTIONS)


# --------------------------------------------------------------------------------------------
# Speakers and emotion profiles
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Speaker:
    """A synthetic voice: what stays constant across all utterances of one speaker."""

    name: str
    gender: str  # "F" or "M"
    f0_hz: float  # base pitch of neutral speech
    formant_scale: float  # ~1/vocal-tract length; women and children have higher formants
    breathiness: float  # baseline aspiration noise relative to the glottal pulse
    rate_scale: float  # habitual speaking rate
    gain_db: float  # habitual loudness


@dataclasses.dataclass(frozen=True)
class _Prosody:
    """How one emotion shifts a speaker's voice (means; per-utterance jitter is added)."""

    pitch: float  # multiplier on the speaker's base f0
    pitch_range: float  # std of per-syllable accents, in log-f0 units
    rate: float  # syllables per second
    gain_db: float  # loudness relative to neutral
    open_quotient: float  # glottal open phase; low = tense/pressed, high = lax/breathy
    breath: float  # added aspiration noise
    tilt: float  # one-pole lowpass coefficient; higher = darker, duller voice
    formant_shift: float  # "smiling" raises formants slightly
    jitter: float  # cycle-to-cycle pitch irregularity (harshness)


# Happy and angry deliberately sit close together (audio confuses them; text does not);
# sad is far from neutral (audio separates them; text often does not).
_PROSODY: dict[str, _Prosody] = {
    "neutral": _Prosody(pitch=1.00, pitch_range=0.06, rate=4.0, gain_db=0.0, open_quotient=0.60,
                        breath=0.04, tilt=0.55, formant_shift=1.00, jitter=0.004),
    "sad": _Prosody(pitch=0.82, pitch_range=0.025, rate=2.8, gain_db=-8.0, open_quotient=0.78,
                    breath=0.25, tilt=0.82, formant_shift=0.97, jitter=0.006),
    "happy": _Prosody(pitch=1.38, pitch_range=0.18, rate=5.3, gain_db=5.0, open_quotient=0.50,
                      breath=0.05, tilt=0.42, formant_shift=1.03, jitter=0.006),
    "angry": _Prosody(pitch=1.32, pitch_range=0.16, rate=5.4, gain_db=6.0, open_quotient=0.47,
                      breath=0.05, tilt=0.38, formant_shift=1.01, jitter=0.010),
}

# (F1..F5) in Hz for an adult male vocal tract: /a/, /i/, /u/, /e/, /o/. F4/F5 hardly depend on
# the vowel but keep energy above 3 kHz, as in real speech.
_VOWEL_FORMANTS = np.array([
    [730.0, 1090.0, 2440.0, 3400.0, 4200.0],
    [300.0, 2250.0, 3000.0, 3500.0, 4300.0],
    [320.0, 870.0, 2240.0, 3300.0, 4100.0],
    [530.0, 1840.0, 2480.0, 3450.0, 4250.0],
    [570.0, 840.0, 2410.0, 3350.0, 4150.0],
])
_FORMANT_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 250.0, 300.0])


def make_speakers(config: DemoCorpusConfig) -> list[Speaker]:
    """Alternating F/M speakers with evenly spread, distinct base pitches and formant scales.

    Spread on a grid (plus a little seeded jitter) rather than drawn at random so that even a
    small corpus has clearly different voices, which is what makes speaker-independent
    evaluation meaningful.
    """
    rng = np.random.default_rng([config.seed, 7919])
    n_f = (config.n_speakers + 1) // 2
    n_m = config.n_speakers // 2
    speakers = []
    for i in range(config.n_speakers):
        gender = "F" if i % 2 == 0 else "M"
        rank, n = (i // 2, n_f) if gender == "F" else (i // 2, n_m)
        pos = (rank + 0.5) / n  # in (0, 1)
        if gender == "F":
            f0 = 175.0 + 70.0 * pos
            fscale = 1.10 + 0.12 * ((rank * 0.618) % 1.0)
        else:
            f0 = 95.0 + 45.0 * pos
            fscale = 0.94 + 0.10 * ((rank * 0.618) % 1.0)
        speakers.append(Speaker(
            name=f"spk{i:02d}",
            gender=gender,
            f0_hz=round(float(f0 * np.exp(rng.normal(0.0, 0.02))), 2),
            formant_scale=round(float(fscale), 4),
            breathiness=round(float(rng.uniform(0.0, 0.06)), 4),
            rate_scale=round(float(np.exp(rng.normal(0.0, 0.06))), 4),
            gain_db=round(float(rng.normal(0.0, 1.5)), 2),
        ))
    return speakers


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

# Emotion-free content: what the utterance is "about". Shared by all classes.
_SUBJECTS = ("I", "we", "my sister", "the team", "our neighbour", "my friend", "they", "he",
             "she", "the manager")
_EVENTS = (
    "called about the delivery", "moved the meeting to thursday", "took the early train",
    "finished the report", "checked the schedule", "went to the market", "read the letter",
    "fixed the old bike", "painted the kitchen", "cancelled the trip", "opened the parcel",
    "talked to the landlord", "visited the old house", "looked at the results",
    "sold the car", "came back from the hospital", "got the message", "cleaned the garage",
    "watched the game", "walked home in the rain",
)
_TIMES = ("yesterday", "this morning", "last week", "today", "on monday", "after lunch",
          "tonight", "again", "at last", "")
_FILLERS = ("", "", "", "well,", "so,", "um,", "you know,", "honestly,", "okay,", "anyway,")

# Clear lexical cues per emotion.
_CUES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "as planned", "nothing special about it", "it was fine", "that is all for now",
        "as usual", "it is on the list", "we will see", "noted", "that is the update",
        "same as always",
    ),
    "happy": (
        "and it was wonderful", "I am so glad", "this is great news", "I love it",
        "what a fantastic day", "I am thrilled", "it made me smile", "best day ever",
        "I feel amazing", "we were delighted",
    ),
    "sad": (
        "and I miss it so much", "I feel so empty", "I cried all night", "it is hopeless",
        "I feel so alone", "it broke my heart", "nothing will be the same", "I am so sorry",
        "it hurts", "I just feel lost",
    ),
    "angry": (
        "and it is unacceptable", "I am so fed up", "this is ridiculous", "I hate it",
        "what an outrageous mess", "I am furious", "it drives me mad", "worst day ever",
        "I am sick of it", "they ruined everything",
    ),
}
# Ambiguous wording shared across classes: arousal without valence (happy/angry) and plain
# low-energy remarks (neutral/sad). These are what make text alone imperfect.
_HIGH_AROUSAL = ("I cannot believe it", "seriously", "wow, really", "this is so intense",
                 "oh my god", "I can't stop thinking about it", "no way")
_LOW_AROUSAL = ("I guess", "I don't know", "it is what it is", "I am a bit tired",
                "nothing much to say", "I suppose so", "it was quiet", "anyway")


def make_text(rng: np.random.Generator, emotion: str, text_noise: float) -> str:
    """One template sentence: optional filler, neutral content, then an emotion (or shared) cue.

    Low-arousal classes fall back to shared wording with probability ``text_noise``;
    high-arousal ones with ``text_noise / 5``, so text confuses neutral/sad far more often than
    happy/angry — the complement of what audio confuses.
    """
    filler = str(rng.choice(_FILLERS))
    subject = str(rng.choice(_SUBJECTS))
    event = str(rng.choice(_EVENTS))
    when = str(rng.choice(_TIMES))
    high = emotion in ("happy", "angry")
    p_shared = text_noise / 5.0 if high else text_noise
    if rng.random() < p_shared:
        cue = str(rng.choice(_HIGH_AROUSAL if high else _LOW_AROUSAL))
    else:
        cue = str(rng.choice(_CUES[emotion]))
    core = " ".join(w for w in (subject, event, when) if w)
    if rng.random() < 0.5:
        sentence = f"{core}, {cue}"
    else:
        sentence = f"{cue}, {core}"
    if filler:
        sentence = f"{filler} {sentence}"
    sentence = sentence[0].upper() + sentence[1:]
    end = "!" if high and rng.random() < 0.6 else "."
    return sentence + end


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def _resonator(freq: float, bw: float, sr: int) -> np.ndarray:
    """Second-order all-pole resonator with unity gain at DC (Klatt-style formant filter).

    Returned as one second-order section ``[b0, b1, b2, a0, a1, a2]`` for ``sosfilt``.
    """
    r = np.exp(-np.pi * bw / sr)
    a = np.array([1.0, -2.0 * r * np.cos(2.0 * np.pi * min(freq, 0.45 * sr) / sr), r * r])
    return np.concatenate([[a.sum(), 0.0, 0.0], a])


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average (same length, edge-padded); glides pitch and cross-fades vowels.

    Computed with a cumulative sum, O(n) whatever the width (np.convolve was the bottleneck).
    """
    if width <= 1:
        return x
    padded = np.pad(x, (width // 2 + 1, width - 1 - width // 2), mode="edge")
    c = np.cumsum(padded)
    return (c[width:] - c[:-width]) / width


def synthesize(rng: np.random.Generator, speaker: Speaker, emotion: str,
               config: DemoCorpusConfig) -> np.ndarray:
    """One utterance of synthetic voiced speech as float64 in [-1, 1].

    Source-filter synthesis, vectorised over samples; the only per-syllable Python work is
    drawing syllable parameters. Emotion acts through prosody and voice quality only, so the
    audio classifier has to learn what a speech-emotion model learns from real voices.
    """
    sr = config.sample_rate
    an = config.audio_noise
    p = _PROSODY[emotion]
    lo, hi = config.duration_s
    n = int(round(rng.uniform(lo, hi) * sr))

    # Per-utterance prosody: emotion mean, speaker habit, random state of the day.
    f0 = speaker.f0_hz * p.pitch * np.exp(rng.normal(0.0, 0.06 * an))
    prange = p.pitch_range * np.exp(rng.normal(0.0, 0.25 * an))
    rate = p.rate * speaker.rate_scale * np.exp(rng.normal(0.0, 0.10 * an))
    gain_db = p.gain_db + speaker.gain_db + rng.normal(0.0, 2.0 * an)
    oq = float(np.clip(p.open_quotient + rng.normal(0.0, 0.05 * an), 0.3, 0.9))
    breath = max(0.0, p.breath + speaker.breathiness + rng.normal(0.0, 0.03 * an))
    tilt = float(np.clip(p.tilt + rng.normal(0.0, 0.06 * an), 0.05, 0.95))
    fshift = speaker.formant_scale * p.formant_shift * np.exp(rng.normal(0.0, 0.02 * an))

    # Syllable grid inside the speech region (leading/trailing silence around it).
    lead = int(rng.uniform(0.05, 0.2) * sr)
    trail = int(rng.uniform(0.05, 0.2) * sr)
    speech_len = max(n - lead - trail, int(0.3 * sr))
    mean_syl = sr / rate
    syl_lens = np.maximum(rng.gamma(8.0, mean_syl / 8.0, size=int(speech_len / mean_syl) + 8),
                          0.06 * sr).astype(int)
    bounds = np.concatenate([[0], np.cumsum(syl_lens)])
    n_syl = max(1, int(np.searchsorted(bounds, speech_len, side="right")) - 1)
    bounds = bounds[: n_syl + 1]
    bounds[-1] = speech_len  # last syllable absorbs the remainder
    pos = np.arange(speech_len)
    syl = np.minimum(np.searchsorted(bounds, pos, side="right") - 1, n_syl - 1)
    u = (pos - bounds[syl]) / np.maximum(bounds[syl + 1] - bounds[syl], 1)  # 0..1 in syllable

    onset = rng.uniform(0.15, 0.35, size=n_syl)  # consonant share of each syllable
    fricative = rng.random(n_syl) < 0.45
    vowel = rng.integers(0, len(_VOWEL_FORMANTS), size=n_syl)
    accents = rng.normal(0.0, 1.0, size=n_syl) * prange
    loud = rng.normal(0.0, 1.5, size=n_syl)  # dB per syllable
    pause = rng.random(n_syl) < 0.08  # occasional silent syllable (breath pause)

    # Pitch: declination + smoothed syllable accents + jitter, in log-f0.
    decl = np.linspace(0.5, -0.5, speech_len) * prange * 1.5
    log_f0 = np.log(f0) + decl + _smooth(accents[syl], int(0.05 * sr))
    log_f0 += _smooth(rng.normal(0.0, p.jitter * (0.5 + an) * 4.0, speech_len), int(0.004 * sr))
    f0_t = np.exp(log_f0)

    # Glottal source: Rosenberg pulse from the phase, differentiated (lip radiation).
    frac = np.mod(np.cumsum(f0_t / sr), 1.0)
    tp = oq * 0.65
    flow = np.where(frac < tp, 0.5 * (1.0 - np.cos(np.pi * frac / tp)),
                    np.where(frac < oq, np.cos(0.5 * np.pi * (frac - tp) / (oq - tp)), 0.0))
    source = np.diff(flow, prepend=0.0) * (sr / f0_t) / 8.0
    # Aspiration: noise gated by the open phase, plus the spectral tilt of a lax voice.
    aspiration = rng.normal(0.0, 1.0, speech_len) * (0.3 + flow) * breath * 0.6
    source = lfilter([1.0 - tilt], [1.0, -tilt], source + aspiration) * (1.0 + 2.0 * tilt)

    # Vocal tract: filter the source through every vowel, then cross-fade by syllable vowel.
    voiced = np.zeros(speech_len)
    for v, formants in enumerate(_VOWEL_FORMANTS):
        bws = _FORMANT_BANDWIDTHS * (1.0 + 1.5 * breath)  # breathy voices: wider formants
        sos = np.stack([_resonator(f, bw, sr) for f, bw in zip(formants * fshift, bws,
                                                                    strict=True)])
        y = sosfilt(sos, source)
        weight = _smooth((vowel[syl] == v).astype(float), int(0.03 * sr))
        voiced += weight * y

    # Envelopes: voiced nucleus after the consonant onset; fricative noise during the onset.
    nuc = np.clip((u - onset[syl]) / (1.0 - onset[syl]), 0.0, 1.0)
    env = np.sin(np.pi * nuc) ** 0.7 * (u >= onset[syl])
    env *= 10.0 ** (loud[syl] / 20.0) * ~pause[syl]
    cons_env = np.sin(np.pi * np.clip(u / onset[syl], 0.0, 1.0)) * (u < onset[syl])
    cons_env *= fricative[syl] & ~pause[syl]
    hiss = np.diff(rng.normal(0.0, 1.0, speech_len), prepend=0.0)
    fric = sosfilt(_resonator(4500.0 * fshift, 1500.0, sr)[None], hiss) * 0.04

    speech = np.zeros(n)
    stop = min(lead + speech_len, n)
    speech[lead:stop] = (voiced * env + fric * cons_env)[: stop - lead]
    speech *= 0.025 * 10.0 ** (gain_db / 20.0)

    # Background: pinkish noise floor (room/mic), level varies per recording.
    noise_db = -61.0 + rng.normal(0.0, 4.0) + 10.0 * np.log10(0.2 + an)
    noise = lfilter([1.0], [1.0, -0.9], rng.normal(0.0, 1.0, n)) * 0.23
    out = speech + noise * 10.0 ** (noise_db / 20.0)
    return np.clip(out, -1.0, 1.0)


def _wav_bytes(x: np.ndarray, sr: int) -> bytes:
    """16-bit PCM mono WAV as bytes (soundfile writes no timestamps, so bytes are stable)."""
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def _utterance_rng(config: DemoCorpusConfig, speaker_idx: int, emotion_idx: int, k: int,
                   stream: int) -> np.random.Generator:
    """Independent stream per utterance (and per modality), independent of generation order."""
    return np.random.default_rng([config.seed, speaker_idx, emotion_idx, k, stream])


def _build(config: DemoCorpusConfig) -> tuple[list[dict], dict[str, bytes]]:
    """Manifest rows and WAV bytes (by relative path) for the whole corpus, in memory."""
    rows: list[dict] = []
    files: dict[str, bytes] = {}
    for s, spk in enumerate(make_speakers(config)):
        for e, emotion in enumerate(EMOTIONS):
            for k in range(config.utterances_per_class_per_speaker):
                uid = f"{spk.name}_{emotion}_{k:03d}"
                rel = f"audio/{spk.name}/{uid}.wav"
                text = make_text(_utterance_rng(config, s, e, k, 0), emotion, config.text_noise)
                wave = synthesize(_utterance_rng(config, s, e, k, 1), spk, emotion, config)
                files[rel] = _wav_bytes(wave, config.sample_rate)
                rows.append({"id": uid, "audio_path": rel, "text": text, "emotion": emotion,
                             "speaker": spk.name, "gender": spk.gender})
    return rows, files


def _manifest_bytes(rows: Sequence[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _content_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(files[rel]).digest())
    return h.hexdigest()


def _read_metadata(out_dir: Path) -> Optional[dict]:
    try:
        meta = json.loads((out_dir / METADATA_NAME).read_text())
        meta["config"] = DemoCorpusConfig.from_json(meta["config"])
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_complete(out_dir: Path, meta: dict) -> bool:
    return (meta.get("generator_version") == GENERATOR_VERSION
            and all((out_dir / rel).is_file() for rel in meta.get("files", ())))


def generate(out_dir: Union[str, Path], config: Optional[DemoCorpusConfig] = None) -> Path:
    """Write the corpus into ``out_dir`` (manifest.csv, audio/, corpus.json); return out_dir.

    Idempotent so the pipeline can call it on every run: if ``out_dir`` already holds a complete
    corpus from the same generator and config, nothing is written (mtimes, and with them the
    pipeline's input fingerprint and cache, stay valid). ``config=None`` means "whatever demo
    corpus is already there (regenerated with its own config if files are missing or the
    generator changed), else the default one"; this lets a caller such as a test generate a
    small corpus, or edit it, before the pipeline runs on it. A different explicit config
    regenerates: files of the old corpus are removed first, other files in ``out_dir`` are left.

    ``corpus.json`` is written last, so an interrupted run leaves no valid metadata and is
    redone on the next call. It records the config and a SHA-256 over all generated files; the
    hash is not re-verified on reuse (that would undo deliberate edits such as an injected
    corrupt row) but lets anyone check a corpus against a known-good one.
    """
    out_dir = Path(out_dir)
    meta = _read_metadata(out_dir)
    if meta is not None and _is_complete(out_dir, meta):
        if config is None or meta["config"] == config:
            return out_dir
    if config is None:  # repair/upgrade what is there, else the default corpus
        config = meta["config"] if meta is not None else DemoCorpusConfig()

    if meta is not None:  # stale corpus: remove only what we generated
        for rel in meta.get("files", ()):
            try:
                (out_dir / rel).unlink()
            except OSError:
                pass
    (out_dir / METADATA_NAME).unlink(missing_ok=True)

    rows, files = _build(config)
    files[MANIFEST_NAME] = _manifest_bytes(rows)
    for rel, data in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta_out = {
        "generator_version": GENERATOR_VERSION,
        "config": config.to_json(),
        "content_sha256": _content_hash(files),
        "n_utterances": len(rows),
        "files": sorted(files),
    }
    tmp = out_dir / (METADATA_NAME + ".tmp")
    tmp.write_text(json.dumps(meta_out, indent=1) + "\n")
    os.replace(tmp, out_dir / METADATA_NAME)
    return out_dir


def verify(out_dir: Union[str, Path]) -> bool:
    """True if every generated file on disk still matches the hash recorded in corpus.json.

    Not used by ``generate`` (see there); for tests, CI and anyone comparing two corpora.
    """
    out_dir = Path(out_dir)
    meta = _read_metadata(out_dir)
    if meta is None or not _is_complete(out_dir, meta):
        return False
    files = {rel: (out_dir / rel).read_bytes() for rel in meta["files"]}
    return _content_hash(files) == meta["content_sha256"]


def read_manifest(out_dir: Union[str, Path]) -> list[dict]:
    """Manifest rows as dicts (convenience for tests, benchmarks and the CLI)."""
    with open(Path(out_dir) / MANIFEST_NAME, newline="") as f:
        return list(csv.DictReader(f))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m components.demo_corpus OUT_DIR``: generate (or reuse) and print counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    defaults = DemoCorpusConfig()
    parser.add_argument("--speakers", type=int, default=defaults.n_speakers)
    parser.add_argument("--per-class", type=int, default=defaults.utterances_per_class_per_speaker)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--text-noise", type=float, default=defaults.text_noise)
    parser.add_argument("--audio-noise", type=float, default=defaults.audio_noise)
    args = parser.parse_args(argv)
    config = DemoCorpusConfig(n_speakers=args.speakers,
                              utterances_per_class_per_speaker=args.per_class, seed=args.seed,
                              text_noise=args.text_noise, audio_noise=args.audio_noise)
    started = time.perf_counter()
    generate(args.out_dir, config)
    elapsed = time.perf_counter() - started
    rows = read_manifest(args.out_dir)
    size = sum(f.stat().st_size for f in args.out_dir.rglob("*") if f.is_file())
    print(f"{args.out_dir}: {len(rows)} utterances, {size / 1e6:.1f} MB, {elapsed:.1f} s")
    for col in ("emotion", "gender", "speaker"):
        counts = Counter(r[col] for r in rows)
        print(f"  {col:<8} " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
