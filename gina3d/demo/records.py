"""Small records of ``gina3d demo``: JSON files, the last logged step, timestamps."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path


def last_step(run_dir: Path) -> int | None:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return None
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 4096))
        lines = f.read().decode("utf-8", "replace").strip().splitlines()
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError):
            continue
    return None


def fmt_metrics(row: dict, keys) -> str:
    parts = []
    for k in keys:
        v = row.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            parts.append(f"{k} {v:.3g}")
    return (", " + ", ".join(parts)) if parts else ""


def now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")
