"""`mer run` options that change the preset: they reach the run's preset or fail clearly."""

from __future__ import annotations

import pytest

from components.core import errors
from pipeline import cli, cli_config


def _config(*extra: str):
    args = cli.build_parser().parse_args(["run", "--preset", "ravdess", "--data-root", "/",
                                          *extra])
    return cli_config.run_config(args)


def test_duration_auto_split_and_epochs_reach_the_preset():
    config = _config("--duration", "auto", "--split", "speaker", "--epochs", "7")
    assert config.preset.features.auto_duration
    assert config.preset.split.method == "speaker"
    assert config.preset.train.epochs == 7
    assert _config("--duration", "4.5").preset.features.duration_s == 4.5
    assert _config().preset.features.duration_s == 3.0  # the preset's own value


def test_bad_duration_names_the_option_and_the_accepted_values():
    with pytest.raises(errors.MerError, match="--duration: .*seconds or 'auto'"):
        _config("--duration", "soon")


def test_tasks_outside_the_preset_fail_before_running():
    args = cli.build_parser().parse_args(["run", "--preset", "ravdess", "--data-root", "/",
                                          "--tasks", "ser,mer"])
    with pytest.raises(errors.MerError, match="runs ser, not mer"):
        cli_config.tasks(args, cli_config.run_config(args))
    args.tasks = "ser,xer"
    with pytest.raises(errors.MerError, match="Unknown task"):
        cli_config.tasks(args, cli_config.run_config(args))


def test_run_needs_a_preset_or_a_config_file():
    with pytest.raises(errors.MerError, match="--preset NAME or --config FILE"):
        cli_config.run_config(cli.build_parser().parse_args(["run", "--data-root", "/"]))
