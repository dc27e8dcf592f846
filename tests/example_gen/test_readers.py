"""Readers on fixture trees in each dataset's real layout, and on the real data when present."""

from __future__ import annotations

import collections
import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from components.example_gen import contract
from components.example_gen.readers import READERS, get_reader
from tests.conftest import shared_dataset
from tests.example_gen.conftest import write_wav


def _split(rows):
    rows = list(rows)
    ok = [r for r in rows if isinstance(r, contract.Source)]
    bad = [r for r in rows if isinstance(r, contract.Rejected)]
    return ok, bad


def test_ravdess_fields_from_file_names(tmp_path):
    write_wav(tmp_path / "Actor_01" / "03-01-05-02-01-01-01.wav", sr=48000, channels=2)
    write_wav(tmp_path / "Actor_02" / "03-01-03-01-02-01-02.flac", fmt="FLAC")
    write_wav(tmp_path / "Actor_02" / "03-02-03-01-02-01-02.wav")  # song: not listed
    write_wav(tmp_path / "Actor_02" / "03-01-03-01.wav")  # malformed name
    ok, bad = _split(READERS["ravdess"](tmp_path))
    by_id = {s.id: s for s in ok}
    a = by_id["03-01-05-02-01-01-01"]
    assert (a.emotion, a.speaker, a.gender) == ("angry", "actor_01", "male")
    assert a.text == "Kids are talking by the door"
    b = by_id["03-01-03-01-02-01-02"]
    assert (b.emotion, b.speaker, b.gender) == ("happy", "actor_02", "female")
    assert len(ok) == 2 and [r.reason for r in bad] == [contract.BAD_ROW]


def _iemocap_tree(root: Path):
    s1 = root / "Session1"
    (s1 / "dialog" / "EmoEvaluation").mkdir(parents=True)
    (s1 / "dialog" / "transcriptions").mkdir(parents=True)
    lines = [
        "% header line",
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]",
        "[10.01 - 11.36]\tSes01F_impro01_M001\texc\t[3.0, 3.0, 3.0]",
        "[12.0 - 13.0]\tSes01F_impro01_F002\tfru\t[2.0, 2.0, 2.0]",
        "[14.0 - 15.0]\tSes01F_impro01_M003\tang\t[2.0, 2.0, 2.0]",
    ]
    (s1 / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt").write_text("\n".join(lines))
    (s1 / "dialog" / "transcriptions" / "Ses01F_impro01.txt").write_text(
        "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.\n"
        "Ses01F_impro01_M001 [010.0100-011.3600]: Do you have your forms?\n")
    wav_dir = s1 / "sentences" / "wav" / "Ses01F_impro01"
    for utt in ("Ses01F_impro01_F000", "Ses01F_impro01_M001", "Ses01F_impro01_F002"):
        write_wav(wav_dir / f"{utt}.wav")


def test_iemocap_four_classes_with_excited_as_happy(tmp_path):
    _iemocap_tree(tmp_path)
    ok, bad = _split(READERS["iemocap"](tmp_path))
    by_id = {s.id: s for s in ok}
    assert by_id["Ses01F_impro01_F000"].emotion == "neutral"
    assert by_id["Ses01F_impro01_F000"].text == "Excuse me."
    assert by_id["Ses01F_impro01_M001"].emotion == "happy"
    assert by_id["Ses01F_impro01_M001"].speaker == "Ses01M"
    assert by_id["Ses01F_impro01_F000"].gender == "female"
    reasons = collections.Counter(r.reason for r in bad)
    assert reasons == {contract.UNKNOWN_LABEL: 1, contract.MISSING_FILE: 1}


def test_psychexp_pickle_and_csv(tmp_path):
    labels = np.eye(7)
    data = {"texts": [b"I passed the exam", "A dog attacked me"],
            "info": [{"label": labels[0]}, {"label": labels[1]}]}
    with open(tmp_path / "raw.pickle", "wb") as f:
        pickle.dump(data, f)
    ok, bad = _split(READERS["psychexp"](tmp_path))
    assert [(s.emotion, s.text) for s in ok] == [("joy", "I passed the exam"),
                                                  ("fear", "A dog attacked me")]
    assert all(s.audio_path is None for s in ok) and not bad


def test_cremad_gender_from_demographics(tmp_path):
    write_wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    write_wav(tmp_path / "AudioWAV" / "1002_IEO_HAP_HI.wav")
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n")
    ok, _ = _split(READERS["cremad"](tmp_path))
    assert [(s.emotion, s.gender, s.text) for s in ok] == [
        ("angry", "male", "Don't forget a jacket"), ("happy", "female", "It's eleven o'clock")]


def test_tess_names(tmp_path):
    write_wav(tmp_path / "OAF_angry" / "OAF_back_angry.wav")
    write_wav(tmp_path / "YAF_ps" / "YAF_dog_ps.wav")
    ok, _ = _split(READERS["tess"](tmp_path))
    assert {(s.speaker, s.emotion, s.text) for s in ok} == {
        ("OAF", "angry", "Say the word back"), ("YAF", "surprised", "Say the word dog")}


def test_goemotions_ekman_mapping_and_multilabel_policy(tmp_path):
    (tmp_path / "emotions.txt").write_text("admiration\nanger\nannoyance\nfear\nneutral\n")
    (tmp_path / "train.tsv").write_text(
        "so good\t0\tid1\nugh\t1,2\tid2\nhmm\t1,3\tid3\nok then\t4\tid4\n")
    ok, bad = _split(READERS["goemotions"](tmp_path))
    assert {s.id: s.emotion for s in ok} == {"id1": "joy", "id2": "anger", "id4": "neutral"}
    assert [r.id for r in bad] == ["id3"]
    ok, bad = _split(READERS["goemotions"](tmp_path, multi_label="drop"))
    assert {s.id for s in ok} == {"id1", "id4"}


def test_meld_text_only_and_with_audio(tmp_path):
    (tmp_path / "train_sent_emo.csv").write_text(
        "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID\n"
        "1,Oh my God!,Rachel,surprise,positive,0,0\n2,Fine.,Ross,neutral,neutral,0,1\n")
    write_wav(tmp_path / "train_splits" / "dia0_utt1.wav")
    ok, _ = _split(READERS["meld"](tmp_path))
    by_id = {s.id: s for s in ok}
    assert by_id["train_dia0_utt0"].audio_path is None
    assert by_id["train_dia0_utt1"].audio_path.endswith("dia0_utt1.wav")


def test_manifest_csv_and_jsonl(tmp_path):
    write_wav(tmp_path / "clips" / "a.wav")
    (tmp_path / "manifest.csv").write_text(
        "audio_path,text,emotion,speaker\nclips/a.wav,hello,happy,s1\nclips/missing.wav,x,sad,s2\n"
        "clips/a.wav,no label,,s3\n")
    ok, bad = _split(READERS["manifest"](tmp_path))
    assert [(s.id, s.emotion, s.text) for s in ok] == [("a", "happy", "hello")]
    assert sorted(r.reason for r in bad) == [contract.BAD_ROW, contract.MISSING_FILE]
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text(json.dumps({"id": "u1", "text": "hi", "label": "joy"}) + "\n")
    ok, _ = _split(READERS["manifest"](jsonl, label_col="label"))
    assert ok[0].emotion == "joy" and ok[0].audio_path is None


def test_manifest_missing_column_names_it(tmp_path):
    (tmp_path / "manifest.csv").write_text("path,words\nx.wav,hi\n")
    with pytest.raises(ValueError, match="'emotion'"):
        list(READERS["manifest"](tmp_path))


def test_unknown_reader():
    with pytest.raises(ValueError, match="ravdess"):
        get_reader("nope")


def test_real_ravdess_listing():
    root = shared_dataset("ravdess")
    ok, bad = _split(READERS["ravdess"](root))
    assert len(ok) == 1440 and not bad
    assert len({s.speaker for s in ok}) == 24
    assert len({s.emotion for s in ok}) == 8
    with open(root / "manifest.csv") as f:
        expected = {Path(r["path"]).stem: r["emotion"] for r in csv.DictReader(f)}
    assert {s.id: s.emotion for s in ok} == expected


def test_real_psychexp_listing():
    ok, bad = _split(READERS["psychexp"](shared_dataset("psychexp")))
    assert len(ok) == 7480 and not bad
    assert len({s.emotion for s in ok}) == 7


def test_real_goemotions_and_cremad_listing():
    ok, bad = _split(READERS["goemotions"](shared_dataset("goemotions")))
    assert len(ok) + len(bad) > 50000 and len(ok) > 45000
    assert {s.emotion for s in ok} == {"anger", "disgust", "fear", "joy", "sadness", "surprise",
                                       "neutral"}
    ok, bad = _split(READERS["cremad"](shared_dataset("cremad_sample")))
    assert len(ok) == 12 and {s.gender for s in ok} == {"male", "female"}
