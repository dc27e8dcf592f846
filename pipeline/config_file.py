"""Run configuration files: a base preset plus any field of the typed schema, in YAML or JSON.

```yaml
preset: ravdess                # the preset to start from (`mer config show ravdess`)
data_root: ../shared/datasets/ravdess   # optional; relative to this file
split: {method: speaker}
models: {ser: cnn2d}           # shorthand for train.models
train: {epochs: 20, learning_rate: 0.0005}
```

Why pydantic over the dataclasses themselves: the schema is `components/core/config.py`, and a
second hand-kept list of fields would drift from it. pydantic validates a document against the
dataclasses' own type hints (unknown keys are errors: `__pydantic_config__` there), and the
presets' `__post_init__` checks run on the result, so a file is checked exactly like a preset
written in Python. Errors name the key, the file and line (from PyYAML's node marks) and what
is allowed; nothing here imports TensorFlow, so a bad file fails in well under a second.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from components.core.config import (
    ConfigError,
    Preset,
    UnknownFieldError,
    field_names,
    from_dict,
    to_dict,
)
from components.core.errors import ConfigurationError
from pipeline.configs import PRESETS, get_preset, shared_dataset_root

BASE_KEY, DATA_ROOT_KEY, MODELS_KEY = "preset", "data_root", "models"
RUN_KEYS = (BASE_KEY, DATA_ROOT_KEY)  # keys of the file that are not preset fields


class ConfigFileError(ConfigurationError):
    """A configuration file or --set override that cannot run, with where and why."""


@dataclasses.dataclass(frozen=True)
class Flag:
    """A convenience flag of a command: a shorthand for `--set KEY=VALUE` (e.g. --epochs)."""

    option: str  # as typed, e.g. "--epochs"
    key: str  # the dotted field it sets, e.g. "train.epochs"
    value: Any


@dataclasses.dataclass(frozen=True)
class RunFile:
    preset: Preset
    data_root: Optional[str]  # absolute, or None when the file names none
    # Where each field's value came from ("preset ravdess", "r.yaml:4", "--set ...", "--epochs").
    sources: dict = dataclasses.field(default_factory=dict)
    # One line per convenience flag that replaced a value the file or a --set gave.
    notes: tuple = ()


def show(preset_name: str) -> str:
    """A preset as a configuration file to start from (`mer config show PRESET`)."""
    preset = get_preset(preset_name)
    doc = {BASE_KEY: preset.name, **to_dict(preset)}
    root = shared_dataset_root(preset.name)
    head = (f"# `mer run --config FILE` configuration, starting from preset {preset.name!r}.\n"
            f"# Every field is shown with the preset's value; delete what you do not change.\n"
            f"# `{MODELS_KEY}: {{ser: cnn2d}}` is short for train.models; paths are relative to "
            f"this file.\n")
    if root:
        data = f"{DATA_ROOT_KEY}: {root}\n"
    elif preset.name == "demo":
        data = f"# {DATA_ROOT_KEY}: (generated under <output-dir>/data/demo when not given)\n"
    else:
        data = f"# {DATA_ROOT_KEY}: /path/to/dataset\n"
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
    first, rest = body.split("\n", 1)
    return head + first + "\n" + data + rest


def load(path: Optional[str], sets: Sequence[str] = (), preset_name: Optional[str] = None,
         flags: Sequence[Flag] = ()) -> RunFile:
    """The one way a run's configuration is built, in this precedence (later wins):

    1. the preset (`preset:` in the file, else `preset_name`, i.e. --preset);
    2. the file's values (`--config FILE`);
    3. each `--set KEY=VALUE`, in order;
    4. the convenience flags (`flags`: --epochs, --split, --duration): shorthands for a --set,
       each noted in `RunFile.notes` when it replaces a value the file or a --set gave.

    `RunFile.sources` says, per field, which of these the value came from.
    """
    doc: dict = {}
    lines: dict[tuple, str] = {}
    if path:
        doc, lines = _read(path)
    if preset_name and BASE_KEY not in doc:
        doc[BASE_KEY] = preset_name
    for item in sets:
        key, value = _parse_set(item)
        _put(doc, key, value)
        lines[tuple(key)] = f"--set {item}"
    notes = []
    for flag in flags:
        key = tuple(flag.key.split("."))
        before = _get(doc, key)
        if before is not _MISSING:
            notes.append(f"{flag.key} = {flag.value} from {flag.option}, overriding {before} "
                         f"from {lines.get(key, path or '--set')} (flags win over --config "
                         f"and --set)")
        else:
            notes.append(f"{flag.key} = {flag.value} from {flag.option} (over the preset's "
                         f"value)")
        _put(doc, list(key), flag.value)
        lines[key] = flag.option
    where = path or "--set"
    base_name = doc.pop(BASE_KEY, None)
    if base_name is None:
        raise ConfigFileError(f"{where}: no `{BASE_KEY}:` key naming the preset to start from; "
                              f"presets: {', '.join(sorted(PRESETS))}")
    if base_name not in PRESETS:
        raise ConfigFileError(f"{_at(lines, (BASE_KEY,), where)}: unknown preset "
                              f"{base_name!r}; presets: {', '.join(sorted(PRESETS))}")
    data_root = doc.pop(DATA_ROOT_KEY, None)
    if data_root is not None and path:
        data_root = str((Path(path).resolve().parent / str(data_root)).resolve())
    merged = to_dict(get_preset(base_name))
    if MODELS_KEY in doc:
        doc.setdefault("train", {})
        models = doc.pop(MODELS_KEY)
        if not isinstance(models, dict):
            raise ConfigFileError(f"{_at(lines, (MODELS_KEY,), where)}: `{MODELS_KEY}` maps "
                                  f"tasks to model names, e.g. {{ser: cnn2d}}; got {models!r}")
        if isinstance(doc["train"], dict):
            doc["train"].setdefault(MODELS_KEY, {})
            if isinstance(doc["train"][MODELS_KEY], dict):
                doc["train"][MODELS_KEY].update(models)
        lines = {(("train",) + k if k[:1] == (MODELS_KEY,) else k): v for k, v in lines.items()}
    _merge(merged, doc)
    preset = _validate(merged, lines, where)
    if "reader" in doc:  # a preset's own reader is known; one named here is checked now
        from components.example_gen.readers import READERS

        if preset.reader not in READERS:
            raise ConfigFileError(f"{_at(lines, ('reader',), where)}: unknown reader "
                                  f"{preset.reader!r}; readers: {', '.join(sorted(READERS))}")
    sources = {k: lines.get(tuple(k.split(".")), f"preset {base_name}")
               for k in _leaf_keys(to_dict(preset))}
    return RunFile(preset=preset, data_root=data_root, sources=sources, notes=tuple(notes))


_MISSING = object()


def _get(doc: dict, key: tuple) -> Any:
    for part in key:
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _leaf_keys(doc: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            out += _leaf_keys(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def show_resolved(run_file: RunFile) -> str:
    """The effective configuration, one field a line with where its value came from
    (`mer config show --resolved ...`)."""
    flat = to_dict(run_file.preset)
    width = max(len(k) for k in run_file.sources)
    out = [f"# effective configuration of preset {run_file.preset.name!r}; precedence: "
           f"preset < --config file < --set < convenience flags",
           f"{DATA_ROOT_KEY + ':':<{width + 2}}{run_file.data_root or '(not given)'}"]
    for key in _leaf_keys(flat):
        value = _get(flat, tuple(key.split(".")))
        out.append(f"{key + ':':<{width + 2}}{json.dumps(value):<24} # {run_file.sources[key]}")
    return "\n".join(out + [f"# {note}" for note in run_file.notes]) + "\n"


def _read(path: str) -> tuple[dict, dict[tuple, str]]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigFileError(f"cannot read the configuration file {path}: {e}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text) if not path.endswith(".json") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise ConfigFileError(f"{path}: not valid YAML/JSON: {e}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigFileError(f"{path}: a configuration file is a mapping of keys "
                              f"(`{BASE_KEY}: NAME`, ...), not a {type(doc).__name__}")
    lines: dict[tuple, str] = {}
    _node_lines(node, (), path, lines)
    return doc, lines


def _node_lines(node, prefix: tuple, path: str, out: dict[tuple, str]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = prefix + (key.value,)
            out[here] = f"{path}:{key.start_mark.line + 1}"
            _node_lines(value, here, path, out)


def _parse_set(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigFileError(f"--set {item!r}: write KEY=VALUE, e.g. --set train.epochs=20")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigFileError(f"--set {item!r}: the value is not valid YAML: {e}") from None
    return [k.strip() for k in key.split(".")], value


def _put(doc: dict, key: list[str], value: Any) -> None:
    for part in key[:-1]:
        nxt = doc.setdefault(part, {})
        if not isinstance(nxt, dict):
            nxt = doc[part] = {}
        doc = nxt
    doc[key[-1]] = value


def _merge(base: dict, changes: dict) -> None:
    """Mappings merge key by key (a file names only what it changes); other values replace."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _validate(merged: dict, lines: dict[tuple, str], where: str) -> Preset:
    """The preset of `merged`, through the core's one deserialiser (`config.from_dict`)."""
    import pydantic

    try:
        return from_dict(Preset, merged)
    except UnknownFieldError as err:
        loc = tuple(err.key.split("."))
        raise ConfigFileError(f"{_at(lines, loc, where)}: unknown key {err.key!r}; allowed "
                              f"here: {', '.join(_fields_at(loc[:-1]))}") from None
    except pydantic.ValidationError as err:
        raise ConfigFileError("\n".join(_explain(e, lines, where) for e in err.errors())) from None


def _explain(error: dict, lines: dict[tuple, str], where: str) -> str:
    loc = tuple(str(p) for p in error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        loc = tuple(cause.key.split("."))
        return f"{_at(lines, loc, where)}: {cause}"
    key = ".".join(loc) or "(top level)"
    message = re.match(r"Value error, ((\w+(?:\.\w+)+) .*)", error["msg"])
    if message:  # a dataclass's own check ("features.duration_s must be ..."): name its key
        return f"{_at(lines, tuple(message.group(2).split('.')), where)}: {message.group(1)}"
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        allowed = _fields_at(loc[:-1])
        return (f"{_at(lines, loc, where)}: unknown key {key!r}; allowed here: "
                f"{', '.join(allowed)}")
    got = error.get("input")
    return f"{_at(lines, loc, where)}: {key}: {error['msg']} (got {got!r})"


def _at(lines: dict[tuple, str], loc: tuple, where: str) -> str:
    for n in range(len(loc), 0, -1):
        if tuple(loc[:n]) in lines:
            return lines[tuple(loc[:n])]
    return where


def _fields_at(loc: tuple) -> list[str]:
    """The keys allowed under `loc` (top level: the preset's fields and the run keys)."""
    cls: Any = Preset
    for part in loc:
        hints = typing.get_type_hints(cls)
        cls = hints.get(part)
        if not dataclasses.is_dataclass(cls):
            return []
    names = list(field_names(cls))
    return list(RUN_KEYS) + [MODELS_KEY] + names if cls is Preset else names


def resolve_data_root(run_file: RunFile, given: Optional[str]) -> Optional[str]:
    """--data-root wins over the file's `data_root`."""
    return os.path.abspath(given) if given else run_file.data_root
