"""Dataset statistics for ``gina3d inspect``: counts read from the shards themselves."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from gina3d.data.shards import load_manifest, read_columns
from gina3d.data.tracks import WIDE_TRACK_DEG, track_keys, track_stats
from gina3d.errors import Gina3dError


def dataset_stats(root: str | os.PathLike) -> dict:
    """Counts per class, split, body type and time of day, and occlusion shares.

    Reads the metadata columns of every shard (so a corrupt shard is reported here) and
    raises Gina3dError for an empty dataset.
    """
    manifest = load_manifest(root)
    cols = ["cls", "subtype", "split", "time_of_day", "occluded_pixels", "object_pixels"]
    cols += ["visibility", "distance", "num_lidar_points", "scene_id", "object_id"]
    cols += ["cam_from_obj"]
    table = read_columns(root, cols).to_pydict()
    n = len(table["cls"])
    if n == 0:
        raise Gina3dError(
            f"{root}: dataset is empty (0 patches in {len(manifest['shards'])} shards)"
        )
    occluded = np.asarray(table["occluded_pixels"])
    objpix = np.asarray(table["object_pixels"], dtype=np.float64)
    vis = np.asarray(table["visibility"], dtype=np.float64)
    dist = np.asarray(table["distance"], dtype=np.float64)
    vehicle_types = Counter(s for c, s in zip(table["cls"], table["subtype"]) if c == "vehicle")
    ped_types = Counter(s for c, s in zip(table["cls"], table["subtype"]) if c == "pedestrian")
    scenes = Counter((sp, sc) for sp, sc in zip(table["split"], table["scene_id"]))
    return {
        "path": str(root),
        "source": manifest["source"],
        "seed": manifest["seed"],
        "schema_version": manifest["schema_version"],
        "resolution": manifest["resolution"],
        "num_patches": n,
        "num_objects": len(set(table["object_id"])),
        "num_scenes": len({sc for _, sc in scenes}),
        "per_class": dict(sorted(Counter(table["cls"]).items())),
        "per_split": dict(sorted(Counter(table["split"]).items())),
        "scenes_per_split": dict(sorted(Counter(sp for sp, _ in scenes).items())),
        "vehicle_types": dict(sorted(vehicle_types.items())),
        "pedestrian_types": dict(sorted(ped_types.items())),
        "per_time_of_day": dict(sorted(Counter(table["time_of_day"]).items())),
        "occluded_fraction": round(float((occluded > 0).mean()), 4),
        "occluded_fraction_5pct": round(
            float((occluded >= 0.05 * np.maximum(objpix + occluded, 1)).mean()), 4
        ),
        "mean_visibility": round(float(vis.mean()), 4),
        "distance_m": {
            q: round(float(np.quantile(dist, p)), 2)
            for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
        },
        "with_lidar_fraction": round(float((np.asarray(table["num_lidar_points"]) > 0).mean()), 4),
        "tracks": track_stats(
            table["cls"],
            track_keys(table["scene_id"], table["object_id"]),
            np.asarray(table["cam_from_obj"], dtype=np.float64),
        ),
        "filters": manifest["filters"],
    }


def format_stats(s: dict) -> str:
    """Human-readable summary of ``dataset_stats``."""

    def line(name: str, d: dict) -> str:
        return f"  {name:<16}" + ", ".join(f"{k} {v}" for k, v in d.items())

    f = s["filters"]
    removed = ", ".join(f"{k} {v}" for k, v in f["removed"].items())
    return "\n".join(
        [
            f"{s['path']}: {s['num_patches']} patches of {s['num_objects']} objects in "
            f"{s['num_scenes']} scenes ({s['source']}, seed {s['seed']}, "
            f"{s['resolution']}x{s['resolution']})",
            line("per class", s["per_class"]),
            line("per split", s["per_split"]),
            line("scenes/split", s["scenes_per_split"]),
            line("vehicle types", s["vehicle_types"]),
            line("pedestrians", s["pedestrian_types"]),
            line("time of day", s["per_time_of_day"]),
            f"  occluded         {s['occluded_fraction']:.1%} of patches have occluded object "
            f"pixels ({s['occluded_fraction_5pct']:.1%} with >= 5% hidden)",
            f"  visibility       mean {s['mean_visibility']:.2f}; distance p10/p50/p90 "
            + "/".join(str(v) for v in s["distance_m"].values())
            + " m",
            *[
                f"  tracks {cls:<9} {t['num_tracks']} objects, "
                f"{t['observations_per_object']['p50']:g} views each (median), spread "
                + "/".join(f"{v:g}" for v in t["view_spread_deg"].values())
                + f" deg p10/p50/p90, {t['patches_in_wide_tracks']:.0%} of patches in tracks "
                f">= {WIDE_TRACK_DEG:g} deg"
                for cls, t in s.get("tracks", {}).items()
            ],
            f"  filters          {f['candidates']} candidate views, {f['kept']} kept; removed: "
            + removed,
        ]
    )
