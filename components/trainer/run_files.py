"""What `run_fn` writes beside the model (training curves, the model's card).

Written through `tfx.dsl.io.fileio` (TensorFlow's file systems) because the Trainer's run
directory is an artifact URI: a local folder here, `gs://...` on Kubeflow.
"""

from __future__ import annotations

import csv
import io
import json
import os

from tfx.dsl.io import fileio

from components.trainer.fit import ACCURACY

HISTORY_CSV = "history.csv"
HISTORY_PNG = "history.png"
MODEL_CARD = "model.json"


def save_history(history: dict[str, list[float]], run_dir: str) -> None:
    """Training curves (`fit.FitResult.history`) as CSV, and PNG when matplotlib is there."""
    fileio.makedirs(run_dir)
    keys = sorted(history)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["epoch"] + keys)
    for i in range(len(history.get("loss", []))):
        w.writerow([i + 1] + [history[k][i] for k in keys])
    with fileio.open(os.path.join(run_dir, HISTORY_CSV), "w") as f:
        f.write(buf.getvalue())
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", ACCURACY), strict=True):
        for prefix in ("", "val_"):
            if prefix + metric in history:
                ax.plot(history[prefix + metric], label=prefix + metric)
        ax.set_xlabel("epoch")
        ax.legend()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    with fileio.open(os.path.join(run_dir, HISTORY_PNG), "wb") as f:
        f.write(png.getvalue())


def write_model_card(run_dir: str, card: dict) -> None:
    """model.json: the task, the model's name and the label order of its outputs."""
    fileio.makedirs(run_dir)
    with fileio.open(os.path.join(run_dir, MODEL_CARD), "w") as f:
        f.write(json.dumps(card))
