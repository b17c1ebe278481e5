"""Speed of the synthetic dataset build: prints one JSON object with ``patches_per_s``.

    .venv/bin/python benchmarks/synth_build.py [--scenes 8] [--workers 2] [--resolution 64]

Builds a fresh dataset in a temporary directory (rendering, LiDAR, patch extraction, shard
writes, all included) and divides the patches written by the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.patches import PatchConfig
from gina3d.data.sources.synthetic.world import SynthConfig, SyntheticSource


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scenes", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = SyntheticSource(SynthConfig(scenes=args.scenes), args.seed)
        cfg = BuildConfig(workers=args.workers, patches=PatchConfig(resolution=args.resolution))
        t0 = time.perf_counter()
        m = build_dataset(source, tmp, cfg, seed=args.seed)
        seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "benchmark": "synth_build",
                "patches_per_s": round(m["num_patches"] / seconds, 2),
                "patches": m["num_patches"],
                "scenes": args.scenes,
                "frames_per_scene": source.cfg.frames_per_scene,
                "rig": source.cfg.rig,
                "seconds": round(seconds, 2),
                "workers": args.workers,
                "resolution": args.resolution,
                "cpu_count": os.cpu_count(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
