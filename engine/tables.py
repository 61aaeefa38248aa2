"""Typed tables of config.toml: one frozen dataclass per table, every table checked the same way.

A field's metadata may hold the rule its value follows (`choice`, `each_of`, `at_least`, `above`,
`between`). Unknown keys, values of the wrong kind and values out of range are refused with the
table, the key and what it takes. Paths are relative to config.toml's folder; `~` is expanded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.core.errors import ConfigError

KINDS = {int: "whole number", float: "number", str: "string", bool: "true or false"}


def choice(*options: str) -> dict[str, Any]:
    return {"choices": options}


def each_of(*options: str) -> dict[str, Any]:
    return {"each_of": options}


def table_of(kind: type) -> dict[str, Any]:
    """A table whose keys are the user's (e.g. direction words) and whose values are `kind`: str or a dataclass."""
    return {"table_of": kind}


def at_least(low: float) -> dict[str, Any]:
    return {"low": low}


def above(low: float) -> dict[str, Any]:
    return {"above": low}


def between(low: float, high: float) -> dict[str, Any]:
    return {"low": low, "high": high}


def read_table(cls: Any, table: Any, base: Path, where: str, error: type[Exception] = ConfigError) -> Any:
    """The dataclass `cls` filled from a TOML table (nested dataclasses from nested tables)."""
    if not isinstance(table, Mapping):
        raise error(f"[{where}] in config.toml must be a table.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise error(f"[{where}] has unknown keys {unknown}; known: {sorted(fields)}.")
    defaults = cls()
    values: dict[str, Any] = {}
    for name, value in table.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            values[name] = read_table(type(default), value, base, f"{where}.{name}", error)
            continue
        kind = fields[name].metadata.get("table_of")
        if kind is not None:
            values[name] = _table_of(kind, value, base, f"{where}.{name}", error)
            continue
        values[name] = _value(value, default, f"[{where}] {name}", error)
        _check_rule(values[name], fields[name].metadata, f"[{where}] {name}", error)
    for name, default in vars(defaults).items():
        if isinstance(default, Path) and name not in values and not default.is_absolute():
            values[name] = base / default
        elif isinstance(values.get(name), Path):
            values[name] = base / values[name]
    return cls(**values)


def _table_of(kind: type, table: Any, base: Path, where: str, error: type[Exception]) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise error(f"[{where}] in config.toml must be a table.")
    if dataclasses.is_dataclass(kind):
        return {str(key): read_table(kind, value, base, f"{where}.{key}", error) for key, value in table.items()}
    return {str(key): _value(value, kind(), f"[{where}] {key!r}", error) for key, value in table.items()}


def _value(value: Any, default: Any, key: str, error: type[Exception]) -> Any:
    if isinstance(default, Path):
        if not isinstance(value, str):
            raise error(f"{key} must be a path (a string), not {value!r}.")
        return Path(os.path.expanduser(value))
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise error(f"{key} must be a list of names.")
        return tuple(value)
    if not _same_kind(value, default):
        raise error(f"{key} must be a {KINDS.get(type(default), type(default).__name__)}, not {value!r}.")
    return type(default)(value)


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _check_rule(value: Any, rule: Mapping[str, Any], key: str, error: type[Exception]) -> None:
    if "choices" in rule and value not in rule["choices"]:
        raise error(f"{key} must be one of {', '.join(rule['choices'])}, not {value!r}.")
    if "each_of" in rule and (not value or any(v not in rule["each_of"] for v in value)):
        raise error(f"{key} lists names from {', '.join(rule['each_of'])}, not {list(value)!r}.")
    low, high, floor = rule.get("low"), rule.get("high"), rule.get("above")
    if (low is not None and value < low) or (high is not None and value > high) or (floor is not None and value <= floor):
        if low is not None and high is not None:
            wanted = f"from {low} to {high}"
        elif low is not None:
            wanted = f"{low} or more"
        else:
            wanted = f"above {floor}"
        raise error(f"{key} must be {wanted}, not {value!r}.")
