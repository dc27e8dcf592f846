"""Raw dataset -> contract TFRecords + split assignment + quarantine report.

Listing (metadata only) runs in one process so splits can be stratified or
speaker-disjoint over the whole dataset; decoding and resampling, the
expensive part, runs on Beam workers. Nothing is dropped silently: every
listed record ends up written or quarantined with a reason, and the report
proves the sum. Outputs go through Beam's and TFX's file systems (never the
local file API), so the examples and the report may live on gs://.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import logging
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence

import apache_beam as beam
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from components.artifacts import QUARANTINE_FILE, REPORT_FILE, SPLITS_FILE
from components.core import contract, progress
from components.core.config import Preset
from components.core.errors import MissingDataError
from components.example_gen.loading import load_or_reject
from components.example_gen.readers import get_reader, text_file
from components.example_gen.splits import SplitKey, assign_splits
from components.example_gen.tf_example import to_example

SPLITS = ("train", "eval")
log = logging.getLogger(__name__)
_COUNTS = "_counts.jsonl"
_REJECTED = "_rejected.jsonl"


class NothingValidError(contract.DataError):
    """Raised when a dataset yields no valid example at all."""


@dataclasses.dataclass
class Listing:
    sources: list[contract.Source]
    rejected: list[contract.Rejected]
    labels: tuple[str, ...]
    split_of: dict[str, str]
    # id -> origins of the later records with that id, quarantined as duplicate_id
    duplicates: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # label -> records listed with it (labels of the set only), and what is wrong with them
    classes: dict[str, int] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)


def list_dataset(preset: Preset, data_root: str) -> Listing:
    """Lists a dataset with the preset's reader and assigns every source a split."""
    root = Path(data_root)
    if not root.exists():
        raise MissingDataError(
            f"Data root {root} does not exist. Pass --data-root pointing at the "
            f"{preset.name} dataset (see docs/datasets.md for the expected layout)."
        )
    reader = get_reader(preset.reader)
    sources: list[contract.Source] = []
    rejected: list[contract.Rejected] = []
    kept: dict[str, contract.Source] = {}
    duplicates: dict[str, list[str]] = collections.defaultdict(list)
    for row in reader(root, **preset.reader_options):
        row = _checked(row)
        if isinstance(row, contract.Source):
            row = dataclasses.replace(row, emotion=contract.normalise_label(row.emotion))
        if isinstance(row, contract.Rejected):
            rejected.append(row)
        elif row.id in kept:
            first = kept[row.id]
            duplicates[row.id].append(row.origin)
            rejected.append(contract.Rejected(
                row.id, contract.DUPLICATE_ID, row.origin,
                f"id {row.id!r} is already listed at {first.origin}, which is kept (see "
                f"splits.csv); ids must be unique within a dataset: rename or drop this one"))
        else:
            kept[row.id] = row
            sources.append(row)
    labels = preset.labels or tuple(sorted({s.emotion for s in sources}))
    known = [s for s in sources if s.emotion in labels]
    if not known:
        raise NothingValidError(
            f"No usable records under {root} for preset {preset.name!r} "
            f"({len(rejected)} rejected while listing). Check --data-root and the layout "
            f"in docs/datasets.md."
        )
    keys = [SplitKey(id=s.id, label=s.emotion, speaker=s.speaker or s.id, split=s.split)
            for s in known]
    cfg = preset.split
    split_of = assign_splits(
        keys, method=cfg.method, seed=cfg.seed, test_fraction=cfg.test_fraction,
        n_folds=cfg.n_folds, fold=cfg.fold, eval_speakers=list(cfg.eval_speakers) or None,
    )
    classes, warnings = _class_report(known, labels, split_of)
    for warning in warnings:
        log.warning("%s", warning)
    return Listing(sources=sources, rejected=rejected, labels=tuple(labels), split_of=split_of,
                   duplicates=dict(duplicates), classes=classes, warnings=warnings)


def _class_report(known: list[contract.Source], labels: Sequence[str],
                  split_of: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Records per class, and a warning for each class the split could not put in both train
    and eval: a model cannot learn it or it cannot be evaluated (a class typed once, `bored`,
    in a manifest whose classes are inferred). Counted on the split actually made."""
    per_split = collections.Counter((s.emotion, split_of.get(s.id, "")) for s in known)
    classes = {label: per_split[label, "train"] + per_split[label, "eval"] for label in labels}
    warnings = [
        f"class {label!r} has {n} record{'s' * (n != 1)} ({per_split[label, 'train']} train, "
        f"{per_split[label, 'eval']} eval): too few to split, so it cannot be both learned and "
        f"evaluated; add records, map it onto another class, or drop it"
        for label, n in classes.items()
        if n and not (per_split[label, "train"] and per_split[label, "eval"])]
    return classes, warnings


def _checked(row):
    """A reader's row made safe to write: a Source with a string that is not valid Unicode (an
    undecodable byte that slipped through as a surrogate escape) becomes Rejected(bad_encoding),
    one with a NUL Rejected(bad_row), and a Rejected row's text is shown with such bytes
    escaped, so no report write fails."""
    if isinstance(row, contract.Rejected):
        return contract.Rejected(*(text_file.shown(str(v)) for v in dataclasses.astuple(row)))
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if not isinstance(value, str):
            continue
        bad = text_file.encoding_problem(value)
        if bad:
            return contract.Rejected(
                text_file.shown(row.id), contract.BAD_ENCODING, text_file.shown(row.origin),
                f"{field.name}: {bad}; save the file as UTF-8 or set reader_options.encoding")
        if "\0" in value:  # a JSON \u0000: no CSV report (nor most tools) can hold it
            return contract.Rejected(
                text_file.shown(row.id), contract.BAD_ROW, text_file.shown(row.origin),
                f"{field.name} holds a NUL character; remove it")
    return row


class _Load(beam.DoFn):
    """Decodes one source; emits the Utterance or, tagged, its Rejected."""

    def __init__(self, labels: Sequence[str], require_text: bool, require_audio: bool):
        self._labels = tuple(labels)
        self._require_text = require_text
        self._require_audio = require_audio

    def process(self, item):
        source, split = item
        result = load_or_reject(source, self._labels, self._require_text, self._require_audio)
        progress.advance(progress.RECORDS)
        if isinstance(result, contract.Rejected):
            yield beam.pvalue.TaggedOutput("rejected", result)
        else:
            yield split, result


def split_uri(examples_uri: str, split: str) -> str:
    """Where TFX's readers look for a split of an Examples artifact at examples_uri."""
    examples = standard_artifacts.Examples()
    examples.uri = examples_uri
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    return artifact_utils.get_split_uri([examples], split)


def build_ingest(
    p: beam.Pipeline, listing: Listing, preset: Preset, examples_uri: str, scratch_dir: str
) -> None:
    """Adds the decode-and-write steps; counts and rejections go to scratch_dir."""
    items = [(s, listing.split_of.get(s.id, "")) for s in listing.sources]
    progress.start(progress.RECORDS, len(items))
    loaded = (
        p
        | "ListSources" >> beam.Create(items, reshuffle=True)
        | "Load" >> beam.ParDo(
            _Load(listing.labels, preset.require_text, preset.require_audio)
        ).with_outputs("rejected", main="utterances")
    )
    for split in SPLITS:
        (
            loaded.utterances
            | f"Keep{split}" >> beam.Filter(lambda kv, s=split: kv[0] == s)
            | f"Serialize{split}" >> beam.Map(lambda kv: to_example(kv[1]).SerializeToString())
            | f"Write{split}" >> beam.io.WriteToTFRecord(
                os.path.join(split_uri(examples_uri, split), "data_tfrecord"),
                file_name_suffix=".gz",
            )
        )
    (
        loaded.utterances
        | "CountKey" >> beam.Map(lambda kv: (kv[0], kv[1].emotion))
        | "Count" >> beam.combiners.Count.PerElement()
        | "CountToJson" >> beam.Map(lambda kv: json.dumps([kv[0][0], kv[0][1], kv[1]]))
        | "WriteCounts" >> beam.io.WriteToText(
            os.path.join(scratch_dir, _COUNTS), shard_name_template="")
    )
    (
        loaded.rejected
        | "RejectedToJson" >> beam.Map(lambda r: json.dumps(dataclasses.asdict(r)))
        | "WriteRejected" >> beam.io.WriteToText(
            os.path.join(scratch_dir, _REJECTED), shard_name_template="")
    )


def read_scratch(scratch_dir: str):
    """Reads back what the Beam job wrote (works on every runner, unlike closures)."""
    counts = [((split, emotion), n) for split, emotion, n in
              _read_jsonl(os.path.join(scratch_dir, _COUNTS))]
    rejected = [contract.Rejected(**row) for row in
                _read_jsonl(os.path.join(scratch_dir, _REJECTED))]
    return counts, rejected


def _read_jsonl(path: str) -> list:
    with fileio.open(path, "r") as f:
        return [json.loads(line) for line in f.read().splitlines() if line.strip()]


def _write_text(path: str, text: str) -> None:
    with fileio.open(path, "w") as f:
        f.write(text)


def _csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@dataclasses.dataclass
class IngestSummary:
    preset: str
    data_root: str
    labels: list[str]
    listed: int
    written: int
    quarantined: int
    by_split: dict[str, int]
    by_split_and_class: dict[str, dict[str, int]]
    quarantine_by_reason: dict[str, int]
    split_method: str
    labels_inferred: bool = False  # the preset has no fixed label set: classes come from data
    classes: dict[str, int] = dataclasses.field(default_factory=dict)  # label -> listed
    warnings: list[str] = dataclasses.field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = [
            f"preset {self.preset}: {self.listed} records listed, {self.written} written, "
            f"{self.quarantined} quarantined (split: {self.split_method})",
        ]
        for split, n in sorted(self.by_split.items()):
            per_class = ", ".join(
                f"{k}={v}" for k, v in sorted(self.by_split_and_class.get(split, {}).items())
            )
            lines.append(f"  {split}: {n} ({per_class})")
        if self.quarantine_by_reason:
            lines.append("  quarantine: " + ", ".join(
                f"{k}={v}" for k, v in sorted(self.quarantine_by_reason.items())))
        if self.labels_inferred:
            lines.append(f"  {len(self.classes)} classes inferred from the data (the preset has "
                         f"no fixed label set): " + ", ".join(
                             f"{k}={v}" for k, v in sorted(self.classes.items())))
        lines += [f"  warning: {w}" for w in self.warnings]
        return lines


def write_report(
    report_dir: str,
    preset: Preset,
    data_root: str,
    listing: Listing,
    counts: Iterable[tuple[tuple[str, str], int]],
    load_rejected: Iterable[contract.Rejected],
) -> IngestSummary:
    """Writes ingest_report.json, quarantine.csv and splits.csv; returns the report."""
    fileio.makedirs(report_dir)
    load_rejected = list(load_rejected)
    quarantined = list(listing.rejected) + load_rejected
    # Sources whose label is outside the label set never got a split.
    by_class: dict[str, dict[str, int]] = collections.defaultdict(dict)
    by_split: dict[str, int] = collections.Counter()
    for (split, emotion), n in counts:
        by_class[split][emotion] = n
        by_split[split] += n
    written = sum(by_split.values())
    reasons = collections.Counter(r.reason for r in quarantined)
    report = IngestSummary(
        preset=preset.name, data_root=str(data_root), labels=list(listing.labels),
        listed=len(listing.sources) + len(listing.rejected), written=written,
        quarantined=len(quarantined), by_split=dict(by_split),
        by_split_and_class={k: dict(v) for k, v in by_class.items()},
        quarantine_by_reason=dict(reasons), split_method=preset.split.method,
        labels_inferred=not preset.labels, classes=dict(listing.classes),
        warnings=list(listing.warnings),
    )
    _write_text(os.path.join(report_dir, REPORT_FILE),
                json.dumps(dataclasses.asdict(report), indent=2, sort_keys=True))
    _write_text(os.path.join(report_dir, QUARANTINE_FILE), _csv_text(
        ["id", "reason", "origin", "detail"],
        ([r.id, r.reason, r.origin, r.detail]
         for r in sorted(quarantined, key=lambda r: (r.reason, r.id)))))
    # Only a load failure unlists a split record: a listing rejection may share its id (a
    # duplicate_id names the record that is kept).
    failed_ids = {r.id for r in load_rejected}
    _write_text(os.path.join(report_dir, SPLITS_FILE), _csv_text(
        ["id", "split", "speaker", "emotion", "note"],
        ([s.id, listing.split_of[s.id], s.speaker, s.emotion, _note(s, listing)]
         for s in sorted(listing.sources, key=lambda s: s.id)
         if s.id in listing.split_of and s.id not in failed_ids)))
    return report


def _note(source: contract.Source, listing: Listing) -> str:
    """The decision a row of splits.csv records beyond its split (a duplicate id's)."""
    later = listing.duplicates.get(source.id)
    if not later:
        return ""
    return (f"kept (first at {source.origin}); {contract.DUPLICATE_ID} quarantined: "
            + "; ".join(later))


def finish_ingest(
    report_dir: str, preset: Preset, data_root: str, listing: Listing
) -> IngestSummary:
    """Turns what the Beam job left in report_dir into the final report files."""
    counts, rejected = read_scratch(report_dir)
    for name in (_COUNTS, _REJECTED):
        fileio.remove(os.path.join(report_dir, name))
    return write_report(report_dir, preset, data_root, listing, counts, rejected)


def run_ingest(
    preset: Preset,
    data_root: str,
    examples_uri: str,
    report_dir: Optional[str] = None,
    beam_args: Optional[list[str]] = None,
    pipeline: Optional[beam.Pipeline] = None,
) -> IngestSummary:
    """Runs ingestion end to end (used by `mer ingest` and the ExampleGen executor)."""
    listing = list_dataset(preset, data_root)
    report_dir = report_dir or examples_uri
    fileio.makedirs(report_dir)
    p = pipeline or beam.Pipeline(argv=beam_args or ["--direct_running_mode=in_memory"])
    with p:
        build_ingest(p, listing, preset, examples_uri, report_dir)
    report = finish_ingest(report_dir, preset, data_root, listing)
    if report.written == 0:
        raise NothingValidError(nothing_valid_message(report, report_dir))
    return report


def nothing_valid_message(report: IngestSummary, report_dir: str) -> str:
    return (
        f"Nothing valid left after ingesting {report.data_root} with preset "
        f"{report.preset!r}: {report.quarantined} records quarantined "
        f"({report.quarantine_by_reason}). See {os.path.join(report_dir, QUARANTINE_FILE)} "
        f"for each file and the fix."
    )
