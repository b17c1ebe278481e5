"""Shared CLI plumbing: one-line errors, non-zero exits, output checks."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gina3d.allocator import keep_freed_memory
from gina3d.errors import Gina3dError

NUMBER_VALUES = ("--box", "--size")  # options whose comma-separated numbers may start with "-"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``gina3d VERB: error: ...``.

    ``--size -1,2,3`` and ``--box -8,0,1,0`` are read as ``--size=-1,2,3`` (argparse would
    take a value starting with "-" for an option), so the value reaches its own check.
    """

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        args = sys.argv[1:] if args is None else args
        return super().parse_known_args(join_number_values(list(args)), namespace)


def join_number_values(argv: list[str]) -> list[str]:
    """``["--box", "-8,0,1,0"]`` -> ``["--box=-8,0,1,0"]`` for the ``NUMBER_VALUES`` options
    whose value looks like a negative number."""
    out: list[str] = []
    for a in argv:
        if (
            out
            and out[-1] in NUMBER_VALUES
            and len(a) > 1
            and a[0] == "-"
            and a[1] in "0123456789."
        ):
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


def run(prog: str, body: Callable[[], int | None]) -> int:
    """Run a command body; turn expected failures into one line on stderr and exit code 2.

    Freed memory is kept for reuse first (``allocator.keep_freed_memory``)."""
    keep_freed_memory()
    try:
        return int(body() or 0)
    except Gina3dError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def check_writable(path: str | os.PathLike, option: str) -> None:
    """Raise a one-line Gina3dError unless files can be written at ``path`` (a directory,
    existing or to be made): checked by writing a probe file into it, or into the nearest
    directory above it that exists, before any work starts. Creates nothing."""
    target = Path(path).absolute()
    probe_dir = target
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise Gina3dError(f"{option} {path}: {probe_dir} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=probe_dir):
            pass
    except OSError as e:
        raise Gina3dError(f"{option} {path}: cannot write in {probe_dir} ({e.strerror})") from None
