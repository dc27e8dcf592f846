"""Readers on fixture trees in each dataset's real layout, and on the real data when present."""

from __future__ import annotations

import collections
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from components.core import contract
from components.example_gen.loading import load_source
from components.example_gen.readers import READERS, get_reader
from pipeline.configs import get_preset
from tests.conftest import shared_dataset
from tests.example_gen.conftest import (
    cremad_tree,
    goemotions_tree,
    iemocap_tree,
    meld_csv,
    psychexp_pickle,
    ravdess_tree,
    split_rows,
    write_wav,
)

# --- registry ----------------------------------------------------------------------------------


def test_every_preset_reader_is_registered():
    for name in ("ravdess", "iemocap", "psychexp", "cremad", "tess", "goemotions", "meld",
                 "manifest"):
        assert get_reader(name) is READERS[name] and get_preset(name).reader == name


def test_unknown_reader_lists_the_known_ones():
    with pytest.raises(ValueError, match="cremad, goemotions, iemocap"):
        get_reader("nope")


@pytest.mark.parametrize("name", ["ravdess", "iemocap", "psychexp", "cremad", "tess",
                                  "goemotions", "meld", "manifest"])
def test_empty_root_is_a_clear_error(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        list(READERS[name](tmp_path))


# --- RAVDESS ----------------------------------------------------------------------------------


def test_ravdess_fields_from_file_names(tmp_path):
    ravdess_tree(tmp_path, [
        "03-01-05-02-01-01-01.wav",    # angry, strong, statement 1, actor 1
        "03-01-03-01-02-01-02.flac",   # happy, statement 2, actor 2 (FLAC copy)
        "03-01-08-01-01-02-24.WAV",    # upper-case suffix
        "03-02-03-01-02-01-02.wav",    # song: not part of the speech set
        "01-01-03-01-02-01-02.wav",    # audio-video modality: not listed either
        "03-01-03-01.wav",             # malformed name
        "03-01-09-01-01-01-03.wav",    # emotion 09 does not exist
        "03-01-01-02-01-01-03.wav",    # neutral has no strong intensity
    ], sr=48000)
    (tmp_path / "Actor_01" / "notes.txt").write_text("not audio, ignored")
    ok, bad = split_rows(READERS["ravdess"](tmp_path))
    by_id = {s.id: s for s in ok}
    assert set(by_id) == {"03-01-05-02-01-01-01", "03-01-03-01-02-01-02", "03-01-08-01-01-02-24"}
    a = by_id["03-01-05-02-01-01-01"]
    assert (a.dataset, a.emotion, a.speaker, a.gender) == ("ravdess", "angry", "actor_01", "male")
    assert a.text == "Kids are talking by the door"
    assert a.audio_path == str(tmp_path / "Actor_01" / "03-01-05-02-01-01-01.wav")
    b = by_id["03-01-03-01-02-01-02"]
    assert (b.emotion, b.speaker, b.gender, b.text) == (
        "happy", "actor_02", "female", "Dogs are sitting by the door")
    assert by_id["03-01-08-01-01-02-24"].emotion == "surprised"
    assert sorted(r.id for r in bad) == ["03-01-01-02-01-01-03", "03-01-03-01",
                                         "03-01-09-01-01-01-03"]
    assert all(r.reason == contract.BAD_ROW and f"{r.id}.wav" in r.detail for r in bad)


def test_ravdess_48k_stereo_original_loads_as_16k_mono(tmp_path):
    path = tmp_path / "Actor_03" / "03-01-04-01-01-01-03.wav"
    write_wav(path, seconds=0.4, sr=48000, channels=2)
    (source,) = READERS["ravdess"](tmp_path)
    u = load_source(source, get_preset("ravdess").labels, require_text=False, require_audio=True)
    assert u.emotion == "sad" and u.label == 3
    assert u.duration_s == pytest.approx(0.4, abs=0.001)


# --- IEMOCAP ----------------------------------------------------------------------------------


def test_iemocap_four_classes_with_excited_as_happy(tmp_path):
    iemocap_tree(tmp_path)
    ok, bad = split_rows(READERS["iemocap"](tmp_path))
    by_id = {s.id: s for s in ok}
    assert {i: s.emotion for i, s in by_id.items()} == {
        "Ses01F_impro01_F000": "neutral", "Ses01F_impro01_M001": "happy",
        "Ses01F_impro01_F004": "happy", "Ses02M_script01_1_M000": "sad"}
    f000 = by_id["Ses01F_impro01_F000"]
    assert (f000.text, f000.speaker, f000.gender) == ("Excuse me.", "Ses01F", "female")
    m001 = by_id["Ses01F_impro01_M001"]
    assert (m001.text, m001.speaker, m001.gender) == (
        "Do you have your forms?", "Ses01M", "male")
    script = by_id["Ses02M_script01_1_M000"]
    assert (script.speaker, script.text) == ("Ses02M", "")  # no transcript file: empty text
    assert Path(script.audio_path).is_file()
    reasons = {r.id: r.reason for r in bad}
    assert reasons == {"Ses01F_impro01_F002": contract.UNKNOWN_LABEL,
                       "Ses01F_impro01_M003": contract.MISSING_FILE}
    assert all(r.origin.endswith((":8", ":9")) for r in bad)  # file:line of the evaluation


# --- PsychExp ---------------------------------------------------------------------------------


def test_psychexp_pickle_decodes_bytes_and_reads_one_hots(tmp_path):
    eye = np.eye(7)
    psychexp_pickle(tmp_path / "raw.pickle",
                    [b"I passed the exam", "A dog attacked me", "café ".encode(), "x"],
                    [eye[0], eye[1], eye[6], [1, 1, 0, 0, 0, 0, 0]])
    ok, bad = split_rows(READERS["psychexp"](tmp_path))
    assert [(s.id, s.emotion, s.text) for s in ok] == [
        ("psychexp_00000", "joy", "I passed the exam"),
        ("psychexp_00001", "fear", "A dog attacked me"),
        ("psychexp_00002", "guilt", "café")]
    assert all(s.audio_path is None and s.speaker == "" for s in ok)
    assert [(r.id, r.reason) for r in bad] == [("psychexp_00003", contract.BAD_ROW)]
    assert [s.split for s in ok] == ["train", "", ""]  # DeepMoji's indices (train_ind: [0])


def test_psychexp_csv_fallback(tmp_path):
    (tmp_path / "psychexp.csv").write_text(
        "text,label,label_id,split\n"
        "\"When I lost, again.\",sadness,3,train\n"
        "My friend lied,anger,2,test\n")
    ok, bad = split_rows(READERS["psychexp"](tmp_path))
    assert [(s.id, s.emotion, s.text, s.split) for s in ok] == [
        ("psychexp_00000", "sadness", "When I lost, again.", "train"),
        ("psychexp_00001", "anger", "My friend lied", "test")]
    assert not bad


# --- CREMA-D ----------------------------------------------------------------------------------


def test_cremad_names_gender_and_sentences(tmp_path):
    cremad_tree(tmp_path, ["1001_DFA_ANG_XX.wav", "1002_IEO_HAP_HI.flac", "1003_TSI_SAD_LO.wav",
                           "1001_DFA_BOR_XX.wav", "1001_DFA.wav"])
    ok, bad = split_rows(READERS["cremad"](tmp_path))
    assert [(s.id, s.emotion, s.speaker, s.gender, s.text) for s in ok] == [
        ("1001_DFA_ANG_XX", "angry", "1001", "male", "Don't forget a jacket"),
        ("1002_IEO_HAP_HI", "happy", "1002", "female", "It's eleven o'clock"),
        ("1003_TSI_SAD_LO", "sad", "1003", "", "The surface is slick"),  # not in demographics
    ]
    assert sorted((r.id, r.reason) for r in bad) == [
        ("1001_DFA", contract.BAD_ROW), ("1001_DFA_BOR_XX", contract.BAD_ROW)]
    assert "emotion code BOR" in next(r.detail for r in bad if r.id == "1001_DFA_BOR_XX")


def test_cremad_audio_folder_without_demographics(tmp_path):
    write_wav(tmp_path / "audio" / "1050_WSI_FEA_MD.wav")
    (s,) = READERS["cremad"](tmp_path)
    assert (s.emotion, s.gender, s.text) == ("fearful", "", "We'll stop in a couple of minutes")


# --- TESS ---------------------------------------------------------------------------------------


def test_tess_names(tmp_path):
    for rel in ("OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_dog_ps.wav",
                "OAF_Pleasant_surprise/OAF_bean_pleasant_surprise.wav",
                "YAF_fear/YAF_Chair_Fear.wav",
                "YAF_sad/YAF_boat_bored.wav", "other/XYZ_back_angry.wav"):
        write_wav(tmp_path / rel, seconds=0.1)
    ok, bad = split_rows(READERS["tess"](tmp_path))
    assert sorted((s.speaker, s.emotion, s.text, s.gender) for s in ok) == [
        ("OAF", "angry", "Say the word back", "female"),
        ("OAF", "surprised", "Say the word bean", "female"),
        ("YAF", "fearful", "Say the word chair", "female"),
        ("YAF", "surprised", "Say the word dog", "female")]
    assert sorted((r.id, r.reason) for r in bad) == [
        ("XYZ_back_angry", contract.BAD_ROW), ("YAF_boat_bored", contract.UNKNOWN_LABEL)]


# --- GoEmotions -------------------------------------------------------------------------------

# ids into GOEMOTIONS_LABELS: 0 admiration, 2 anger, 3 annoyance, 14 fear, 17 joy, 25 sadness,
# 26 surprise, 27 neutral
GOEMOTIONS_LINES = [
    "so good\t0\tid1",        # admiration -> joy
    "ugh\t2,3\tid2",          # anger + annoyance -> both anger: kept
    "hmm\t2,14\tid3",         # anger + fear: ambiguous
    "ok then\t27\tid4",       # neutral
    "broken line",            # bad row
    "what\t99\tid6",          # label id out of range
]


def test_goemotions_ekman_mapping_and_multilabel_first(tmp_path):
    goemotions_tree(tmp_path, {"train": GOEMOTIONS_LINES, "dev": ["wow\t26\tid7"]})
    ok, bad = split_rows(READERS["goemotions"](tmp_path))
    assert {s.id: s.emotion for s in ok} == {
        "id1": "joy", "id2": "anger", "id4": "neutral", "id7": "surprise"}
    assert {s.id: s.split for s in ok} == {"id1": "train", "id2": "train", "id4": "train",
                                           "id7": "dev"}
    assert all(s.audio_path is None and s.dataset == "goemotions" for s in ok)
    assert {r.id: r.reason for r in bad} == {
        "id3": contract.BAD_ROW, "train_5": contract.BAD_ROW, "id6": contract.BAD_ROW}
    assert "ambiguous multi-label" in next(r.detail for r in bad if r.id == "id3")


def test_goemotions_multilabel_drop(tmp_path):
    goemotions_tree(tmp_path, {"train": GOEMOTIONS_LINES[:4]})
    ok, bad = split_rows(READERS["goemotions"](tmp_path, multi_label="drop"))
    assert {s.id for s in ok} == {"id1", "id4"}
    assert {r.id for r in bad} == {"id2", "id3"}
    with pytest.raises(ValueError, match="multi_label"):
        list(READERS["goemotions"](tmp_path, multi_label="vote"))


# --- MELD ---------------------------------------------------------------------------------------


def test_meld_text_with_audio_from_the_matching_split(tmp_path):
    meld_csv(tmp_path / "train_sent_emo.csv", [
        "1,Oh my God!,Rachel,surprise,positive,0,0,1,1,00:00:01,00:00:02",
        "2,Fine.,Ross,neutral,neutral,0,1,1,1,00:00:03,00:00:04",
        '3,"Well, no.",Joey,Anger,negative,1,0,1,1,00:00:05,00:00:06',
        "4,,Joey,joy,positive,,0,1,1,00:00:05,00:00:06",
    ])
    meld_csv(tmp_path / "dev_sent_emo.csv", [
        "1,Hi.,Monica,joy,positive,0,1,1,1,00:00:01,00:00:02"])
    write_wav(tmp_path / "train_splits" / "dia0_utt1.wav", seconds=0.1)
    write_wav(tmp_path / "train_splits" / "dia1_utt0.flac", seconds=0.1, fmt="FLAC")
    (tmp_path / "train_splits" / "dia0_utt0.mp4").write_bytes(b"video")  # not soundfile's
    ok, bad = split_rows(READERS["meld"](tmp_path))
    by_id = {s.id: s for s in ok}
    assert by_id["train_dia0_utt0"].audio_path is None
    assert by_id["train_dia0_utt1"].audio_path.endswith("train_splits/dia0_utt1.wav")
    assert (by_id["train_dia1_utt0"].emotion, by_id["train_dia1_utt0"].text) == (
        "anger", "Well, no.")
    assert by_id["train_dia1_utt0"].audio_path.endswith("dia1_utt0.flac")
    # dev's dia0_utt1 is another utterance than train's: it must not borrow train's clip.
    assert by_id["dev_dia0_utt1"].audio_path is None
    assert by_id["train_dia0_utt0"].speaker == "Rachel"
    assert [(r.reason, r.origin.endswith("train_sent_emo.csv:row 4 (line 5)")) for r in bad] == [
        (contract.BAD_ROW, True)]


# --- manifest ---------------------------------------------------------------------------------


def test_manifest_csv(tmp_path):
    write_wav(tmp_path / "clips" / "a.wav")
    write_wav(tmp_path / "abs.wav")
    (tmp_path / "manifest.csv").write_text(
        "audio_path,text,emotion,speaker,gender\n"
        "clips/a.wav,hello,happy,s1,F\n"
        f"{tmp_path / 'abs.wav'},,sad,s2,male\n"
        "clips/missing.wav,x,sad,s2,\n"
        "clips/a.wav,no label,,s3,\n"
        ",,angry,s4,\n")
    ok, bad = split_rows(READERS["manifest"](tmp_path))
    assert [(s.id, s.emotion, s.text, s.speaker, s.gender, s.dataset) for s in ok] == [
        ("clips/a.wav", "happy", "hello", "s1", "female", tmp_path.name),
        ("abs.wav", "sad", "", "s2", "male", tmp_path.name)]
    assert ok[0].audio_path == str(tmp_path / "clips" / "a.wav")
    assert [(r.reason, r.origin) for r in bad] == [
        (contract.MISSING_FILE, f"{tmp_path / 'manifest.csv'}:row 3 (line 4)"),
        (contract.BAD_ROW, f"{tmp_path / 'manifest.csv'}:row 4 (line 5)"),
        (contract.BAD_ROW, f"{tmp_path / 'manifest.csv'}:row 5 (line 6)")]


def test_manifest_jsonl_with_renamed_columns(tmp_path):
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"uid": "u1", "sentence": "hi", "label": "joy", "who": 7}),
        "{not json",
        json.dumps({"uid": "u3", "sentence": "yo", "label": "anger"}),
    ]) + "\n")
    ok, bad = split_rows(READERS["manifest"](jsonl, label_col="label", text_col="sentence",
                                             id_col="uid", speaker_col="who", dataset="mine"))
    assert [(s.id, s.emotion, s.text, s.speaker, s.audio_path, s.dataset) for s in ok] == [
        ("u1", "joy", "hi", "7", None, "mine"), ("u3", "anger", "yo", "", None, "mine")]
    assert [(r.id, r.reason) for r in bad] == [("row2", contract.BAD_ROW)]


@pytest.mark.parametrize("options,needle", [
    ({}, "'emotion'"),
    ({"label_col": "words", "audio_col": "x", "text_col": "y"}, "'x'"),
    ({"label_col": "words", "speaker_col": "spk"}, "'spk'"),
])
def test_manifest_missing_column_names_it_and_the_columns_found(tmp_path, options, needle):
    (tmp_path / "manifest.csv").write_text("path,words,text\nx.wav,hi,hello\n")
    with pytest.raises(ValueError, match=needle) as e:
        list(READERS["manifest"](tmp_path, **options))
    assert "['path', 'words', 'text']" in str(e.value)


# --- real datasets (../shared/datasets) -------------------------------------------------------


def test_real_ravdess_listing_and_loading():
    root = shared_dataset("ravdess")
    ok, bad = split_rows(READERS["ravdess"](root))
    assert len(ok) == 1440 and not bad
    assert len({s.speaker for s in ok}) == 24
    assert collections.Counter(s.emotion for s in ok) == {
        "neutral": 96, "calm": 192, "happy": 192, "sad": 192, "angry": 192, "fearful": 192,
        "disgust": 192, "surprised": 192}
    with open(root / "manifest.csv") as f:
        expected = {Path(r["path"]).stem: (r["emotion"], r["gender"]) for r in csv.DictReader(f)}
    assert {s.id: (s.emotion, s.gender) for s in ok} == expected
    labels = get_preset("ravdess").labels
    for source in (ok[0], ok[-1]):
        u = load_source(source, labels, require_text=False, require_audio=True)
        assert 2.5 < u.duration_s < 6.0 and u.audio[:4] == b"RIFF"
        assert u.label == labels.index(source.emotion)


def test_real_psychexp_pickle_and_csv_agree():
    root = shared_dataset("psychexp")
    ok, bad = split_rows(READERS["psychexp"](root))
    assert len(ok) == 7480 and not bad
    counts = collections.Counter(s.emotion for s in ok)
    assert set(counts) == set(get_preset("psychexp").labels)
    assert min(counts.values()) > 1000
    from_csv, _ = split_rows(READERS["psychexp"](root / "psychexp.csv"))
    assert [(s.id, s.emotion, s.text) for s in from_csv] == [(s.id, s.emotion, s.text) for s in ok]
    # DeepMoji's own split, from the pickle's indices and from the CSV's column alike.
    assert collections.Counter(s.split for s in ok) == {"test": 6480, "train": 900, "dev": 100}
    assert [s.split for s in from_csv] == [s.split for s in ok]


def test_real_goemotions_mapping_matches_the_published_ekman_files():
    root = shared_dataset("goemotions")
    ok, bad = split_rows(READERS["goemotions"](root))
    assert len(ok) + len(bad) == 54263
    assert 45000 < len(ok) < 54263
    assert all(r.reason == contract.BAD_ROW and "multi-label" in r.detail for r in bad)
    assert {s.emotion for s in ok} == set(get_preset("goemotions").labels)
    # monologg's ekman/ TSVs are the same rows with the labels mapped: compare per row.
    names = (root / "ekman_monologg" / "labels.txt").read_text().split()
    published: dict[str, set[str]] = {}
    for tsv in (root / "ekman_monologg").glob("*.tsv"):
        for line in tsv.read_text(encoding="utf-8").splitlines():
            _text, ids, rid = line.split("\t")
            published[rid] = {names[int(i)] for i in ids.split(",")}
    assert all(published[s.id] == {s.emotion} for s in ok)
    assert all(len(published[r.id]) > 1 for r in bad)


def test_real_cremad_sample_listing_and_loading():
    ok, bad = split_rows(READERS["cremad"](shared_dataset("cremad_sample")))
    assert len(ok) == 12 and not bad
    assert {(s.speaker, s.gender) for s in ok} == {("1001", "male"), ("1002", "female")}
    assert {s.emotion for s in ok} == set(get_preset("cremad").labels)
    u = load_source(ok[0], get_preset("cremad").labels, require_text=False, require_audio=True)
    assert u.duration_s > 1.0 and u.duration_s < 5.0
