"""Which camera-segmentation instance is which 3D box: LiDAR votes, then 2D-box overlap.

``camera_segmentation`` labels things with panoptic instances (``semantic * divisor +
instance``) that carry no LiDAR object id. The rule, per camera image:

1. every LiDAR point inside a box, projected into the image, votes for the thing segment
   under it when that segment's class fits the box's type (vehicle: car, truck, bus, other
   large vehicle, trailer; pedestrian: pedestrian; cyclist: bicycle, motorcycle, cyclist,
   motorcyclist);
2. pairs are taken greedily by votes (at least ``min_votes``), one segment per box;
3. a box left without a segment takes the fitting unclaimed segment that covers most of its
   2D box (``projected_lidar_box``, else a matched ``camera_box``, else the projected 3D
   box), if it fills at least ``min_overlap`` of it.

The instance image gives a matched segment the box's ``instance_id`` and every other thing
segment an id above ``UNMATCHED`` (so it can occlude); stuff is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.data.frame import ObjectBox
from gina3d.geometry.boxes import points_in_box
from gina3d.geometry.cameras import points_to_pixels
from gina3d.geometry.transforms import apply, invert

FITTING_CLASSES = {
    "vehicle": (2, 3, 4, 5, 8),
    "pedestrian": (9,),
    "cyclist": (6, 7, 10, 11),
}
UNMATCHED = 1_000_000


@dataclass
class AssociationConfig:
    """Thresholds of the segment-to-box association."""

    min_votes: int = 3
    """LiDAR points needed to tie a segment to a box."""
    min_overlap: float = 0.2
    """Fallback: share of the 2D box a segment must cover."""


def instance_image(
    panoptic: np.ndarray,
    divisor: int,
    boxes: list[ObjectBox],
    points: np.ndarray,
    K: np.ndarray,
    cam_from_vehicle: np.ndarray,
    regions: dict[str, tuple[float, float, float, float]],
    cfg: AssociationConfig,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(instance [H,W] int32, semantic [H,W] int32, counts) of one camera image.

    panoptic [H,W] (undistorted); points [L,3] vehicle frame; regions: object_id -> 2D box
    (x0, y0, x1, y1) in pixels for the fallback.
    """
    divisor = max(int(divisor), 1)
    semantic = (panoptic // divisor).astype(np.int32)
    things = (panoptic % divisor) > 0
    segment = np.where(things, panoptic.astype(np.int64), 0)
    h, w = panoptic.shape
    votes: dict[tuple[int, int], int] = {}
    for bi, box in enumerate(boxes):
        fitting = FITTING_CLASSES.get(box.cls, ())
        local = apply(invert(box.vehicle_from_obj), points.astype(np.float64))
        inside = points[points_in_box(local, box.size)]
        if not len(inside):
            continue
        pix, z = points_to_pixels(K, cam_from_vehicle, inside.astype(np.float64))
        col, row = np.floor(pix[:, 0]).astype(int), np.floor(pix[:, 1]).astype(int)
        ok = (z > 0) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        seg = segment[row[ok], col[ok]]
        seg = seg[(seg > 0) & np.isin(semantic[row[ok], col[ok]], fitting)]
        for s, n in zip(*np.unique(seg, return_counts=True)):
            votes[(bi, int(s))] = int(n)
    owner: dict[int, int] = {}  # segment -> box index
    taken: set[int] = set()
    for (bi, s), n in sorted(votes.items(), key=lambda kv: -kv[1]):
        if n >= cfg.min_votes and bi not in taken and s not in owner:
            owner[s] = bi
            taken.add(bi)
    by_overlap = 0
    for bi, box in enumerate(boxes):
        if bi in taken or box.object_id not in regions:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in regions[box.object_id])
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        window = segment[y0:y1, x0:x1]
        fit = np.isin(semantic[y0:y1, x0:x1], FITTING_CLASSES.get(box.cls, ()))
        ids, counts = np.unique(window[(window > 0) & fit], return_counts=True)
        for s, n in sorted(zip(ids.tolist(), counts.tolist()), key=lambda x: -x[1]):
            if s not in owner and n >= cfg.min_overlap * window.size:
                owner[s] = bi
                taken.add(bi)
                by_overlap += 1
                break
    out = np.zeros((h, w), dtype=np.int32)
    for k, s in enumerate(np.unique(segment[segment > 0])):
        s = int(s)
        out[segment == s] = boxes[owner[s]].instance_id if s in owner else UNMATCHED + k
    counts = {"boxes_matched": len(taken), "boxes_by_overlap": by_overlap}
    in_view = [bi for bi, b in enumerate(boxes) if b.object_id in regions]
    counts["boxes_in_view_unmatched"] = sum(bi not in taken for bi in in_view)
    return out, semantic, counts
