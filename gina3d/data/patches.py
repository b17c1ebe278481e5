"""Cut object patches out of frames: crop, resample, masks, rays and LiDAR per patch.

Shared by every source. For each camera and each box that projects into it:

1. the square crop around the projected box (grown by ``margin``) defines a patch camera
   (same pose, shifted and scaled intrinsics);
2. each patch pixel is supersampled k x k times in the frame (area filtering);
3. each sample is labelled: object (instance match), occluder (an unseen or nearer surface
   that may hide the object: out of the image, or a scene surface closer than where the
   pixel's ray leaves the box), or background (the ray misses the box, or sees past it);
4. a patch pixel is object when at least half its samples are, occluder when any sample
   could hide the object, background otherwise (docs/data_format.md states the rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.data.filters import FilterConfig, FilterCounts
from gina3d.data.frame import CameraImage, Frame, ObjectBox
from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER, PatchRecord
from gina3d.geometry.boxes import box_corners, points_in_box, ray_box_intersect
from gina3d.geometry.cameras import (
    camera_rays,
    crop_intrinsics,
    intrinsics_matrix,
    pixel_centres,
    points_to_pixels,
    project,
    unproject_directions,
)
from gina3d.geometry.transforms import apply, invert

_UNSEEN = 3  # sample label: outside the image


@dataclass
class PatchConfig:
    """How patches are cut."""

    resolution: int = 64
    """Patch side in pixels."""
    margin: float = 0.1
    """Crop grows the projected box's longer side by this fraction on each side."""
    max_supersample: int = 4
    """At most this many samples per patch pixel along each axis."""
    occluder_tolerance: float = 0.05
    """Scene surfaces within this many metres of the box's far side count as background."""
    floor_tolerance: float = 0.1
    """Scene surfaces less than this many metres above the box's floor are the ground the
    object stands on (road, markings, curb), never occluders."""

    def validate(self) -> None:
        if not 8 <= self.resolution <= 1024:
            raise ValueError(f"patches: resolution {self.resolution} must lie in [8, 1024]")
        if not 0.0 <= self.margin <= 1.0 or self.max_supersample < 1:
            raise ValueError("patches: margin must lie in [0, 1] and max_supersample >= 1")


def _crop_window(uv: np.ndarray, margin: float) -> tuple[float, float, float]:
    """Square (x0, y0, side) around projected corners [8,2]."""
    lo, hi = uv.min(0), uv.max(0)
    centre = (lo + hi) / 2.0
    side = float(max(hi - lo)) * (1.0 + 2.0 * margin)
    return float(centre[0] - side / 2.0), float(centre[1] - side / 2.0), side


def _truncation(uv: np.ndarray, width: int, height: int) -> float:
    """Fraction of the projected box's bounding rectangle outside the image."""
    lo, hi = uv.min(0), uv.max(0)
    area = float(np.prod(hi - lo))
    if area <= 0:
        return 1.0
    clo = np.maximum(lo, 0.0)
    chi = np.minimum(hi, [width, height])
    inside = float(np.prod(np.clip(chi - clo, 0.0, None)))
    return 1.0 - inside / area


def _sample_labels(
    cam: CameraImage, box: ObjectBox, cam_from_obj: np.ndarray, uv: np.ndarray, cfg: PatchConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Label frame samples at pixel coordinates uv [...,2]; also return the frame rows/cols."""
    col = np.floor(uv[..., 0]).astype(np.int64)
    row = np.floor(uv[..., 1]).astype(np.int64)
    inside = (col >= 0) & (col < cam.width) & (row >= 0) & (row < cam.height)
    rc, cc = np.clip(row, 0, cam.height - 1), np.clip(col, 0, cam.width - 1)
    labels = np.full(uv.shape[:-1], BACKGROUND, dtype=np.uint8)
    is_obj = np.zeros(uv.shape[:-1], dtype=bool)
    if cam.instance is not None:
        is_obj = cam.instance[rc, cc] == box.instance_id
    # every sample takes the label of the frame pixel it falls in: the ray through that
    # pixel's centre is the one its depth and instance values belong to
    centres = np.stack([cc, rc], axis=-1) + 0.5
    origins, dirs = camera_rays(cam.K, cam_from_obj, centres)
    _, t_far, hit = ray_box_intersect(origins, dirs, box.size)
    if cam.depth is not None:
        ray_len = np.linalg.norm(unproject_directions(cam.K, centres), axis=-1)
        scene_dist = cam.depth[rc, cc] * ray_len
        with np.errstate(invalid="ignore"):  # sky: inf * 0 in the height below is nan
            height = origins[..., 2] + dirs[..., 2] * scene_dist  # object-frame z of the surface
        above_floor = height > -box.size[2] / 2 + cfg.floor_tolerance
        hides = hit & (scene_dist < t_far - cfg.occluder_tolerance) & above_floor
    elif cam.instance is not None:
        hides = hit & (cam.instance[rc, cc] != 0)
    else:
        hides = np.zeros_like(hit)
    labels[hides & ~is_obj] = OCCLUDER
    labels[is_obj] = OBJECT
    labels[~inside] = _UNSEEN
    return labels, inside


def box_lidar_points(frame: Frame, box: ObjectBox) -> np.ndarray:
    """Object-frame LiDAR points [L,3] of this box: inside it, above the ground, and with the
    box's instance label when the source labels points."""
    pts = frame.lidar_points
    if frame.lidar_instance is not None:
        pts = pts[frame.lidar_instance == box.instance_id]
    else:  # cheap pre-selection by distance before the exact box test
        radius = float(np.linalg.norm(box.size)) / 2 + 0.01
        near = np.linalg.norm(pts - box.vehicle_from_obj[:3, 3], axis=1) <= radius
        pts = pts[near]
    pts = apply(invert(box.vehicle_from_obj), pts.astype(np.float64))
    keep = points_in_box(pts, box.size) & (pts[:, 2] > -box.size[2] / 2 + 0.03)
    return pts[keep].astype(np.float32)


def lidar_depth_image(
    points: np.ndarray, K: np.ndarray, cam_from_obj: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """Distance along each pixel's ray of the nearest point projected into it, on object
    pixels only; 0 where there is none. points [L,3] object frame; returns [H,W] float32."""
    res = masks.shape[0]
    depth = np.zeros((res, res), dtype=np.float32)
    if len(points):
        pts = points.astype(np.float64)
        pix, z = points_to_pixels(K, cam_from_obj, pts)
        col, row = np.floor(pix[:, 0]).astype(int), np.floor(pix[:, 1]).astype(int)
        ok = (z > 0) & (col >= 0) & (col < res) & (row >= 0) & (row < res)
        dist = np.linalg.norm(apply(cam_from_obj, pts), axis=-1)
        zbuf = np.full((res, res), np.inf)
        np.minimum.at(zbuf, (row[ok], col[ok]), dist[ok])
        on_object = np.isfinite(zbuf) & (masks == OBJECT)
        depth[on_object] = zbuf[on_object]
    return depth


def extract_frame_patches(
    frame: Frame, cfg: PatchConfig, filters: FilterConfig
) -> tuple[list[PatchRecord], FilterCounts]:
    """Every patch of a frame that passes the filters, and the filter counts (split unset)."""
    counts = FilterCounts()
    records: list[PatchRecord] = []
    lidar: dict[str, np.ndarray] = {}  # per box, shared by all cameras
    for cam in frame.cameras:
        cam_from_vehicle = invert(cam.vehicle_from_cam)
        for box in frame.boxes:
            cam_from_obj = cam_from_vehicle @ box.vehicle_from_obj
            corners = apply(cam_from_obj, box_corners(box.size))
            if corners[:, 2].min() < 0.1:
                continue  # behind or straddling the camera plane: not a usable view
            uv, _ = project(cam.K, corners)
            truncation = _truncation(uv, cam.width, cam.height)
            if truncation >= 1.0:
                continue  # not in this image
            counts.candidates += 1
            x0, y0, side = _crop_window(uv, cfg.margin)
            distance = float(np.linalg.norm(cam_from_obj[:3, 3]))
            reason = None
            if distance > filters.max_distance:
                reason = "distance"
            elif side < filters.min_crop_px:
                reason = "min_size"
            elif truncation > filters.max_truncation:
                reason = "truncation"
            if reason:
                counts.removed[reason] += 1
                continue
            rec = _cut_patch(frame, cam, box, cam_from_obj, x0, y0, side, cfg)
            rec.truncation = truncation
            rec.distance = distance
            if rec.visibility < filters.min_visibility:
                counts.removed["visibility"] += 1
                continue
            if rec.object_pixels < filters.min_object_pixels:
                counts.removed["object_pixels"] += 1
                continue
            if box.object_id not in lidar:
                lidar[box.object_id] = box_lidar_points(frame, box)
            rec.lidar_points = lidar[box.object_id]
            rec.lidar_depth = lidar_depth_image(
                rec.lidar_points, intrinsics_matrix(*rec.intrinsics), cam_from_obj, rec.masks
            )
            counts.kept += 1
            records.append(rec)
    return records, counts


def _cut_patch(
    frame: Frame,
    cam: CameraImage,
    box: ObjectBox,
    cam_from_obj: np.ndarray,
    x0: float,
    y0: float,
    side: float,
    cfg: PatchConfig,
) -> PatchRecord:
    res = cfg.resolution
    k = int(np.clip(np.ceil(side / res), 1, cfg.max_supersample))
    # sample positions in frame pixels [res*k, res*k, 2]: the centres of a res*k grid
    uv = pixel_centres(res * k, res * k) * (side / (res * k)) + np.array([x0, y0])
    labels, inside = _sample_labels(cam, box, cam_from_obj, uv, cfg)
    col = np.clip(np.floor(uv[..., 0]).astype(int), 0, cam.width - 1)
    row = np.clip(np.floor(uv[..., 1]).astype(int), 0, cam.height - 1)
    samples = np.where(inside[..., None], cam.image[row, col], 0).astype(np.float32)
    rgb = samples.reshape(res, k, res, k, 3).mean(axis=(1, 3))

    blocks = labels.reshape(res, k, res, k).transpose(0, 2, 1, 3).reshape(res, res, k * k)
    frac_obj = (blocks == OBJECT).mean(-1)
    may_hide = ((blocks == OCCLUDER) | (blocks == _UNSEEN)).any(-1)
    masks = np.full((res, res), BACKGROUND, dtype=np.uint8)
    masks[may_hide] = OCCLUDER
    masks[frac_obj >= 0.5] = OBJECT

    K_patch = crop_intrinsics(cam.K, x0, y0, side, res)
    origins, dirs = camera_rays(K_patch, cam_from_obj, pixel_centres(res, res))
    visible_samples = float((labels == OBJECT).sum())
    amodal = None
    if frame.amodal is not None:
        K_hi = crop_intrinsics(cam.K, x0, y0, side, res * k)
        hi = frame.amodal(box.instance_id, K_hi, invert(cam.vehicle_from_cam), res * k, res * k)
        amodal = hi.reshape(res, k, res, k).mean(axis=(1, 3)) >= 0.5
        visibility = visible_samples / max(float(hi.sum()), 1.0)
        occluded = int((amodal & (masks == OCCLUDER)).sum())
    else:
        _, _, hit = ray_box_intersect(origins, dirs, box.size)
        hidden = (blocks == OCCLUDER) | (blocks == _UNSEEN)
        hidden_samples = float((hidden & hit[..., None]).sum())
        visibility = visible_samples / max(visible_samples + hidden_samples, 1.0)
        occluded = int(((masks == OCCLUDER) & hit).sum())
    return PatchRecord(
        patch_id=f"{frame.scene_id}/{frame.frame_index:03d}/{cam.name}/{box.object_id}",
        source=frame.source,
        scene_id=frame.scene_id,
        frame_index=frame.frame_index,
        camera=cam.name,
        object_id=box.object_id,
        split="",
        cls=box.cls,
        subtype=box.subtype,
        time_of_day=frame.time_of_day,
        resolution=res,
        rgb=np.clip(np.round(rgb), 0, 255).astype(np.uint8),
        masks=masks,
        amodal_mask=amodal,
        ray_origin=origins.astype(np.float32),
        ray_direction=dirs.astype(np.float32),
        intrinsics=np.array([K_patch[0, 0], K_patch[1, 1], K_patch[0, 2], K_patch[1, 2]]),
        cam_from_obj=cam_from_obj,
        vehicle_from_obj=box.vehicle_from_obj,
        box_size=np.asarray(box.size, dtype=np.float64),
        lidar_points=np.zeros((0, 3), dtype=np.float32),  # set by the caller
        lidar_depth=np.zeros((res, res), dtype=np.float32),
        visibility=float(min(visibility, 1.0)),
        truncation=0.0,
        distance=0.0,
        object_pixels=int((masks == OBJECT).sum()),
        occluded_pixels=occluded,
        crop=np.array([x0, y0, side]),
        image_size=np.array([cam.height, cam.width]),
    )
