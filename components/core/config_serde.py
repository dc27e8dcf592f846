"""Configuration <-> JSON-ready data: the one deserialiser of the schema in config.py.

Components read their part of a preset with `from_dict` (from `Preset.part_json`), and
`pipeline/config_file.py` a user's file: both through pydantic over the dataclasses' own type
hints, so a file is checked exactly like a part, and a field added to a config class needs no
change here.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Mapping

from components.core.config import ConfigError


def to_dict(value: Any) -> Any:
    """A configuration value as JSON-ready data (dataclasses -> dicts, tuples -> lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dict(v) for k, v in value.items()}
    return value


def from_dict(cls: type, raw: Mapping[str, Any], where: str = "") -> Any:
    """Builds dataclass `cls` from `to_dict` output or a configuration file: the one
    deserialiser (components read their part with it, `pipeline/config_file.py` a user's file).

    pydantic validates against the dataclasses' own type hints (tuples, nested dataclasses,
    unions), so a field added to a config class needs no change here; `__post_init__` checks
    run on the result. A key that is not a field is an UnknownFieldError naming it first.
    """
    _check_keys(cls, raw, where)
    return _adapter(cls).validate_python(dict(raw))


class UnknownFieldError(ConfigError):
    """A key that names no field of the configuration class at that place."""


def _check_keys(cls: type, raw: Mapping[str, Any], where: str) -> None:
    hints = _hints(cls)
    unknown = sorted(set(raw) - set(hints))
    if unknown:
        raise UnknownFieldError(where + unknown[0], f"unknown field; {cls.__name__} has "
                                f"{', '.join(hints)}")
    for key, value in raw.items():
        tp = hints[key]
        members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union,
                                                                    types.UnionType) else (tp,)
        for member in members:
            if dataclasses.is_dataclass(member) and isinstance(value, Mapping):
                _check_keys(member, value, f"{where}{key}.")
                break


@functools.cache
def _adapter(tp: Any) -> Any:
    import pydantic

    return pydantic.TypeAdapter(tp)


def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


