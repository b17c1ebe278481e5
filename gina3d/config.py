"""Config dataclasses to and from plain YAML, strictly: unknown keys are errors.

Every configurable thing has a dataclass beside it; a run saves its resolved config with
``save_yaml`` and every later command reloads it with ``load_yaml``, which names the exact
key that is unknown or ill-typed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gina3d.atomic import atomic_write_bytes
from gina3d.errors import Gina3dError

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """Plain types (dicts, lists, numbers, strings) of a dataclass tree."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where)
            except Gina3dError:
                continue
        raise Gina3dError(f"config key '{where}': {value!r} does not fit {tp}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise Gina3dError(f"config key '{where}': expected a list, got {value!r}")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        out = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads "1e-3" (no dot) as a string: accept any Python float literal
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise Gina3dError(f"config key '{where}': expected a finite number, got {value!r}")
        return number
    if tp in (int, str, bool):
        if type(value) is not tp:
            raise Gina3dError(f"config key '{where}': expected {tp.__name__}, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build ``cls`` from plain data; unknown or ill-typed keys raise Gina3dError.

    Keys of a removed option, listed in the class's ``RETIRED`` map (name -> (its off
    value, a note)), are dropped when they hold the off value (configs saved before the
    removal load as before) and refused with the note otherwise.
    """
    if not isinstance(data, dict):
        raise Gina3dError(f"config key '{where or '<root>'}': expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    retired = getattr(cls, "RETIRED", {})
    prefix = f"{where}." if where else ""
    for key in sorted(set(data) & set(retired)):
        off, note = retired[key]
        if data[key] != off:
            raise Gina3dError(f"config key '{prefix}{key}' = {data[key]!r}: {note}")
    data = {k: v for k, v in data.items() if k not in retired}  # saved at their off value
    unknown = sorted(set(data) - names)
    if unknown:
        raise Gina3dError(
            f"unknown config key '{prefix}{unknown[0]}' (known: {', '.join(sorted(names))})"
        )
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def save_yaml(obj: Any, path: str | os.PathLike) -> None:
    atomic_write_bytes(path, yaml.safe_dump(to_dict(obj), sort_keys=False).encode())


def load_yaml(cls: type[T], path: str | os.PathLike) -> T:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise Gina3dError(f"{path}: cannot read config ({e})") from None
    try:
        return from_dict(cls, data)
    except Gina3dError as e:
        raise Gina3dError(f"{path}: {e}") from None


def apply_overrides(obj: T, overrides: list[str]) -> T:
    """Return a copy with ``a.b.c=value`` overrides (values parsed as YAML) applied strictly."""
    data = to_dict(obj)
    for item in overrides:
        if "=" not in item:
            raise Gina3dError(f"override '{item}' must look like key.sub=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                raise Gina3dError(f"unknown config key '{key}'")
            node = node[p]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise Gina3dError(f"unknown config key '{key}'")
        node[parts[-1]] = yaml.safe_load(raw)
    return from_dict(type(obj), data)
