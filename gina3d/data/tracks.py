"""Tracks: the patches of one physical object, and how widely they see it.

A track is every patch of one object within a split, keyed by ``(scene_id, object_id)``
(synthetic: scene + object; Waymo object assets: segment + object id across frames and
cameras). Splits hold whole scenes, so a track never crosses splits.

All rays of a patch live in the object's own box frame, so every observation of a track can
score the asset decoded from any one of them. How much a track adds depends on how widely
its views differ: ``view_direction`` is the unit vector from the box centre to the patch's
camera, in the box frame, and a track's ``view_spread_deg`` is the largest angle between two
of its viewing directions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WIDE_TRACK_DEG = 30.0  # a track spanning at least this many degrees counts as wide


def track_keys(scene_ids: Sequence[str], object_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The track key of each patch: (scene_id, object_id)."""
    return list(zip(scene_ids, object_ids))


def view_direction(cam_from_obj: np.ndarray) -> np.ndarray:
    """Unit vectors [...,3] from the box centre to the camera centre, in the box frame.

    cam_from_obj: [...,4,4]. The camera centre in the box frame is -R^T t.
    """
    m = np.asarray(cam_from_obj, dtype=np.float64)
    rot, t = m[..., :3, :3], m[..., :3, 3]
    centre = -np.einsum("...ji,...j->...i", rot, t)
    return centre / np.maximum(np.linalg.norm(centre, axis=-1, keepdims=True), 1e-12)


def view_spread_deg(directions: np.ndarray) -> float:
    """The largest angle in degrees between two of the unit vectors ``directions`` [N,3]
    (0 for fewer than two)."""
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    if len(d) < 2:
        return 0.0
    cos = np.clip(d @ d.T, -1.0, 1.0)
    return float(np.degrees(np.arccos(cos.min())))


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles in degrees between unit vectors a [...,3] and b [...,3]."""
    cos = np.clip(np.sum(np.asarray(a) * np.asarray(b), axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def group_tracks(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """Track key -> indices of its patches, in the order given."""
    tracks: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(keys):
        tracks.setdefault(k, []).append(i)
    return tracks


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return {"p10": 0.0, "p50": 0.0, "p90": 0.0}
    return {
        q: round(float(np.quantile(v, p)), 2) for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
    }


def track_stats(
    classes: Sequence[str],
    keys: Sequence[tuple[str, str]],
    cam_from_obj: np.ndarray,
    wide_deg: float = WIDE_TRACK_DEG,
) -> dict[str, dict]:
    """Per class: ``num_tracks``, ``observations_per_object`` and ``view_spread_deg`` (p10,
    p50, p90 over objects), and ``patches_in_wide_tracks`` (the share of the class's patches
    whose track spans at least ``wide_deg`` degrees).

    classes, keys: per patch; cam_from_obj: [N,4,4].
    """
    dirs = view_direction(np.asarray(cam_from_obj).reshape(-1, 4, 4))
    out: dict[str, dict] = {}
    for cls in sorted(set(classes)):
        idx = [i for i, c in enumerate(classes) if c == cls]
        tracks = group_tracks([keys[i] for i in idx])
        counts, spreads, wide = [], [], 0
        for members in tracks.values():
            spread = view_spread_deg(dirs[[idx[m] for m in members]])
            counts.append(len(members))
            spreads.append(spread)
            wide += len(members) if spread >= wide_deg else 0
        out[cls] = {
            "num_tracks": len(tracks),
            "observations_per_object": _quantiles(counts),
            "view_spread_deg": _quantiles(spreads),
            "patches_in_wide_tracks": round(wide / max(len(idx), 1), 4),
        }
    return out
