"""One loader, one precedence: preset < --config file < --set < convenience flags, with the
source of every value (what `mer config show --resolved` prints)."""

from __future__ import annotations

from pipeline import config_file
from pipeline.config_file import Flag


def test_each_layer_wins_over_the_one_before_and_says_so(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("preset: ravdess\ntrain:\n  epochs: 5\n  batch_size: 8\n")
    run = config_file.load(str(path), ["train.batch_size=16", "train.dropout=0.2"],
                           flags=[Flag("--epochs", "train.epochs", 3),
                                  Flag("--split", "split.method", "speaker")])
    t = run.preset.train
    assert (t.epochs, t.batch_size, t.dropout) == (3, 16, 0.2)
    assert run.preset.split.method == "speaker"
    assert run.sources["train.epochs"] == "--epochs"
    assert run.sources["train.batch_size"] == "--set train.batch_size=16"
    assert run.sources["split.method"] == "--split"
    assert run.sources["train.learning_rate"] == "preset ravdess"
    assert run.notes == (
        f"train.epochs = 3 from --epochs, overriding 5 from {path}:3 (flags win over --config "
        f"and --set)",
        "split.method = speaker from --split (over the preset's value)")
    shown = config_file.show_resolved(run)
    assert any(line.startswith("train.batch_size:") and line.endswith("# --set "
                                                                       "train.batch_size=16")
               for line in shown.splitlines()), shown


def test_a_bad_flag_value_names_the_flag():
    try:
        config_file.load(None, (), "ravdess", flags=[Flag("--duration", "features.duration_s",
                                                          "soon")])
    except config_file.ConfigFileError as err:
        assert str(err).startswith("--duration: features.duration_s must be seconds or 'auto'")
    else:
        raise AssertionError("accepted --duration soon")
