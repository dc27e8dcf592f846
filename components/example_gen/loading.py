"""Source -> Utterance: label check, text check, audio decoding.

This is the expensive half of ingestion (the reader's listing is the cheap
half), so it runs per record on Beam workers. Anything wrong with a record
raises `contract.InvalidInput`; `load_or_reject` turns that into a
`Rejected` row so one bad file is quarantined instead of failing the job.
"""

from __future__ import annotations

from typing import Sequence, Union

from components.core import contract
from components.core.wav import encode_wav
from components.example_gen import audio_io


def load_source(
    source: contract.Source, labels: Sequence[str], require_text: bool, require_audio: bool
) -> contract.Utterance:
    """Decodes one listed record into the contract's Utterance.

    `labels` is the preset's label set; its order defines the integer `label`.
    Raises InvalidInput: unknown_label (emotion not in `labels`), empty_text
    (text required but blank), missing_file (audio required but the dataset
    has none for this record) and the audio reasons of `audio_io.decode_audio`.
    """
    labels = list(labels)
    where = source.origin or source.id
    if source.emotion not in labels:
        raise contract.InvalidInput(
            contract.UNKNOWN_LABEL,
            f"{where}: label {source.emotion!r} is not in the preset's label set {labels}; "
            f"map it to one of them in the reader or manifest, or drop the record")
    text = (source.text or "").strip()
    if require_text and not text:
        raise contract.InvalidInput(
            contract.EMPTY_TEXT,
            f"{where}: the text is empty and this preset needs text; add the transcript "
            f"or use a speech-only preset")
    if source.audio_path is None:
        if require_audio:
            raise contract.InvalidInput(
                contract.MISSING_FILE,
                f"{where}: the record has no audio file and this preset needs audio; add the "
                f"audio path or use a text-only preset")
        audio, duration = b"", 0.0
    else:
        samples = audio_io.decode_audio(source.audio_path)
        audio = encode_wav(samples)
        duration = len(samples) / contract.SAMPLE_RATE
    return contract.Utterance(
        id=source.id,
        dataset=source.dataset,
        speaker=source.speaker,
        gender=source.gender,
        text=text,
        audio=audio,
        label=labels.index(source.emotion),
        emotion=source.emotion,
        duration_s=round(duration, 4),
    )


def load_or_reject(
    source: contract.Source, labels: Sequence[str], require_text: bool, require_audio: bool
) -> Union[contract.Utterance, contract.Rejected]:
    """`load_source`, with InvalidInput turned into a Rejected row for the quarantine report."""
    try:
        return load_source(source, labels, require_text, require_audio)
    except contract.InvalidInput as e:
        return contract.Rejected(
            id=source.id, reason=e.reason, origin=source.origin or source.id, detail=e.detail)
