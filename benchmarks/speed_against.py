"""Training speed of this tree against another commit, measured side by side.

    .venv/bin/python benchmarks/speed_against.py --base REV [--rounds 3]
        [--bench "stage1_speed.py --preset cpu --threads 2"]

Checks REV out into a temporary ``git worktree`` and runs the same benchmark script (this
tree's, so both sides are measured the same way) alternately against this tree's library
and REV's (``PYTHONPATH``), ``--rounds`` times each, one process at a time. Prints one JSON
object: each side's ``train_seconds_per_step`` (and ``..._adversarial`` when reported) per
round, their medians, and the speed-up (base seconds / these seconds). The benchmark must
only use library calls that exist at REV.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEYS = ("train_seconds_per_step", "train_seconds_per_step_adversarial")


def run_bench(bench: list[str], library: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{library}{os.pathsep}{HERE}"}
    out = subprocess.run(
        [sys.executable, str(HERE / bench[0]), *bench[1:]],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", required=True, help="the commit to compare against")
    p.add_argument("--rounds", type=int, default=3, help="runs of each side (3)")
    p.add_argument("--bench", default="stage1_speed.py --preset cpu --threads 2")
    args = p.parse_args()
    bench = shlex.split(args.bench)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            rows: dict[str, list[dict]] = {"this": [], "base": []}
            for _ in range(args.rounds):
                rows["this"].append(run_bench(bench, ROOT))
                rows["base"].append(run_bench(bench, base))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    result: dict = {"benchmark": "speed_against", "bench": args.bench, "base": args.base}
    for key in KEYS:
        if rows["this"][0].get(key) is None:
            continue
        this = [r[key] for r in rows["this"]]
        old = [r[key] for r in rows["base"]]
        result[key] = {
            "this": this,
            "base": old,
            "this_median": statistics.median(this),
            "base_median": statistics.median(old),
            "speedup": round(statistics.median(old) / statistics.median(this), 3),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
