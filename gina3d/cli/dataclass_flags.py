"""Command-line flags from a config dataclass: one field, one flag, its docstring the help.

``add_dataclass_flags(parser, cls, skip=...)`` adds a flag for every field of ``cls`` (in
field order, so the field order is the order of ``--help``); ``dataclass_from_args(cls,
args)`` builds ``cls`` back from the parsed arguments. A field ``mesh_resolution`` becomes
``--mesh-resolution``, parsed into ``args.mesh_resolution``; its help is the field's
docstring (the string literal under it) followed by its default.

Field metadata (``dataclasses.field(metadata={...})``) changes a flag:

* ``flag``: the flag's name when it differs from the field's (``"--points"`` for
  ``points_per_shape``); the value still lands on ``args.<field name>``.
* ``help``: help text in place of the docstring.
* ``choices``: the values the flag accepts.

Types: ``int``, ``float``, ``str``; ``X | None`` of those (default None: the flag is
optional); ``tuple[X, ...]`` (one or more values) and ``tuple[X, X]`` (exactly that many);
``Literal[...]`` (its values are the choices); ``bool``: a switch, ``--name`` when the
default is False, ``--no-name`` (which sets False) when it is True.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import textwrap
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")
SCALARS = (int, float, str)


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its docstring (the string literal right under the field), over the
    dataclass and its dataclass bases; fields without one (or without source) are absent."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def flag_name(f: dataclasses.Field) -> str:
    """The flag of a field: its ``flag`` metadata, else ``--`` and the name with dashes."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _value_kind(tp: Any, name: str) -> tuple[type, str | int | None, list | None]:
    """(element type, nargs, choices) of a non-bool field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2 and rest[0] is not bool:
            return _value_kind(rest[0], name)
    elif origin is typing.Literal:
        kinds = {type(a) for a in args}
        if len(kinds) == 1 and kinds <= set(SCALARS):
            return kinds.pop(), None, list(args)
    elif origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis and args[0] in SCALARS:
            return args[0], "+", None
        if args and args[0] in SCALARS and all(a is args[0] for a in args):
            return args[0], len(args), None
    elif tp in SCALARS:
        return tp, None, None
    raise TypeError(f"field '{name}': no command-line flag for type {tp!r}")


def _is_tuple(tp: Any) -> bool:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_tuple(a) for a in typing.get_args(tp))
    return tp is tuple or typing.get_origin(tp) is tuple


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)


def _help(text: str, default: Any, is_bool: bool) -> str:
    text = " ".join(text.split())
    if is_bool:
        suffix = "(on by default; this flag turns it off)" if default else ""
    elif default is None or default is dataclasses.MISSING:
        suffix = ""
    else:
        suffix = f"(default: {_shown(default)})"
    if suffix:
        text = f"{text.rstrip('.')} {suffix}" if text else suffix
    return text.replace("%", "%%")  # argparse formats help with %


def add_dataclass_flags(
    parser: argparse.ArgumentParser, cls: type, skip: typing.Iterable[str] = ()
) -> list[str]:
    """Add a flag per field of the dataclass ``cls`` but those in ``skip`` (module
    docstring); returns the names of the fields that got one. A field without a default is
    a required flag; an unknown name in ``skip`` or an unsupported type is a TypeError."""
    fields = dataclasses.fields(cls)
    skip = set(skip)
    unknown = skip - {f.name for f in fields}
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    added = []
    for f in fields:
        if f.name in skip or not f.init:
            continue
        tp, default = hints[f.name], _default(f)
        text = f.metadata.get("help", docs.get(f.name, ""))
        flag = flag_name(f)
        if tp is bool:
            if default is True and "flag" not in f.metadata:
                flag = "--no-" + f.name.replace("_", "-")
            action = "store_false" if default is True else "store_true"
            help_text = _help(text, default, True)
            parser.add_argument(flag, dest=f.name, action=action, help=help_text)
        else:
            kind, nargs, choices = _value_kind(tp, f.name)
            kw: dict[str, Any] = {"dest": f.name, "type": kind, "help": _help(text, default, False)}
            if nargs is not None:
                kw["nargs"] = nargs
            choices = f.metadata.get("choices", choices)
            if choices is not None:
                kw["choices"] = list(choices)
            else:
                kw["metavar"] = flag.lstrip("-").replace("-", "_").upper()
            if default is dataclasses.MISSING:
                kw["required"] = True
            else:
                kw["default"] = default
            parser.add_argument(flag, **kw)
        added.append(f.name)
    return added


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """``cls`` from the parsed ``args``: every field that has a value there (lists become
    tuples for tuple fields), ``overrides`` on top, the dataclass defaults for the rest."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        values[f.name] = (
            tuple(value) if isinstance(value, list) and _is_tuple(hints[f.name]) else value
        )
    values.update(overrides)
    return cls(**values)
