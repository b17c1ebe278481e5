"""One joined object-asset row (decoded arrays) -> one ``PatchRecord``.

The geometry: rays and LiDAR points are in the labelled box frame (WOD's object frame, the
record's object frame); for vehicles with a refined pose and a ``lidar_box`` they move to
the refined, sequence-consistent box frame. The patch camera is fitted to the rays
(``camera_fit.py``), the masks come from ``asset_masks.py``, the square resampling from
``resample.py``. Filters are those of the synthetic world, with the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gina3d.data.filters import FilterConfig, FilterCounts
from gina3d.data.schema import OBJECT, OCCLUDER, PatchRecord
from gina3d.data.sources.waymo.asset_masks import MaskConfig, asset_labels
from gina3d.data.sources.waymo.camera_fit import fit_pinhole
from gina3d.data.sources.waymo.resample import resample_patch
from gina3d.geometry.boxes import box_corners, points_in_box, ray_box_intersect
from gina3d.geometry.cameras import crop_intrinsics, project
from gina3d.geometry.transforms import apply, invert, rotate


@dataclass
class AssetConfig:
    """How object-asset rows become records."""

    resolution: int = 64
    """Record patch side in pixels (patches are resampled to it)."""
    max_supersample: int = 4
    """At most this many samples per record pixel along each axis."""
    use_refined_pose: bool = True
    """Vehicles: express rays and points in the refined box frame when WOD has one."""
    max_refinement_m: float = 1.0
    """A refined pose farther than this from the labelled box is ignored (and counted)."""
    batch_rows: int = 32
    """Parquet rows read at a time per component (bounds memory per worker)."""
    fit_max_rays: int = 1024
    """Rays used to fit each patch's pinhole camera."""
    masks: MaskConfig = field(default_factory=MaskConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)


@dataclass
class AssetRow:
    """Decoded arrays of one joined row (H x W patch, L points)."""

    patch_id: str
    segment: str
    frame_index: int
    camera: str
    object_id: str
    cls: str
    time_of_day: str
    rgb: np.ndarray  # [H,W,3] uint8
    object_mask: np.ndarray  # [H,W] bool
    origins: np.ndarray  # [H,W,3] labelled box frame
    directions: np.ndarray  # [H,W,3]
    dist: np.ndarray | None  # [H,W] metres, 0 = no return
    instance: np.ndarray | None  # [H,W] uint16
    semantic: np.ndarray | None  # [H,W] uint8
    points: np.ndarray  # [L,3] labelled box frame
    box_size: np.ndarray  # [3]
    vehicle_from_box: np.ndarray | None  # [4,4] labelled box pose (lidar_box), or None
    box_from_vehicle_refined: np.ndarray | None  # [4,4] (vehicles), or None
    region: np.ndarray  # [4] centre x, centre y, size x, size y in frame pixels
    image_size: tuple[int, int]  # frame (H, W)


def _refine(row: AssetRow, cfg: AssetConfig, counts: dict) -> tuple[np.ndarray, np.ndarray]:
    """(refined_from_box [4,4], vehicle_from_obj [4,4]) for this row."""
    base = np.eye(4) if row.vehicle_from_box is None else row.vehicle_from_box
    if not cfg.use_refined_pose or row.box_from_vehicle_refined is None:
        return np.eye(4), base
    if row.vehicle_from_box is None:
        counts["refined_pose_without_lidar_box"] = (
            counts.get("refined_pose_without_lidar_box", 0) + 1
        )
        return np.eye(4), base
    refined_from_box = row.box_from_vehicle_refined @ row.vehicle_from_box
    if np.linalg.norm(refined_from_box[:3, 3]) > cfg.max_refinement_m:
        counts["refined_pose_rejected"] = counts.get("refined_pose_rejected", 0) + 1
        return np.eye(4), base
    counts["refined_pose_applied"] = counts.get("refined_pose_applied", 0) + 1
    return refined_from_box, invert(row.box_from_vehicle_refined)


def _truncation(uv: np.ndarray, width: int, height: int) -> float:
    lo, hi = uv.min(0), uv.max(0)
    area = float(np.prod(hi - lo))
    if area <= 0:
        return 1.0
    inside = np.clip(np.minimum(hi, [width, height]) - np.maximum(lo, 0.0), 0.0, None)
    return 1.0 - float(np.prod(inside)) / area


def make_record(
    row: AssetRow, cfg: AssetConfig, filters: FilterCounts, counts: dict
) -> PatchRecord | None:
    """The record of a row, or None when a filter removes it or its rays make no camera
    (``filters`` and ``counts`` say which)."""
    obj_from_box, vehicle_from_obj = _refine(row, cfg, counts)
    origins = apply(obj_from_box, row.origins.astype(np.float64))
    directions = rotate(obj_from_box, row.directions.astype(np.float64))
    points = apply(obj_from_box, row.points.astype(np.float64)).reshape(-1, 3)
    size = np.asarray(row.box_size, dtype=np.float64)

    fit = fit_pinhole(origins, directions, cfg.fit_max_rays)
    if not fit.ok:
        counts["camera_fit_failed"] = counts.get("camera_fit_failed", 0) + 1
        return None
    counts.setdefault("fit_rms_px", []).append(fit.rms_px)
    filters.candidates += 1
    labels = asset_labels(
        row.object_mask, origins, directions, size, row.dist, row.instance, row.semantic, cfg.masks
    )
    out = resample_patch(
        row.rgb,
        labels,
        origins,
        directions,
        row.dist,
        fit.K,
        fit.cam_from_obj,
        cfg.resolution,
        cfg.max_supersample,
    )
    x0, y0, side = out["window"]
    height, width = row.object_mask.shape
    scale = np.array([row.region[2] / width, row.region[3] / height])
    corner = row.region[:2] - row.region[2:] / 2  # frame pixel of the patch's (0, 0)

    cam_from_obj = fit.cam_from_obj
    distance = float(np.linalg.norm(invert(cam_from_obj)[:3, 3]))
    corners = apply(cam_from_obj, box_corners(size))
    front = corners[:, 2] > 1e-3
    truncation = 1.0
    if front.any():
        uv = project(fit.K, corners[front])[0] * scale + corner
        truncation = _truncation(uv, row.image_size[1], row.image_size[0])
    masks = out["masks"]
    _, _, hit = ray_box_intersect(out["ray_origin"].astype(np.float64), out["ray_direction"], size)
    visible = float(out["object_samples"].sum())
    hidden = float((out["hidden_samples"] * hit).sum())
    visibility = visible / max(visible + hidden, 1.0)
    object_pixels = int((masks == OBJECT).sum())

    f = cfg.filters
    reason = None
    if distance > f.max_distance:
        reason = "distance"
    elif side * scale[0] < f.min_crop_px:
        reason = "min_size"
    elif truncation > f.max_truncation:
        reason = "truncation"
    elif visibility < f.min_visibility:
        reason = "visibility"
    elif object_pixels < f.min_object_pixels:
        reason = "object_pixels"
    if reason:
        filters.removed[reason] += 1
        return None
    filters.kept += 1

    K = crop_intrinsics(fit.K, x0, y0, side, cfg.resolution)
    floor = -size[2] / 2 + 0.03  # as synthetic patches: no ground returns
    keep = points_in_box(points, size, margin=0.02) & (points[:, 2] > floor)
    return PatchRecord(
        patch_id=row.patch_id,
        source="waymo_assets",
        scene_id=row.segment,
        frame_index=row.frame_index,
        camera=row.camera,
        object_id=row.object_id,
        split="",
        cls=row.cls,
        subtype="unknown",
        time_of_day=row.time_of_day,
        resolution=cfg.resolution,
        rgb=out["rgb"],
        masks=masks,
        amodal_mask=None,
        ray_origin=out["ray_origin"],
        ray_direction=out["ray_direction"],
        intrinsics=np.array([K[0, 0], K[1, 1], K[0, 2], K[1, 2]]),
        cam_from_obj=cam_from_obj,
        vehicle_from_obj=vehicle_from_obj,
        box_size=size,
        lidar_points=points[keep].astype(np.float32),
        lidar_depth=np.where(masks == OBJECT, out["dist"], 0.0).astype(np.float32),
        visibility=float(min(visibility, 1.0)),
        truncation=float(truncation),
        distance=distance,
        object_pixels=object_pixels,
        occluded_pixels=int(((masks == OCCLUDER) & hit).sum()),
        crop=np.array([corner[0] + x0 * scale[0], corner[1] + y0 * scale[1], side * scale[0]]),
        image_size=np.array(row.image_size),
    )
