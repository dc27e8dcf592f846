"""One split of a dataset through the pipeline's own ingestion and Transform, for the studies.

A study (`mer experiment models`, `benchmarks/quality.py`) trains many models on one split.
Instead of loading, splitting and featurising data a second way, it runs the pipeline's feature
prefix (`create_pipeline(..., features_only=True)`: EmotionExampleGen with the preset's reader
and split, StatisticsGen, SchemaGen, ExampleValidator, Transform) with TFX's LocalDagRunner and
reads the Transform's outputs back from ML Metadata. So a study's features, vocabulary and
split assignment are the ones `mer run` trains on, and a rerun is served from TFX's cache.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import numpy as np  # noqa: E402

from components.core.config import Preset, SplitConfig  # noqa: E402
from components.core.errors import UsageError  # noqa: E402
from components.core.features import LABEL  # noqa: E402
from pipeline.configs import RunConfig  # noqa: E402

TRAIN, EVAL = "train", "eval"


@dataclasses.dataclass
class TransformedSplit:
    """The Transform's outputs for one split: transformed examples and the transform graph."""

    name: str
    preset: Preset
    examples: object  # tfx Examples artifact (transformed_examples)
    transform_graph_uri: str
    labels: list[str]
    report_uri: str  # the ExampleGen's IngestReport: counts, quarantine, split assignment
    seconds: float  # wall time of the feature prefix (small when TFX served it from cache)
    cached: bool  # TFX reused the Transform's earlier outputs (same inputs, code, config)

    def assignments(self) -> list[dict]:
        """splits.csv of the ingestion: id, split (train/eval), speaker, emotion per record."""
        import csv
        import io

        from tfx.utils import io_utils

        from components.artifacts import SPLITS_FILE

        text = io_utils.read_string_file(os.path.join(self.report_uri, SPLITS_FILE))
        return list(csv.DictReader(io.StringIO(text)))

    def ingest_counts(self) -> dict:
        from components.artifacts import read_ingest_report

        return read_ingest_report(self.report_uri)

    def tft_output(self):
        import tensorflow_transform as tft

        return tft.TFTransformOutput(self.transform_graph_uri)

    def rows(self, split: str):
        """Unbatched (features, label) rows of `split`, read as the Trainer reads them."""
        import tensorflow as tf  # noqa: F401
        from tfx.components.util import tfxio_utils
        from tfx.types import artifact_utils
        from tfx.utils import io_utils
        from tfx_bsl.public import tfxio

        factory = tfxio_utils.get_tf_dataset_factory_from_artifact([self.examples], [])
        pattern = io_utils.all_files_pattern(artifact_utils.get_split_uri([self.examples], split))
        options = tfxio.TensorFlowDatasetOptions(batch_size=256, label_key=LABEL,
                                                 shuffle=False, num_epochs=1)
        return factory([pattern], options,
                       self.tft_output().transformed_metadata.schema).unbatch()

    def arrays(self, split: str, features: Sequence[str]) -> tuple[dict, np.ndarray]:
        """`features` of `split` as NumPy arrays (for scikit-learn and for scoring), and labels."""
        xs: dict[str, list] = {k: [] for k in features}
        ys = []
        for x, y in self.rows(split).batch(512):
            for k in features:
                xs[k].append(x[k].numpy())
            ys.append(y.numpy().reshape(-1))
        return {k: np.concatenate(v) for k, v in xs.items()}, np.concatenate(ys)


def split_name(split: SplitConfig) -> str:
    """A readable, unique folder name for a split configuration."""
    if split.method == "random":
        return f"random-seed{split.seed}"
    if split.method in ("kfold", "loso"):
        return f"{split.method}{split.n_folds}-fold{split.fold}-seed{split.seed}"
    if split.eval_speakers:
        return "speaker-" + "-".join(split.eval_speakers)
    return f"speaker-seed{split.seed}"


def prepare_split(preset: Preset, data_root: str, output_dir: str, tasks: Sequence[str],
                  split: SplitConfig, extra_features: Sequence[str] = (),
                  beam_mode: str = "in_memory") -> TransformedSplit:
    """Runs the feature prefix for `preset` with `split` and returns the Transform's outputs.

    Each split gets its own pipeline root and metadata store under `output_dir/<split name>`,
    so splits never share cache entries and a repeated study reuses its own.
    """
    from tfx import v1 as tfx

    from pipeline import pipeline as pipeline_def

    name = split_name(split)
    config = RunConfig(preset=preset.replace(split=split), data_root=os.path.abspath(data_root),
                       output_dir=os.path.join(os.path.abspath(output_dir), name),
                       beam_mode=beam_mode)
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        config.metadata_path)
    p = pipeline_def.create_pipeline(config, tasks=tasks, features_only=True,
                                     extra_features=extra_features,
                                     metadata_connection_config=connection)
    started = time.time()
    tfx.orchestration.LocalDagRunner().run(p)
    transform_state, transform = latest_outputs(config, "Transform")
    report = latest_outputs(config, "EmotionExampleGen")[1]["report"]
    import tensorflow_transform as tft

    from components.transform.preprocessing import label_names

    graph = transform["transform_graph"]
    labels = label_names(tft.TFTransformOutput(graph.uri), n_min=len(preset.labels))
    return TransformedSplit(name=name, preset=config.preset,
                            examples=transform["transformed_examples"],
                            transform_graph_uri=graph.uri, labels=labels, report_uri=report.uri,
                            seconds=time.time() - started, cached=transform_state == "CACHED")


def latest_outputs(config: RunConfig, node_id: str) -> tuple[str, dict]:
    """`node_id` in the newest run in MLMD (`pipeline.run_metadata`): its state (COMPLETE or
    CACHED) and its output artifacts by output key, as TFX artifacts (what tfxio reads)."""
    from tfx.types import artifact_utils

    from pipeline import run_metadata

    store = run_metadata.open_store(config.metadata_path)
    node = run_metadata.read_run(store).node(node_id)
    if node is None or node.state not in ("COMPLETE", "CACHED"):
        raise RuntimeError(f"{node_id} of {config.pipeline_name} did not complete "
                           f"({node.state if node else 'not run'}); see the run's log")
    types = {t.id: t for t in store.get_artifact_types()}
    outputs = {}
    for key, records in node.outputs.items():
        (artifact,) = store.get_artifacts_by_id([records[0].id])
        outputs[key] = artifact_utils.deserialize_artifact(types[artifact.type_id], artifact)
    return node.state, outputs


def speaker_folds(speakers: Sequence[str], n_folds: int) -> list[tuple[str, ...]]:
    """Speakers dealt round-robin into `n_folds` disjoint groups covering every speaker.

    RAVDESS' 24 actors in 6 folds gives 4 actors per fold, alternating genders as the actor
    numbers do (odd male, even female).
    """
    ordered = sorted(set(speakers))
    if n_folds < 2 or n_folds > len(ordered):
        raise UsageError(f"n_folds must be in [2, {len(ordered)}] speakers, got {n_folds}")
    return [tuple(ordered[i::n_folds]) for i in range(n_folds)]


def listed_speakers(preset: Preset, data_root: str) -> list[str]:
    """The speakers the preset's reader lists under `data_root` (no audio is decoded)."""
    from components.example_gen.ingest import list_dataset

    listing = list_dataset(preset, data_root)
    return sorted({s.speaker for s in listing.sources if s.speaker})
