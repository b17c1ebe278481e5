"""Do two training runs follow the same loss curve? Measured against run-to-run noise.

    .venv/bin/python benchmarks/compare_curves.py --ref RUN_A --same RUN_B --noise RUN_C
        [--keys loss,psnr] [--plot curves.png]

RUN_A and RUN_B are the same training (same data, preset and seed) made by two versions of
the code; RUN_C is RUN_A's code with another seed, the noise a change of seed makes. For
each metric of ``metrics.jsonl`` it prints the largest and the mean absolute difference
per logged step of B and of C from A, and the means over the last half of the run; a
version change that keeps the result differs from A less than another seed does. Also
the median ``images_per_s`` of each run. ``--plot`` draws the curves of the first key.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def read_metrics(run: str) -> dict[int, dict]:
    """Logged lines of RUN/metrics.jsonl by step (a replayed step keeps its last line)."""
    rows = {}
    for line in (Path(run) / "metrics.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[int(row["step"])] = row
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ref", required=True, help="run A")
    p.add_argument("--same", required=True, help="run B: A's training by other code")
    p.add_argument("--noise", required=True, help="run C: A's code with another seed")
    p.add_argument("--keys", default="loss,psnr")
    p.add_argument("--plot", help="PNG of the first key's three curves")
    p.add_argument("--labels", default="A,B,C (other seed)", help="the curves' names")
    args = p.parse_args()
    runs = {name: read_metrics(r) for name, r in (("a", args.ref), ("b", args.same),
                                                  ("c", args.noise))}  # fmt: skip
    steps = sorted(set(runs["a"]) & set(runs["b"]) & set(runs["c"]))
    if not steps:
        raise SystemExit("the runs share no logged step")
    out: dict = {"benchmark": "compare_curves", "steps": [steps[0], steps[-1]], "keys": {}}
    half = steps[len(steps) // 2 :]
    for key in args.keys.split(","):
        a, b, c = (np.array([runs[n][s][key] for s in steps]) for n in ("a", "b", "c"))
        last = [steps.index(s) for s in half]
        out["keys"][key] = {
            "same_max_abs_diff": round(float(np.abs(b - a).max()), 5),
            "same_mean_abs_diff": round(float(np.abs(b - a).mean()), 5),
            "noise_max_abs_diff": round(float(np.abs(c - a).max()), 5),
            "noise_mean_abs_diff": round(float(np.abs(c - a).mean()), 5),
            "last_half_mean": {
                n: round(float(v[last].mean()), 5)
                for n, v in (("ref", a), ("same", b), ("noise", c))
            },
        }
    out["images_per_s_median"] = {
        n: round(float(np.median([r["images_per_s"] for r in runs[k].values()])), 2)
        for n, k in (("ref", "a"), ("same", "b"), ("noise", "c"))
    }
    if args.plot:
        from gina3d.evaluation.plots import Series, line_plot

        key = args.keys.split(",")[0]
        labels = args.labels.split(",")
        series = [
            Series(label, steps, [runs[n][s][key] for s in steps])
            for label, n in zip(labels, ("a", "b", "c"))
        ]
        line_plot(series, title=f"training {key}", ylabel=key).save(args.plot)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
