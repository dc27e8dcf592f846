"""The Beam job of bulk inference: score every recording of a dataset with a pushed model.

Run by `mer infer` (pipeline/infer_cli.py) and by the pipeline's EmotionBulkInferrer after a
push (`mer run --infer-root`), so both write the same files from the same code.

Why Beam and tfx-bsl: the same job runs on the DirectRunner and on a Flink cluster (the scale
issue's runner options, `pipeline/beam_args.py`), and `RunInference` is the engine of TFX's
BulkInferrer: it loads the SavedModel once per worker and batches examples into its
`serving_default` signature (serialized tf.Examples, the model's own parsing and Transform
graph), so nothing here re-implements the model's input handling.

Steps: listed sources (the preset's reader, in the driver) -> decode each with ingestion's
decoder (`audio_io.decode_audio`: the same 16 kHz contract WAV `mer predict` sends; a file it
refuses goes to the quarantine with ingestion's reason) -> one tf.Example per clip, or per
segment with `--timeline` (`components.core.segments`) -> RunInference -> rows (id, path,
segment, start/end, top emotion, one probability column per class, model version) -> sharded
Parquet and CSV, the quarantine CSV, and counts for the summary.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Iterator, Optional, Sequence, Tuple

import apache_beam as beam

from components.core import contract
from components.core.segments import SegmentSettings, SegmentStream

PREDICTIONS = "predictions"
QUARANTINE = "quarantine.csv"
COUNTS = "counts"
SUMMARY = "summary.csv"
ROW_FIELDS = ("id", "path", "segment", "start_s", "end_s", "label", "top_emotion",
              "top_probability", "model_version")


@dataclasses.dataclass(frozen=True)
class JobSpec:
    model_path: str  # the version directory
    model_version: str
    class_names: tuple[str, ...]
    out_dir: str
    timeline: Optional[SegmentSettings] = None  # None: one prediction per clip
    batch_size: int = 64


def probability_column(emotion: str) -> str:
    return f"p_{emotion}"


def columns(spec: JobSpec) -> list[str]:
    return list(ROW_FIELDS) + [probability_column(e) for e in spec.class_names]


class _Decode(beam.DoFn):
    """Source -> (key, serialized tf.Example) per clip or segment; refusals tagged."""

    def __init__(self, timeline: Optional[SegmentSettings]):
        self._timeline = timeline

    def process(self, source: contract.Source) -> Iterator:
        import tensorflow as tf

        from components.core.wav import encode_wav
        from components.example_gen import audio_io

        def example(wav: bytes) -> bytes:
            feature = {contract.AUDIO: tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[wav]))}
            return tf.train.Example(features=tf.train.Features(feature=feature)) \
                .SerializeToString()

        base = (source.id, source.audio_path or "", source.emotion)
        try:
            if source.audio_path is None:
                raise contract.InvalidInput(contract.MISSING_FILE, f"{source.origin}: the record "
                                            f"has no audio file; add its audio path")
            if self._timeline is None:
                samples = audio_io.decode_audio(source.audio_path)
                yield (*base, 0, 0.0, round(len(samples) / contract.SAMPLE_RATE, 4)), \
                    example(encode_wav(samples))
                return
            audio_io.check_wav_header(source.audio_path)
            stream = SegmentStream(source.audio_path, self._timeline)
            for seg in stream:
                yield (*base, seg.index, round(seg.start_s, 3), round(seg.end_s, 3)), \
                    example(seg.wav())
            if stream.stats.silent:
                yield beam.pvalue.TaggedOutput(COUNTS, ("silent_windows", stream.stats.silent))
        except contract.InvalidInput as e:
            yield beam.pvalue.TaggedOutput("rejected", contract.Rejected(
                source.id, e.reason, source.origin or source.id, e.detail))
        except contract.DataError as e:  # the segmenter's refusals (unreadable, too long)
            yield beam.pvalue.TaggedOutput("rejected", contract.Rejected(
                source.id, contract.UNREADABLE_AUDIO, source.origin or source.id, str(e)))


def _row(keyed, spec: JobSpec) -> dict:
    """(key, PredictionLog) -> one output row."""
    import numpy as np
    import tensorflow as tf

    from components.core.signatures import EMOTIONS, PROBABILITIES

    key, log = keyed
    uid, path, label, segment, start, end = json.loads(key)
    outputs = log.predict_log.response.outputs
    probs = np.asarray(tf.make_ndarray(outputs[PROBABILITIES]), dtype=np.float64).reshape(-1)
    names = [n.decode("utf-8") for n in tf.make_ndarray(outputs[EMOTIONS]).reshape(-1)]
    by_name = dict(zip(names, probs.tolist(), strict=True))
    top = max(by_name, key=by_name.get)
    row = {"id": uid, "path": path, "segment": segment, "start_s": start, "end_s": end,
           "label": label, "top_emotion": top, "top_probability": round(by_name[top], 6),
           "model_version": spec.model_version}
    for e in spec.class_names:
        row[probability_column(e)] = round(by_name.get(e, 0.0), 6)
    return row


def _csv_line(values: Sequence) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _parquet_schema(spec: JobSpec):
    import pyarrow as pa

    types = {"segment": pa.int64(), "start_s": pa.float64(), "end_s": pa.float64(),
             "top_probability": pa.float64()}
    return pa.schema([(c, types.get(c, pa.float64() if c.startswith("p_") else pa.string()))
                      for c in columns(spec)])


def build(p: beam.Pipeline, sources: Sequence[contract.Source],
          listed_rejected: Sequence[contract.Rejected], spec: JobSpec) -> None:
    """Adds the job to `p`; outputs land under `spec.out_dir` (see the module docstring)."""
    from tfx_bsl.public.beam import RunInference
    from tfx_bsl.public.proto import model_spec_pb2

    from components.core.signatures import SERVING_DEFAULT

    inference_spec = model_spec_pb2.InferenceSpecType(
        saved_model_spec=model_spec_pb2.SavedModelSpec(
            model_path=spec.model_path, signature_name=[SERVING_DEFAULT]))
    decoded = (p | "Sources" >> beam.Create(list(sources))
               | "Spread" >> beam.Reshuffle()
               | "Decode" >> beam.ParDo(_Decode(spec.timeline))
               .with_outputs("rejected", COUNTS, main="examples"))
    rows = (decoded.examples
            | "Keyed" >> beam.Map(lambda kv: (json.dumps(kv[0]), kv[1]))
            .with_output_types(Tuple[str, bytes])  # RunInference keeps keys of a typed KV
            | "RunInference" >> RunInference(inference_spec)
            | "Rows" >> beam.Map(_row, spec))
    out = spec.out_dir
    cols = columns(spec)
    _ = rows | "Parquet" >> beam.io.WriteToParquet(
        os.path.join(out, PREDICTIONS), _parquet_schema(spec), file_name_suffix=".parquet")
    _ = (rows | "CsvLines" >> beam.Map(lambda r: _csv_line([r[c] for c in cols]))
         | "Csv" >> beam.io.WriteToText(os.path.join(out, PREDICTIONS), file_name_suffix=".csv",
                                       header=_csv_line(cols)))
    rejected = ((decoded.rejected, p | "Listed" >> beam.Create(list(listed_rejected)))
                | "AllRejected" >> beam.Flatten())
    _ = (rejected | "QuarantineLines" >> beam.Map(
            lambda r: _csv_line([r.id, r.reason, r.origin, r.detail]))
         | "Quarantine" >> beam.io.WriteToText(
            os.path.join(out, QUARANTINE), shard_name_template="",
            header=_csv_line(["id", "reason", "origin", "detail"])))
    counts = (
        (rows | "RowKeys" >> beam.FlatMap(_row_counts),
         rows | "Ids" >> beam.Map(lambda r: r["id"]) | "Recordings" >> beam.Distinct()
         | "RecordingKeys" >> beam.Map(lambda _: ("recordings", 1)),
         rejected | "RejectKeys" >> beam.Map(lambda r: (f"quarantined.{r.reason}", 1)),
         decoded[COUNTS])
        | "AllCounts" >> beam.Flatten()
        | "Sum" >> beam.CombinePerKey(sum)
        | "AsDict" >> beam.combiners.ToDict()
        | "Json" >> beam.Map(lambda d: json.dumps(d, sort_keys=True)))
    _ = counts | "WriteCounts" >> beam.io.WriteToText(
        os.path.join(out, COUNTS), file_name_suffix=".json", shard_name_template="")


def _row_counts(row: dict) -> Iterator[tuple[str, int]]:
    yield "rows", 1
    yield f"top.{row['top_emotion']}", 1
    if row["label"]:
        yield "labelled", 1
        yield "agree", int(row["label"] == row["top_emotion"])


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a finished job scored, as the table `summary.csv` holds."""

    lines: list[tuple[str, object]]
    listed: int  # sources plus rows refused while listing
    scored: int  # recordings with at least one row
    quarantined: int

    @property
    def complete(self) -> bool:
        """Every listed recording was scored or quarantined: nothing was lost."""
        return self.scored + self.quarantined == self.listed


def finish(out_dir: str, names: Sequence[str], listed: int, refused: int,
           seconds: float) -> Summary:
    """Reads the job's counts, writes `summary.csv` beside the predictions, returns it."""
    with open(os.path.join(out_dir, f"{COUNTS}.json"), encoding="utf-8") as f:
        counts = json.load(f)
    lines = summary_rows(counts, names, listed, refused, seconds)
    with open(os.path.join(out_dir, SUMMARY), "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("measure", "value"), *lines])
    quarantined = sum(v for k, v in counts.items() if k.startswith("quarantined."))
    return Summary(lines, listed + refused, counts.get("recordings", 0), quarantined)


def summary_rows(counts: dict, names: Sequence[str], listed: int, refused: int,
                 seconds: float) -> list[tuple[str, object]]:
    """The summary table: what was listed, scored and quarantined, and the emotions found."""
    rows = [("listed", listed + refused), ("recordings scored", counts.get("recordings", 0)),
            ("rows (clips or segments)", counts.get("rows", 0))]
    rows += [(f"quarantined: {k.split('.', 1)[1]}", v) for k, v in sorted(counts.items())
             if k.startswith("quarantined.")]
    if counts.get("silent_windows"):
        rows.append(("silent windows skipped", counts["silent_windows"]))
    total = max(1, counts.get("rows", 0))
    rows += [(f"top emotion: {e}", f"{counts.get(f'top.{e}', 0)} "
                                   f"({100 * counts.get(f'top.{e}', 0) / total:.1f}%)")
             for e in names]
    if counts.get("labelled"):
        rows.append(("agrees with the label", f"{100 * counts['agree'] / counts['labelled']:.1f}%"
                                              f" of {counts['labelled']} labelled rows"))
    rows.append(("wall seconds", f"{seconds:.1f}"))
    return rows
