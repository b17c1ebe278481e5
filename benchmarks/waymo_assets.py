"""Speed of the object-asset conversion: prints one JSON object with patches per second for
1 worker (in process) and 2 workers (a Dask LocalCluster of processes).

    .venv/bin/python benchmarks/waymo_assets.py [--segments 4] [--per-segment 40] [--compressed]

Writes a synthetic release in a temporary directory first (WOD layout and schema, the
test writer in tests/waymo/wod_writer.py, patches of about 100 x 130 pixels), then converts
it to 64 x 64 records once per worker count; the time covers the whole command (cluster
start, reading, decoding, camera fits, masks, resampling, shard writes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from waymo.wod_writer import Asset, write_assets

from gina3d.data.filters import FilterConfig
from gina3d.data.sources.waymo.asset_record import AssetConfig
from gina3d.data.sources.waymo.convert import ConvertConfig, convert_dataset
from gina3d.data.sources.waymo.layout import scan_assets


def release(root: Path, segments: int, per_segment: int, compressed: bool) -> None:
    assets = []
    for s in range(segments):
        for i in range(per_segment):
            ped = i % 4 == 3
            assets.append(
                Asset(
                    segment=f"{4000 + s}_000_000_020_000",
                    timestamp=1_000_000 + 100_000 * (i // 4),
                    object_id=f"b{s:02d}{i:03d}" + "x" * 16,
                    camera=1 + i % 5,
                    category="ped" if ped else "veh",
                    size=(0.8, 0.7, 1.8) if ped else (4.4, 1.9, 1.6),
                    height=140 if ped else 96,
                    width=70 if ped else 132,
                    distance=9.0 + i % 7,
                    azimuth=0.25 * i,
                    occluder=i % 3 == 0,
                )
            )
    write_assets(root, assets, compressed=compressed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--segments", type=int, default=4)
    p.add_argument("--per-segment", type=int, default=40)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--compressed", action="store_true", help="rays as ray_compressed + codec")
    args = p.parse_args()
    cfg = AssetConfig(resolution=args.resolution, filters=FilterConfig(min_visibility=0.0))
    result = {"benchmark": "waymo_assets"}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        release(Path(tmp) / "wod", args.segments, args.per_segment, args.compressed)
        result["write_release_seconds"] = round(time.perf_counter() - t0, 2)
        layout = scan_assets(Path(tmp) / "wod")
        for workers in (1, 2):
            t0 = time.perf_counter()
            m = convert_dataset(
                "assets", layout, Path(tmp) / f"out{workers}", cfg, ConvertConfig(workers=workers)
            )
            seconds = time.perf_counter() - t0
            result[f"workers_{workers}"] = {
                "patches_per_s": round(m["num_patches"] / seconds, 2),
                "patches": m["num_patches"],
                "seconds": round(seconds, 2),
            }
    result.update(
        segments=args.segments,
        rows=args.segments * args.per_segment,
        resolution=args.resolution,
        compressed_rays=args.compressed,
        cpu_count=os.cpu_count(),
        machine=platform.machine(),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
