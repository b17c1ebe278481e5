"""Terminal plumbing of ``gina3d demo``: every phase's commands write to DIR/logs/<phase>.log,
the terminal gets one tqdm line per phase (advanced by a polling thread)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path


class Console:
    """The terminal's stderr, kept while fd 1 and 2 point at a phase's log file."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")

    def print(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


@contextlib.contextmanager
def logged(path: Path):
    """Send fd 1 and 2 (and sys.stdout/err, worker processes, C++ warnings) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a", buffering=1, encoding="utf-8") as log:
        log.write(f"\n== {_dt.datetime.now().isoformat(timespec='seconds')}\n")
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def fmt_s(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class PhaseBar:
    """One tqdm line for a phase, advanced by a polling thread."""

    FORMAT = "{desc:<18}{percentage:3.0f}%|{bar:24}| {elapsed}{postfix}"

    def __init__(self, console: Console, label: str, poll: Callable[[], tuple]) -> None:
        from tqdm import tqdm

        self.poll, self.stop = poll, threading.Event()
        self.bar = tqdm(
            total=1000, desc=label, bar_format=self.FORMAT, file=console.stream, leave=True,
            mininterval=0.5, ascii=not _utf8(console.stream),
        )  # fmt: skip
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                frac, note = self.poll()
            except Exception:  # a half-written file: try again next second
                continue
            self.bar.n = int(1000 * min(max(frac, 0.0), 0.99))
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.refresh()

    def finish(self, summary: str, ok: bool = True) -> None:
        self.stop.set()
        self.thread.join()
        if ok:
            self.bar.n = 1000
        self.bar.set_postfix_str(summary, refresh=False)
        self.bar.close()


def _utf8(stream) -> bool:
    return "utf" in (getattr(stream, "encoding", "") or "").lower()
