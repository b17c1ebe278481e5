"""add_dataclass_flags / dataclass_from_args: types, defaults, switches, help, round trip;
and ``gina3d eval gen``'s flags, built from GenEvalConfig, as users script them."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from gina3d.cli.dataclass_flags import add_dataclass_flags, dataclass_from_args, field_docs


@dataclass
class Example:
    """A config with one field of each supported kind."""

    count: int = 3
    """How many things."""
    scale: float = 0.5
    """Scale factor, in %."""
    name: str = "box"
    label: str | None = None
    """Optional label."""
    size: tuple[float, float, float] = (4.0, 2.0, 1.5)
    """Box size L W H in metres."""
    views: tuple[int, ...] = (0, 90)
    """View azimuths."""
    mode: Literal["fast", "exact"] = "fast"
    """Speed or accuracy."""
    colour: str = field(default="red", metadata={"choices": ("red", "blue")})
    """Paint colour."""
    points_per_shape: int = field(default=64, metadata={"flag": "--points"})
    """Points per shape."""
    verbose: bool = False
    """Say more."""
    mesh: bool = True
    """Write the mesh."""
    hidden: int = 7
    """Not a flag."""


@dataclass
class Required:
    path: str
    """Where to write."""


def _parser(cls=Example, **kw) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t")
    add_dataclass_flags(p, cls, **kw)
    return p


def test_defaults_round_trip_to_the_dataclass():
    args = _parser(skip=("hidden",)).parse_args([])
    assert dataclass_from_args(Example, args) == Example()
    assert not hasattr(args, "hidden")


def test_types_choices_and_flag_names():
    argv = ["--count", "5", "--scale", "2", "--name", "cyl", "--label", "x"]
    argv += ["--size", "1", "2", "3", "--views", "0", "45", "90", "135"]
    argv += ["--mode", "exact", "--colour", "blue", "--points", "128"]
    cfg = dataclass_from_args(Example, _parser().parse_args(argv))
    assert cfg.count == 5 and isinstance(cfg.count, int)
    assert cfg.scale == 2.0 and isinstance(cfg.scale, float)
    assert (cfg.name, cfg.label, cfg.mode, cfg.colour) == ("cyl", "x", "exact", "blue")
    assert cfg.size == (1.0, 2.0, 3.0) and cfg.views == (0, 45, 90, 135)
    assert cfg.points_per_shape == 128
    p = _parser()
    for bad in (["--count", "1.5"], ["--mode", "slow"], ["--colour", "green"], ["--size", "1"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    with pytest.raises(SystemExit):  # the field name is not a flag when metadata names one
        p.parse_args(["--points-per-shape", "3"])


def test_bool_switches():
    p = _parser()
    assert dataclass_from_args(Example, p.parse_args(["--verbose"])).verbose is True
    assert dataclass_from_args(Example, p.parse_args(["--no-mesh"])).mesh is False
    cfg = dataclass_from_args(Example, p.parse_args([]))
    assert cfg.verbose is False and cfg.mesh is True
    with pytest.raises(SystemExit):
        p.parse_args(["--mesh"])


def test_help_text_comes_from_field_docstrings_and_defaults():
    text = " ".join(_parser().format_help().split())
    assert "--count COUNT How many things (default: 3)" in text
    assert "Scale factor, in % (default: 0.5)" in text  # % survives argparse's formatting
    assert "--label LABEL Optional label." in text  # None default: not shown
    assert "--size SIZE SIZE SIZE Box size L W H in metres (default: 4.0 2.0 1.5)" in text
    assert "--mode {fast,exact} Speed or accuracy (default: fast)" in text
    assert "--points POINTS Points per shape (default: 64)" in text
    assert "--verbose Say more." in text
    assert "--no-mesh Write the mesh (on by default; this flag turns it off)" in text
    assert "--name NAME (default: box)" in text  # no docstring: the default alone
    docs = field_docs(Example)
    assert docs["count"] == "How many things." and "name" not in docs


def test_overrides_required_fields_and_bad_specs():
    p = _parser(Required)
    with pytest.raises(SystemExit):
        p.parse_args([])
    assert dataclass_from_args(Required, p.parse_args(["--path", "a"])) == Required("a")
    cfg = dataclass_from_args(Example, _parser().parse_args([]), count=9)
    assert cfg.count == 9
    with pytest.raises(TypeError, match="no field nope"):
        _parser(skip=("nope",))

    @dataclass
    class Bad:
        values: dict = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match="field 'values'"):
        _parser(Bad)


# ``gina3d eval gen``: the flags and defaults users got before the flags came from the config
GEN_FLAGS = [
    "--run", "--data", "--split", "--n", "--seed", "--resolution", "--mesh-resolution",
    "--points", "--network", "--reference", "--max-real", "--steps", "--temperature",
    "--guidance", "--batch-size", "--device", "--threads", "--quiet",
]  # fmt: skip
GEN_DEFAULT_SETTINGS = {
    "n": 64,
    "seed": 0,
    "resolution": 64,
    "mesh_resolution": 64,
    "points_per_shape": 1024,
    "steps": 12,
    "temperature": 1.0,
    "guidance": 2.0,
    "reference": "auto",
    "min_lidar_points": 64,
    "max_real": 1024,
    "kid_subsets": 100,
    "batch_size": 8,
    "device": "cpu",
}


def _gen_parser():
    from gina3d.cli.eval import build_parser

    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return top, sub.choices["gen"]


def test_eval_gen_flags_and_defaults_stay_as_users_script_them():
    from gina3d.evaluation.gen_config import GenEvalConfig

    top, gen = _gen_parser()
    flags = [s for a in gen._actions for s in a.option_strings if s not in ("-h", "--help")]
    assert flags == GEN_FLAGS
    args = top.parse_args(["gen", "--run", "r", "--data", "d"])
    settings = dataclass_from_args(GenEvalConfig, args)
    assert settings.run_settings() == GEN_DEFAULT_SETTINGS
    assert settings.network == "default" and args.split == "test"
    argv = ["gen", "--run", "r", "--data", "d", "--points", "64", "--batch-size", "2"]
    argv += ["--network", "random-test", "--reference", "lidar", "--temperature", "0.5"]
    settings = dataclass_from_args(GenEvalConfig, top.parse_args(argv))
    assert (settings.points_per_shape, settings.batch_size, settings.temperature) == (64, 2, 0.5)
    assert (settings.network, settings.reference) == ("random-test", "lidar")
