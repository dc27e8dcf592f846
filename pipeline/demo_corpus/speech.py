"""The demo corpus's speech: a vectorised source-filter synthesiser with emotion prosody.

A Rosenberg glottal pulse driven by a pitch contour (declination + per-syllable accents +
jitter), aspiration noise for breathiness, three-formant vowel resonators cross-faded per
syllable, fricative bursts, a per-syllable envelope and a noise floor. Arousal and voice quality
carry the emotion, so speech alone confuses happy with angry (the text tells them apart).
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import soundfile as sf
from scipy.signal import lfilter, sosfilt

from pipeline.demo_corpus.config import DemoCorpusConfig

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


def wav_bytes(x: np.ndarray, sr: int) -> bytes:
    """16-bit PCM mono WAV as bytes (soundfile writes no timestamps, so bytes are stable)."""
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()
