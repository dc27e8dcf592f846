"""`mer predict` and `mer serve`: the application's entry points to the served models.

Kept out of pipeline/cli.py (which runs and inspects pipelines) so each command module stays
small; cli.py calls :func:`register`. Only argparse is imported at module load: TensorFlow and
the serving stack load when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from components.core.errors import ModelError, UsageError
from pipeline import timeline_cli
from pipeline.configs import DEFAULT_OUTPUT_DIR

DEFAULT_SERVING_DIR = str(DEFAULT_OUTPUT_DIR / "serving")


def _is_single_model(path: str) -> bool:
    """A SavedModel dir or one model's version base (not a repository of ter/ser/mer)."""
    from serving.backends.versions import numbered_versions

    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return True
    return bool(numbered_versions(path))


def cmd_predict(args) -> int:
    """Top emotions per task, through TF Serving (--server) or the pushed models in-process."""
    from components.core.tasks import TASK_INPUTS, TASKS
    from serving.audio import file_to_wav16k
    from serving.backends.inprocess import InProcessBackend
    from serving.client import EmotionClient, backend_from_url
    from serving.errors import NoSignalError, ServingError

    if args.timeline:
        from pipeline.timeline_cli import cmd_timeline

        return cmd_timeline(args, single_model=_is_single_model(args.model_dir))
    if not args.text and not args.audio:
        raise UsageError("Give --text and/or --audio.")
    audio = file_to_wav16k(args.audio) if args.audio else None
    if not args.server and _is_single_model(args.model_dir):
        return _predict_single_model(args, audio)

    tasks = list(TASKS) if args.task in (None, "all") else [args.task]
    text = args.text
    if text is None and audio is not None and any("text" in TASK_INPUTS[t] for t in tasks):
        text = _transcribe(audio, args.no_asr)
    backend = backend_from_url(args.server, timeout=args.timeout) if args.server \
        else InProcessBackend(args.model_dir)
    print(f"backend: {backend.description}")
    status = 0
    with EmotionClient(backend) as client:
        for task in tasks:
            missing = [k for k in TASK_INPUTS[task] if {"text": text, "audio": audio}[k] is None]
            if missing:
                note = f"{task}: skipped (needs {' and '.join(TASK_INPUTS[task])}; " \
                       f"no {' or '.join(missing)} given)"
                if args.task not in (None, "all"):
                    raise UsageError(note)
                print(note)
                continue
            try:
                preds = client.predict(task, text=text, audio=audio, top_k=args.top_k)
            except NoSignalError as e:  # no emotion claimed: the web API's status `no_signal`
                print(f"{task}: no_signal: {e.public_message(str(e))}")
                continue
            except ServingError as e:
                print(f"{task}: error: {e}", file=sys.stderr)
                status = 2
                continue
            finally:
                _print_failures(client, task)
            print(f"{task}:")
            for p in preds:
                print(f"  {p.emotion:<12} {p.probability:.3f}")
    return status


def _print_failures(client, task: str) -> None:
    """The versions of `task` that fail the serving check, and the one answering instead."""
    from serving.errors import ServingError

    failures = client.model_failures(task)
    if not failures:
        return
    try:
        served = f"serving version {client.model_version(task)} instead"
    except ServingError as e:
        served = f"no version serves: {e}"
    for version, reason in failures.items():
        print(f"{task}: version {version} is not served: {reason}; {served}", file=sys.stderr)


def _transcribe(audio: bytes, disabled: bool) -> Optional[str]:
    """Text for TER/MER from speech, with pocketsphinx when installed; None otherwise."""
    from serving import asr

    if disabled:
        return None
    if not asr.available():
        print("no --text given and pocketsphinx is not installed, so tasks that need text are "
              "skipped (`pip install pocketsphinx` to transcribe the audio offline)")
        return None
    text = asr.transcribe(audio)
    if not text:
        print(f"ASR ({asr.ENGINE}) recognised no words; tasks that need text are skipped")
        return None
    print(f"text (from ASR, {asr.ENGINE}): {text!r}")
    return text


def _predict_single_model(args, audio: Optional[bytes]) -> int:
    """--model-dir names one model (e.g. artifacts/serving/mer): the original behaviour."""
    from components.core.saved_model_check import VersionCheckError
    from components.core.signal import input_problem
    from serving.backends.inprocess import InProcessModel

    try:
        model = InProcessModel(args.model_dir)
    except VersionCheckError as e:
        raise ModelError(f"the model at {e.path} cannot be served: {e.reason}") from None
    if args.task == "all":
        raise UsageError(f"--task all needs a model repository (e.g. {DEFAULT_SERVING_DIR}), "
                         f"not the single model {args.model_dir}")
    text = args.text
    if text is None and "text" in model.inputs and audio is not None:
        text = _transcribe(audio, args.no_asr)
    inputs = {"text": text if "text" in model.inputs else None,
              "audio": audio if "audio" in model.inputs else None}
    print(f"model {model.path}")
    for name, value in inputs.items():  # the rule every backend applies (serving/client.py)
        why = None if value is None else input_problem(name, value)
        if why is not None:
            print(f"  no_signal: {why}")
            return 0
    preds = model.predict(**inputs, top_k=args.top_k)
    for p in preds:
        print(f"  {p.emotion:<12} {p.probability:.3f}")
    return 0


def cmd_serve(args) -> int:
    """The web page and JSON API (serving/app)."""
    from serving.app import serve
    from serving.app.schemas import Limits

    limits = Limits(timeline_window_s=timeline_cli.window_for(args.preset, args.timeline_window),
                    max_timeline_s=args.timeline_max_duration)
    serve(host=args.host, port=args.port, server=args.server, model_dir=args.model_dir,
          batching_config=args.batching_config, limits=limits)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `predict` and `serve` to the `mer` parser's subcommands."""
    pred = subparsers.add_parser("predict", help="top emotions from raw text and/or audio")
    pred.add_argument("--model-dir", default=DEFAULT_SERVING_DIR,
                      help="the Pusher's model repository (holding ter/, ser/, mer/), or one "
                           "pushed model base (e.g. artifacts/serving/mer) or version dir")
    pred.add_argument("--server", metavar="URL",
                      help="TF Serving instead of --model-dir: http://host:8501 (REST) or "
                           "grpc://host:8500 (gRPC)")
    pred.add_argument("--task", choices=("ter", "ser", "mer", "all"),
                      help="which model(s) to ask (default: all whose inputs are given)")
    pred.add_argument("--text")
    pred.add_argument("--audio", help="audio file (any format soundfile reads)")
    pred.add_argument("--top-k", type=int, default=3)
    pred.add_argument("--no-asr", action="store_true",
                      help="with --audio but no --text, do not transcribe the speech")
    pred.add_argument("--timeout", type=float, default=10.0, help="seconds, with --server")
    timeline_cli.add_arguments(pred)
    pred.set_defaults(fn=cmd_predict)

    srv = subparsers.add_parser("serve", help="web page + JSON API for TER, SER and MER")
    srv.add_argument("--host", default="127.0.0.1",
                     help="interface to bind (0.0.0.0 exposes it: put a proxy in front)")
    srv.add_argument("--port", type=int, default=8080)
    srv.add_argument("--server", metavar="URL",
                     help="TF Serving backend: http://host:8501 or grpc://host:8500 "
                          "(default: the pushed models, loaded in-process)")
    srv.add_argument("--model-dir", default=DEFAULT_SERVING_DIR,
                     help="model repository for the in-process backend")
    srv.add_argument("--batching-config", metavar="FILE",
                     help="in-process micro-batching parameters, TF Serving's text format "
                          "(default: serving/batching.config, the file TF Serving uses)")
    srv.add_argument("--preset", help="POST /api/timeline's window = this preset's clip "
                                      "length (features.duration_s)")
    srv.add_argument("--timeline-window", type=float, metavar="S",
                     help=f"POST /api/timeline's window in seconds (default: --preset's clip "
                          f"length, else {timeline_cli.DEFAULT_WINDOW_S:g})")
    srv.add_argument("--timeline-max-duration", type=float, metavar="S",
                     default=timeline_cli.SegmentSettings.max_duration_s,
                     help="longest recording POST /api/timeline accepts (default 4 h)")
    srv.set_defaults(fn=cmd_serve)
