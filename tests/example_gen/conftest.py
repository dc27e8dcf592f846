"""Fixture builders: short synthetic clips and tiny datasets in each dataset's real layout."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import soundfile as sf

from components.core import contract


def tone(seconds: float = 0.5, sr: int = 16000, freq: float = 220.0, channels: int = 1):
    """A 0.3-amplitude sine, (frames,) or (frames, channels) with identical channels."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def write_wav(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1,
              subtype: str = "PCM_16", fmt: str = "WAV") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, sr, channels=channels), sr, format=fmt, subtype=subtype)
    return path


def truncate(path: Path, keep: int = 200) -> Path:
    """Cuts a file to its first `keep` bytes, as an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    return path


def split_rows(rows: Iterable) -> tuple[list[contract.Source], list[contract.Rejected]]:
    rows = list(rows)
    assert all(isinstance(r, (contract.Source, contract.Rejected)) for r in rows)
    return ([r for r in rows if isinstance(r, contract.Source)],
            [r for r in rows if isinstance(r, contract.Rejected)])


# --- dataset trees ----------------------------------------------------------------------------


def ravdess_tree(root: Path, names: Sequence[str], sr: int = 16000) -> Path:
    """`Actor_XX/<name>` for each RAVDESS file name (actor taken from the name's last field)."""
    for name in names:
        actor = Path(name).stem.split("-")[-1]
        fmt = "FLAC" if name.endswith(".flac") else "WAV"
        write_wav(root / f"Actor_{actor}" / name, seconds=0.2, sr=sr, fmt=fmt)
    return root


IEMOCAP_EVAL = [
    "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]",
    "",
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
    "C-E2:\tNeutral;\t()",
    "A-E3:\tval 3; act 2; dom  2;\t()",
    "",
    "[10.01 - 11.36]\tSes01F_impro01_M001\texc\t[3.0000, 3.0000, 3.0000]",
    "[12.0 - 13.0]\tSes01F_impro01_F002\tfru\t[2.0000, 2.0000, 2.0000]",
    "[14.0 - 15.0]\tSes01F_impro01_M003\tang\t[2.0000, 2.0000, 2.0000]",
    "[16.0 - 17.0]\tSes01F_impro01_F004\thap\t[4.0000, 3.0000, 3.0000]",
]
IEMOCAP_TRANSCRIPT = [
    "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.",
    "Ses01F_impro01_M001 [010.0100-011.3600]: Do you have your forms?",
    "Ses01F_impro01_F004 [016.0000-017.0000]: Yeah.",
]


def iemocap_tree(root: Path) -> Path:
    """Session1 with 5 evaluated turns: neu, exc, fru (unknown), ang (wav missing), hap.

    Session2 holds one sad script turn by its male actor, whose dialog name has
    an extra underscore part (`Ses02M_script01_1`).
    """
    s1 = root / "Session1"
    (s1 / "dialog" / "EmoEvaluation" / "Categorical").mkdir(parents=True)
    (s1 / "dialog" / "transcriptions").mkdir(parents=True)
    (s1 / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt").write_text(
        "\n".join(IEMOCAP_EVAL) + "\n")
    # Per-evaluator files in subfolders must not be read as turns.
    (s1 / "dialog" / "EmoEvaluation" / "Categorical" / "Ses01F_impro01_e1_cat.txt").write_text(
        "Ses01F_impro01_F000 :Neutral state; ()\n")
    (s1 / "dialog" / "transcriptions" / "Ses01F_impro01.txt").write_text(
        "\n".join(IEMOCAP_TRANSCRIPT) + "\n")
    for utt in ("F000", "M001", "F002", "F004"):
        write_wav(s1 / "sentences" / "wav" / "Ses01F_impro01" / f"Ses01F_impro01_{utt}.wav",
                  seconds=0.2)
    s2 = root / "Session2"
    (s2 / "dialog" / "EmoEvaluation").mkdir(parents=True)
    (s2 / "dialog" / "EmoEvaluation" / "Ses02M_script01_1.txt").write_text(
        "[1.0 - 2.0]\tSes02M_script01_1_M000\tsad\t[2.0000, 2.0000, 2.0000]\n")
    write_wav(s2 / "sentences" / "wav" / "Ses02M_script01_1" / "Ses02M_script01_1_M000.wav",
              seconds=0.2)
    return root


def psychexp_pickle(path: Path, texts: Sequence, onehots: Sequence) -> Path:
    """`raw.pickle` as DeepMoji published it (dict of texts, info[i]['label'], split indices)."""
    data = {"texts": list(texts), "info": [{"label": np.asarray(h, dtype=float)} for h in onehots],
            "train_ind": [0], "val_ind": [], "test_ind": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)
    return path


def cremad_tree(root: Path, names: Sequence[str], folder: str = "AudioWAV") -> Path:
    for name in names:
        fmt = "FLAC" if name.endswith(".flac") else "WAV"
        write_wav(root / folder / name, seconds=0.2, fmt=fmt)
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    (root / "metadata" / "VideoDemographics.csv").write_text(
        '"ActorID","Age","Sex","Race","Ethnicity"\n'
        '1001,51,"Male","Caucasian","Not Hispanic"\n'
        '1002,21,"Female","Caucasian","Not Hispanic"\n')
    return root


GOEMOTIONS_LABELS = ["admiration", "amusement", "anger", "annoyance", "approval", "caring",
                     "confusion", "curiosity", "desire", "disappointment", "disapproval",
                     "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief",
                     "joy", "love", "nervousness", "optimism", "pride", "realization",
                     "relief", "remorse", "sadness", "surprise", "neutral"]


def goemotions_tree(root: Path, files: dict[str, Sequence[str]]) -> Path:
    """`original/<name>.tsv` (lines given as `text\\tids\\tid`) + the real 28-name emotions.txt."""
    folder = root / "original"
    folder.mkdir(parents=True)
    (folder / "emotions.txt").write_text("\n".join(GOEMOTIONS_LABELS) + "\n")
    for name, lines in files.items():
        (folder / f"{name}.tsv").write_text("".join(line + "\n" for line in lines))
    return root


MELD_HEADER = ("Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,"
               "Episode,StartTime,EndTime")


def meld_csv(path: Path, rows: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([MELD_HEADER, *rows]) + "\n")
    return path
