"""TensorFlow's set-up lives in one module (components/core/tf_env.py) and holds whichever
module of the project is imported first: tf.keras is the legacy Keras (tf_keras) TFX needs."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PACKAGES = ("components", "pipeline", "serving", "kubeflow")


def test_importing_a_module_first_still_gives_the_legacy_keras():
    """A representative module: it imports tensorflow first thing, with no set-up of its own
    (one subprocess: TF's import alone takes ~4 s of CPU)."""
    module = "components.trainer.fit"
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")}  # conftest sets them
    env["PYTHONPATH"] = str(REPO_ROOT)
    probe = f"import {module}\nimport tensorflow as tf\nprint('KERAS', tf.keras.__name__)\n"
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "KERAS tf_keras." in done.stdout, done.stdout + done.stderr


def test_the_set_up_is_defined_once():
    """Only tf_env names TF_USE_LEGACY_KERAS; every package imports it in its __init__, so no
    module can be imported without it."""
    setters = [str(p.relative_to(REPO_ROOT)) for pkg in PACKAGES + ("benchmarks",)
               for p in (REPO_ROOT / pkg).rglob("*.py")
               if 'environ.setdefault("TF_USE_LEGACY_KERAS"' in p.read_text()]
    assert setters == [], setters
    for pkg in PACKAGES:
        assert "import components.core.tf_env" in (REPO_ROOT / pkg / "__init__.py").read_text()
