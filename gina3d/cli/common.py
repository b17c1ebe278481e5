"""Shared CLI plumbing: one-line errors, non-zero exits, output checks."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gina3d.errors import Gina3dError

DASH_VALUES = ("--size",)  # options whose value may start with "-" (then checked)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``gina3d VERB: error: ...``.

    ``--size -1,2,3`` is read as ``--size=-1,2,3`` (argparse would take the value for an
    option), so the value reaches its own check and gets a message about sizes.
    """

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        joined, i = [], 0
        while i < len(args):
            if args[i] in DASH_VALUES and i + 1 < len(args) and args[i + 1].startswith("-"):
                joined.append(f"{args[i]}={args[i + 1]}")
                i += 2
                continue
            joined.append(args[i])
            i += 1
        return super().parse_known_args(joined, namespace)


def run(prog: str, body: Callable[[], int | None]) -> int:
    """Run a command body; turn expected failures into one line on stderr and exit code 2."""
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
