"""Quality benchmark: the pipeline's own models on the reference's datasets and protocols.

A thin driver over the code `mer run` ships. For each protocol, every split goes through the
pipeline's feature prefix (`pipeline.experiments.study_data.prepare_split`: the preset's
reader and split assignment in EmotionExampleGen, StatisticsGen, SchemaGen, ExampleValidator
and the Transform), and every candidate recipe (`quality_recipes.py`) trains on it through the
Trainer's `fit_model` (baselines through the Baselines component's code). Selection is honest:
the deployable recipe with the best mean accuracy on the validation carve-out of the train
split is the protocol's headline, and its figure is its mean test accuracy (and UAR) over the
splits, never a best-of-test pick.

Protocols:

* ``ravdess_random``: RAVDESS speech, stratified random 80/20, seeds 42, 43, 44 (speaker-
  dependent: the reference's protocol).
* ``ravdess_speaker``: speaker-independent over 6 folds of 4 actors covering all 24 actors.
* ``psychexp_random``: PsychExp text, stratified random 80/20, seeds 42, 43, 44.
* ``goemotions_ekman``: GoEmotions mapped to Ekman 6 + neutral (single-label rows), its own
  train/dev/test split (`predefined`); macro-F1 over the 7 classes.

``pushed_equals_benchmark`` runs ``mer run --preset ravdess`` (the local runner, same split
seed 42) and compares its Evaluator's accuracy with this benchmark's figure for the preset's
recipe on that split (equal within 0.5 points: the benchmark describes what is pushed).

Usage: ``python benchmarks/quality.py [--quick] [--preset-only] [--runs N] [--protocols a,b]
[--config FILE] [--set KEY=VALUE ...]``. ``--config``/``--set`` change each protocol's preset
exactly as they change ``mer run``'s (one loader, ``pipeline/config_file.py``), so a candidate
recipe is measured as a user would run it before it is shipped (e.g. ``--protocols
psychexp_random --preset-only --set train.ensemble_size=2``). It ends with
``ravdess_random_acc``, ``ravdess_speaker_acc``, ``ravdess_speaker_uar``,
``psychexp_random_acc``, ``goemotions_ekman_macro_f1`` and ``pushed_equals_benchmark`` lines.
"""

from __future__ import annotations

import argparse
import time
from typing import Optional, Sequence

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

import numpy as np  # noqa: E402
from quality_recipes import Recipe, candidates, preset_recipe  # noqa: E402
from quality_report import Record, headline, table_lines, write_records  # noqa: E402

from components.core.config import Preset, SplitConfig  # noqa: E402
from components.core.errors import MerError, UsageError  # noqa: E402
from components.core.features import OPTIONAL_FEATURES  # noqa: E402
from pipeline import cli_config  # noqa: E402
from pipeline.configs import DEFAULT_OUTPUT_DIR, SHARED_DATASETS, get_preset  # noqa: E402

CACHE = DEFAULT_OUTPUT_DIR / "benchmarks" / "quality"
PROTOCOLS = {  # name: (preset, task, split kind)
    "ravdess_random": ("ravdess", "ser", "random"),
    "ravdess_speaker": ("ravdess", "ser", "speaker6"),
    "psychexp_random": ("psychexp", "ter", "random"),
    "goemotions_ekman": ("goemotions", "ter", "predefined"),
}
PUSH_TOLERANCE = 0.5  # points


def protocol_splits(kind: str, preset, data_root: str, runs: int, seed: int
                    ) -> list[SplitConfig]:
    from pipeline.experiments.study_data import listed_speakers, speaker_folds

    if kind == "random":
        return [SplitConfig(method="random", seed=seed + i) for i in range(runs)]
    if kind == "speaker6":
        folds = speaker_folds(listed_speakers(preset, data_root), 6)
        return [SplitConfig(method="speaker", eval_speakers=fold) for fold in folds]
    return [SplitConfig(method="predefined")]


def run_protocol(name: str, recipes: Sequence[Recipe], data_root: str, splits, say,
                 base: Preset) -> list[Record]:
    from sklearn.metrics import f1_score

    from components.trainer.models.build import required_features
    from pipeline.experiments.study_data import prepare_split
    from pipeline.experiments.study_fit import fit_candidate

    task = PROTOCOLS[name][1]
    groups: dict[tuple, list[Recipe]] = {}
    for r in recipes:
        groups.setdefault(r.feature_key(base, task), []).append(r)
    records = []
    for members in groups.values():
        preset = members[0].apply(base, task)
        extra = sorted({f for r in members if r.deployable
                        for f in required_features(task, r.model)} & set(OPTIONAL_FEATURES))
        for split in splits:
            ts = prepare_split(preset, data_root, str(CACHE / name), (task,), split,
                               extra_features=extra)
            for r in members:
                cfg = r.apply(base, task).train.for_task(task)
                fit = fit_candidate(ts, task, r.model, cfg)
                f1 = 100.0 * f1_score(fit.y_test, fit.pred_test, average="macro",
                                      labels=list(range(len(ts.labels))), zero_division=0)
                rec = Record(protocol=name, recipe=r.name, deployable=r.deployable,
                             split=ts.name, val=fit.val_accuracy, test=fit.test_accuracy,
                             uar=fit.uar, macro_f1=f1, train=fit.train_accuracy,
                             epochs=fit.epochs, seconds=fit.seconds)
                records.append(rec)
                say(f"{name:<16} {ts.name:<28} {r.name:<28} val {_pct(rec.val)}  test "
                    f"{rec.test:6.2f}  UAR {rec.uar:6.2f}  F1 {rec.macro_f1:6.2f}  "
                    f"{rec.seconds:6.1f} s")
    return records


def _pct(v: Optional[float]) -> str:
    return "  -   " if v is None else f"{v:6.2f}"


def pushed_equals_benchmark(records: list[Record], data_root: str, say) -> str:
    """`mer run --preset ravdess`: its Evaluator accuracy vs our figure for that recipe/split."""
    from pipeline import local_runner
    from pipeline.configs import RunConfig
    from pipeline.experiments.study_data import split_name

    preset = get_preset("ravdess")
    mine = [r for r in records if r.protocol == "ravdess_random" and r.recipe ==
            preset_recipe(preset, "ser").name and r.split == split_name(preset.split)]
    if not mine:
        return "no (the benchmark did not run the preset's recipe on the preset's split)"
    config = RunConfig(preset=preset, data_root=data_root,
                       output_dir=str(CACHE / "pushed"))
    summary = local_runner.run(config, ["ser"])
    task = next(t for t in summary.tasks if t.task == "ser")
    if task.accuracy is None:
        return "no (the pipeline's Evaluator produced no accuracy)"
    pushed, ours = 100.0 * task.accuracy, mine[0].test
    say(f"pushed model (mer run --preset ravdess): Evaluator accuracy {pushed:.2f}%, blessed "
        f"{task.blessed}, pushed version {task.pushed_version}; benchmark {ours:.2f}%")
    return "yes" if abs(pushed - ours) <= PUSH_TOLERANCE else \
        f"no (pushed {pushed:.2f} vs benchmark {ours:.2f})"


def protocol_preset(name: str, args: argparse.Namespace) -> Preset:
    """The protocol's preset, changed by --config/--set as `mer run` would change it."""
    preset_name = PROTOCOLS[name][0]
    if not (args.config or args.set):
        return get_preset(preset_name)
    args.preset = preset_name
    preset = cli_config.load(args, with_flags=False).preset
    if preset.name != preset_name:
        raise UsageError(f"--config {args.config} starts from preset {preset.name!r}; protocol "
                         f"{name} runs preset {preset_name!r} (pick protocols with --protocols)")
    return preset


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one random split per protocol, fewer candidates")
    parser.add_argument("--runs", type=int, default=3, help="seeded random splits")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help=f"comma-separated subset of {','.join(PROTOCOLS)}")
    parser.add_argument("--preset-only", action="store_true",
                        help="only the preset's own recipe (what `mer run` trains) and the "
                             "baselines: one Transform per split, no alternatives to select from")
    parser.add_argument("--no-push-check", action="store_true",
                        help="skip the `mer run --preset ravdess` comparison")
    cli_config.add_file_arguments(parser)
    args = parser.parse_args(argv)
    changed = bool(args.config or args.set)
    names = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = sorted(set(names) - set(PROTOCOLS))
    if unknown:
        parser.error(f"unknown protocol(s) {unknown}; choose from {', '.join(PROTOCOLS)}")
    try:
        presets = {name: protocol_preset(name, args) for name in names}
    except MerError as e:
        parser.error(str(e))
    started = time.time()
    records: list[Record] = []
    for name in names:
        preset_name, task, kind = PROTOCOLS[name]
        root = SHARED_DATASETS / preset_name
        if not root.is_dir():
            print(f"{name}: skipped, no dataset at {root}")
            continue
        preset = presets[name]
        if changed:
            print(f"{name}: preset {preset_name} with {args.config or ''} "
                  f"{' '.join('--set ' + s for s in args.set or ())}".rstrip())
        splits = protocol_splits(kind, preset, str(root), 1 if args.quick else args.runs,
                                 args.seed)
        recipes = candidates(preset, task, quick=args.quick)
        if args.preset_only:
            recipes = [r for r in recipes if r.name == "preset" or not r.deployable]
        records += run_protocol(name, recipes, str(root), splits, print, preset)
    CACHE.mkdir(parents=True, exist_ok=True)
    write_records(records, CACHE / "records.csv")
    push = "no (skipped)"
    if changed:  # `mer run --preset ravdess` trains the shipped recipe, not the changed one
        push = "no (skipped: --config/--set measure a candidate, not the shipped preset)"
    elif not args.no_push_check and (SHARED_DATASETS / "ravdess").is_dir():
        push = pushed_equals_benchmark(records, str(SHARED_DATASETS / "ravdess"), print)
    print()
    for line in table_lines(records):
        print(line)
    print(f"wall time {time.time() - started:.0f} s; records: {CACHE / 'records.csv'}")
    print()
    heads = headline(records)
    for key, value in (
            ("ravdess_random_acc", heads.get(("ravdess_random", "test"))),
            ("ravdess_speaker_acc", heads.get(("ravdess_speaker", "test"))),
            ("ravdess_speaker_uar", heads.get(("ravdess_speaker", "uar"))),
            ("psychexp_random_acc", heads.get(("psychexp_random", "test"))),
            ("goemotions_ekman_macro_f1", heads.get(("goemotions_ekman", "macro_f1")))):
        digits = 3 if key.endswith("macro_f1") else 2
        print(f"{key}: {'n/a' if value is None else f'{value:.{digits}f}'}")
    print(f"pushed_equals_benchmark: {push}")
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    raise SystemExit(main())
