"""Mask labels of an object-asset patch from WOD's auto-labels, LiDAR distances and rays.

WOD gives ``object_mask`` (the object of interest), a panoptic ``instance_mask`` and
``semantic_mask`` (model outputs), and ``proj_points_dist`` (distance from the ray origin to
the first LiDAR return, 0 where none). The record needs background / object / occluder,
where *occluder* means "something may hide the object here, the loss must not say the
object is absent". The rule, per patch pixel:

1. ``object_mask > 0``: OBJECT.
2. The pixel's ray misses the object's box: BACKGROUND (nothing there can hide it).
3. The pixel has a LiDAR return: OCCLUDER when the return is nearer than where the ray
   leaves the box (minus ``occluder_tolerance``) and above the box floor (plus
   ``floor_tolerance``), else BACKGROUND: the same test synthetic patches use with depth.
4. No return: the pixel's segment (its instance when > 0, else its semantic class) gets the
   median LiDAR distance of its pixels that have returns. Another object's instance is an
   OCCLUDER when that median is nearer than the object's (or when it has no return at all:
   it may be in front); a stuff class is an OCCLUDER only when its median is nearer than
   the box's far side, and never for ground and sky classes. The object's own instance
   outside ``object_mask`` (the auto-labels disagree) is an OCCLUDER: unknown, ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.geometry.boxes import ray_box_intersect

# WOD camera-segmentation classes that are never occluders without a LiDAR return saying so.
GROUND_AND_SKY = (20, 21, 22, 23, 25, 26)  # road, lane/road marker, sidewalk, sky, ground
_STUFF = 1 << 20  # segment ids of stuff classes: _STUFF + semantic class


@dataclass
class MaskConfig:
    """Thresholds of the occluder rule (metres)."""

    occluder_tolerance: float = 0.05
    """Returns within this distance of the box's far side are the object's background."""
    floor_tolerance: float = 0.1
    """Returns less than this above the box floor are the ground it stands on."""


def object_instance(object_mask: np.ndarray, instance: np.ndarray | None) -> int:
    """The instance id most of the object's pixels have (0 when there is none)."""
    if instance is None:
        return 0
    ids = instance[object_mask & (instance > 0)]
    if ids.size == 0:
        return 0
    values, counts = np.unique(ids, return_counts=True)
    return int(values[np.argmax(counts)])


def _segment_median(segments: np.ndarray, dist: np.ndarray, has: np.ndarray) -> dict:
    """Median LiDAR distance per segment id over the pixels with a return."""
    out = {}
    for seg in np.unique(segments[has]):
        out[int(seg)] = float(np.median(dist[has & (segments == seg)]))
    return out


def asset_labels(
    object_mask: np.ndarray,
    origins: np.ndarray,
    directions: np.ndarray,
    box_size: np.ndarray,
    dist: np.ndarray | None,
    instance: np.ndarray | None,
    semantic: np.ndarray | None,
    cfg: MaskConfig,
) -> np.ndarray:
    """Labels [H,W] uint8 of a WOD patch. object_mask [H,W] bool; rays [H,W,3] in the box
    frame; dist [H,W] metres (0: no return) or None; instance/semantic [H,W] or None."""
    labels = np.full(object_mask.shape, BACKGROUND, dtype=np.uint8)
    _, t_far, hit = ray_box_intersect(origins.astype(np.float64), directions, box_size)
    floor = -float(box_size[2]) / 2 + cfg.floor_tolerance
    has = np.zeros_like(hit) if dist is None else dist > 0
    d = np.zeros(object_mask.shape) if dist is None else dist.astype(np.float64)

    # 3. pixels with a LiDAR return: the depth test
    height = origins[..., 2] + directions[..., 2] * d
    in_front = has & (d < t_far - cfg.occluder_tolerance) & (height > floor)
    labels[hit & in_front] = OCCLUDER

    # 4. pixels without one: their segment's median return
    own = object_instance(object_mask, instance)
    segments = np.zeros(object_mask.shape, dtype=np.int64)
    if semantic is not None:
        segments = _STUFF + semantic.astype(np.int64)
    if instance is not None:
        segments = np.where(instance > 0, instance.astype(np.int64), segments)
    median = _segment_median(segments, d, has & ~object_mask)
    obj_d = d[object_mask & has]
    obj_median = float(np.median(obj_d)) if obj_d.size else np.inf
    undecided = hit & ~has & ~object_mask
    for seg in np.unique(segments[undecided]):
        seg = int(seg)
        where = undecided & (segments == seg)
        if seg == 0 or seg - _STUFF in GROUND_AND_SKY:
            continue
        if 0 < seg < _STUFF:  # another thing (or the object's own instance)
            if seg == own or seg not in median or median[seg] < obj_median:
                labels[where] = OCCLUDER
        elif seg in median:  # stuff with returns somewhere in the patch
            labels[where & (median[seg] < t_far - cfg.occluder_tolerance)] = OCCLUDER
    labels[object_mask] = OBJECT
    return labels
