"""LiDAR returns of inserted assets by ray casting their surface, merged into a frame's sweep.

Surface (``surface_hit.first_surface``): for a signed-distance asset, the first zero
crossing of its distance along the ray; for a density asset, where the accumulated opacity
``1 - exp(-tau)`` first reaches ``threshold`` (0.5).

Beams (``beam_directions.py``): the rig's ``LidarSpec`` when the frame has one (synthetic
frames), else the directions of the frame's own points plus a regular grid over each box.

Merge: an existing point is removed when the asset's surface along the ray from the LiDAR
origin to it is nearer than the point. A beam's new return is kept when no remaining point
on the same beam is nearer, and when it lies within ``max_range``. No range noise or
dropout is added: the returns are what a noiseless sensor would see.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gina3d.assets.asset_field import prepare_insertions
from gina3d.assets.beam_directions import beam_index, grid_directions
from gina3d.assets.surface_hit import MarchConfig, first_surface, surface_kind
from gina3d.data.frame import Frame
from gina3d.errors import Gina3dError
from gina3d.geometry.boxes import ray_box_intersect
from gina3d.geometry.transforms import apply, invert, rotate


@dataclass
class LidarSimConfig(MarchConfig):
    """How asset surfaces are found (``MarchConfig``: threshold, step, max_samples, refine,
    chunk) and merged."""

    max_range: float = 75.0
    """Metres; farther returns are dropped (the rig's own range when it has a spec)."""
    grid_elevation_deg: float = 20.0 / 63
    """Frames without a spec: grid step in elevation (Waymo's top LiDAR: 64 rows, 20 deg)."""
    grid_azimuth_deg: float = 360.0 / 2650
    """Frames without a spec: grid step in azimuth (Waymo's top LiDAR: 2650 columns)."""

    def validate(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise Gina3dError(f"LiDAR threshold must be in (0, 1), got {self.threshold}")
        if self.step <= 0 or self.max_samples < 2 or self.refine < 0:
            raise Gina3dError("LiDAR march: need step > 0, max_samples >= 2, refine >= 0")


@dataclass
class LidarResult:
    """The merged sweep: [L,3] float32 vehicle-frame points, [L] int32 instance ids."""

    points: np.ndarray
    instance: np.ndarray
    inserted: np.ndarray  # [L] bool: a simulated return of an asset
    origin: np.ndarray  # [3] LiDAR origin in the vehicle frame
    beams: str  # "spec" or "points+grid"
    added: int = 0
    removed: int = 0
    per_asset: list[dict] = field(default_factory=list)


def cast_assets(insertions, origin: np.ndarray, dirs: np.ndarray, cfg, limit=None):
    """Nearest asset surface along vehicle-frame rays from ``origin`` [3] with unit ``dirs``
    [N,3]: distance [N] (inf: none) and which insertion [N] (-1: none). Rays whose box entry
    lies beyond ``limit`` [N] are not cast."""
    best = np.full(len(dirs), np.inf)
    which = np.full(len(dirs), -1, dtype=np.int64)
    for k, ins in enumerate(insertions):
        obj_from_vehicle = invert(ins.vehicle_from_obj)
        o = np.broadcast_to(apply(obj_from_vehicle, origin), dirs.shape)
        d = rotate(obj_from_vehicle, dirs)
        t_near, _, hit = ray_box_intersect(o, d, ins.size)
        if limit is not None:
            hit &= t_near < limit
        r = np.flatnonzero(hit & (t_near < best))
        dist = first_surface(ins.field, np.ascontiguousarray(o[r]), d[r], cfg)
        nearer = dist < best[r]
        best[r[nearer]], which[r[nearer]] = dist[nearer], k
    return best, which


def simulate_lidar(
    frame: Frame,
    assets,
    model=None,
    threshold: float | None = None,
    spec="auto",
    vehicle_from_lidar: np.ndarray | None = None,
    cfg: LidarSimConfig | None = None,
    device: str = "cpu",
) -> LidarResult:
    """Simulated returns of ``assets`` merged into ``frame``'s LiDAR points.

    ``assets`` as for ``compose.compose_frame`` (the same call numbers instance ids the
    same way); ``spec``: a ``LidarSpec``, None (no spec: the frame's point directions plus
    a grid), or "auto" (the synthetic rig's for synthetic frames, else None);
    ``vehicle_from_lidar`` defaults to the spec's pose (or the default spec's, which sits
    where Waymo's top LiDAR does). ``threshold`` overrides ``cfg.threshold``.
    """
    from gina3d.assets.frame_camera import lidar_spec_for
    from gina3d.geometry.lidar_spec import LidarSpec

    cfg = cfg or LidarSimConfig()
    if threshold is not None:
        cfg = dataclasses.replace(cfg, threshold=threshold)
    cfg.validate()
    spec = lidar_spec_for(frame) if isinstance(spec, str) else spec
    insertions = prepare_insertions(frame, assets, model, device)
    if vehicle_from_lidar is None:
        vehicle_from_lidar = (spec or LidarSpec()).vehicle_from_lidar
    pose = np.asarray(vehicle_from_lidar, dtype=np.float64)  # [4,4]
    origin = pose[:3, 3]
    max_range = spec.max_range if spec is not None else cfg.max_range

    pts = np.asarray(frame.lidar_points, dtype=np.float64).reshape(-1, 3)  # [L,3]
    inst = (
        np.zeros(len(pts), np.int32) if frame.lidar_instance is None else frame.lidar_instance
    ).astype(np.int32)
    rng = np.linalg.norm(pts - origin, axis=1)
    d_pts = (pts - origin) / np.maximum(rng, 1e-9)[:, None]  # [L,3]
    surf, which_pt = cast_assets(insertions, origin, d_pts, cfg, limit=rng)
    removed = surf < rng  # [L] hidden behind an asset surface
    kept = ~removed

    if spec is not None:
        rot = pose[:3, :3]
        dirs = spec.ray_directions().reshape(-1, 3) @ rot.T  # [B*A,3] vehicle frame
        blocker = np.full(len(dirs), np.inf)
        beam = beam_index(spec, d_pts @ rot)  # [L] (-1: on no beam)
        on = kept & (beam >= 0)
        np.minimum.at(blocker, beam[on], rng[on])
        dist, which = cast_assets(insertions, origin, dirs, cfg)
        beams = "spec"
    else:  # a point's own direction is its beam; a grid fills the cells no point is in
        grid = grid_directions(insertions, origin, d_pts, cfg)  # [G,3]
        dirs = np.concatenate([d_pts[removed], grid])
        dist = np.concatenate([surf[removed], np.full(len(grid), np.inf)])
        which = np.concatenate([which_pt[removed], np.full(len(grid), -1)])
        if len(grid):
            dist[-len(grid) :], which[-len(grid) :] = cast_assets(insertions, origin, grid, cfg)
        blocker = np.full(len(dirs), np.inf)
        beams = "points+grid"
    new = (dist < blocker) & (dist <= max_range)
    new_pts = origin + dirs[new] * dist[new, None]
    new_ids = np.array([insertions[k].instance_id for k in which[new]], dtype=np.int32)
    per_asset = [
        {
            "object_id": ins.object_id,
            "instance_id": ins.instance_id,
            "returns": int((which[new] == k).sum()),
            "removed": int((removed & (which_pt == k)).sum()),
            "surface": "zero level" if surface_kind(ins.field) == "sdf" else "opacity threshold",
        }
        for k, ins in enumerate(insertions)
    ]
    return LidarResult(
        points=np.concatenate([pts[kept], new_pts]).astype(np.float32),
        instance=np.concatenate([inst[kept], new_ids]).astype(np.int32),
        inserted=np.concatenate([np.zeros(int(kept.sum()), bool), np.ones(len(new_pts), bool)]),
        origin=origin,
        beams=beams,
        added=len(new_pts),
        removed=int(removed.sum()),
        per_asset=per_asset,
    )
