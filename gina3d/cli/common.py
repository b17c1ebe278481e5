"""Shared CLI plumbing: one-line errors, non-zero exits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gina3d.errors import Gina3dError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``gina3d VERB: error: ...``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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
