"""Source -> Utterance: label check, text check, audio decoding."""

from __future__ import annotations

from typing import Sequence, Union

from components.example_gen import audio_io, contract


def load_source(
    source: contract.Source, labels: Sequence[str], require_text: bool, require_audio: bool
) -> contract.Utterance:
    if source.emotion not in labels:
        raise contract.InvalidInput(
            contract.UNKNOWN_LABEL,
            f"{source.origin}: label {source.emotion!r} is not in the preset's label set "
            f"{list(labels)}; map it to one of them or drop the record")
    text = (source.text or "").strip()
    if require_text and not text:
        raise contract.InvalidInput(
            contract.EMPTY_TEXT,
            f"{source.origin}: empty text, and this preset needs text; add the transcript")
    if source.audio_path is None:
        if require_audio:
            raise contract.InvalidInput(
                contract.MISSING_FILE,
                f"{source.origin}: no audio file, and this preset needs audio")
        audio, duration = b"", 0.0
    else:
        samples = audio_io.decode_audio(source.audio_path)
        audio = audio_io.encode_wav(samples)
        duration = len(samples) / contract.SAMPLE_RATE
    return contract.Utterance(
        id=source.id, dataset=source.dataset, speaker=source.speaker, gender=source.gender,
        text=text, audio=audio, label=list(labels).index(source.emotion),
        emotion=source.emotion, duration_s=round(duration, 4),
    )


def load_or_reject(
    source: contract.Source, labels: Sequence[str], require_text: bool, require_audio: bool
) -> Union[contract.Utterance, contract.Rejected]:
    try:
        return load_source(source, labels, require_text, require_audio)
    except contract.InvalidInput as e:
        return contract.Rejected(source.id, e.reason, source.origin or source.id, e.detail)
