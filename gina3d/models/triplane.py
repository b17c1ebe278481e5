"""Sampling tri-plane features at object-frame points (docs/conventions.md, "Tri-planes").

Points are normalised by the box, ``p' = p / (size / 2)``, so the box is ``[-1, 1]^3``.
Planes, in this order: 0 = xy, 1 = xz, 2 = yz. A point reads plane xy at (x, y), xz at
(x, z), yz at (y, z); the first named coordinate indexes the plane's width (last) dimension
and the second its height dimension, which is ``grid_sample``'s (x, y) order. Texel centres
follow ``align_corners=False``: column j of R covers ``[-1 + 2j/R, -1 + 2(j+1)/R)``.

(EG3D's public code projects onto the xy, xz and zx planes, so two of its planes share an
axis pair; this module deliberately does not.)

The three planes' features are summed (``reduce="sum"``, [..,F]; what the field uses) or
concatenated in plane order (``reduce="concat"``, [..,3F]). On a CPU the sum is read by
table lookups (``triplane_lookup.py``: the same values, about twice as fast with its
gradient); ``grid_sample`` everywhere else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gina3d.models.triplane_lookup import sample_triplane_sum

# For each plane: which point coordinates give (width index, height index).
PLANE_AXES = ((0, 1), (0, 2), (1, 2))
PLANE_NAMES = ("xy", "xz", "yz")


def normalize_points(points: Tensor, box_size: Tensor) -> Tensor:
    """Object-frame points [B,...,3] (metres) -> box-normalised [B,...,3] (box = [-1,1]^3)."""
    half = box_size.float() / 2.0  # [B,3]
    return points / half.view(half.shape[0], *([1] * (points.dim() - 2)), 3)


def plane_coordinates(points: Tensor) -> Tensor:
    """Normalised points [B,M,3] -> grid_sample coordinates [B,P,M,2] per plane."""
    return torch.stack([points[..., list(axes)] for axes in PLANE_AXES], dim=1)


def sample_triplane(
    triplane: Tensor, points: Tensor, reduce: str = "sum", method: str = "auto"
) -> Tensor:
    """Bilinear features of normalised points.

    triplane [B,3,F,R,R]; points [B,M,3] in [-1,1]^3 (outside reads the border texels).
    Returns [B,M,F] (sum) or [B,M,3F] (concat). ``method``: "grid_sample", "lookup"
    (``reduce="sum"`` only; no gradient for the points) or "auto" (lookup for a sum on a
    CPU when the points need no gradient).
    """
    b, p, f, r, _ = triplane.shape
    if method not in ("auto", "grid_sample", "lookup"):
        raise ValueError(f"method must be 'auto', 'grid_sample' or 'lookup', got {method!r}")
    if method == "auto":
        lookup = reduce == "sum" and triplane.device.type == "cpu" and r >= 2
        method = "lookup" if lookup and not points.requires_grad else "grid_sample"
    if method == "lookup":
        if reduce != "sum" or points.requires_grad or r < 2:
            raise ValueError(
                "method 'lookup' sums planes of 2 or more texels and gives points no gradient"
            )
        return sample_triplane_sum(triplane, points, PLANE_AXES)
    m = points.shape[1]
    grid = plane_coordinates(points.float()).reshape(b * p, m, 1, 2)  # [B*P,M,1,2]
    feats = F.grid_sample(
        triplane.reshape(b * p, f, r, r).float(),
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )  # [B*P,F,M,1]
    feats = feats.view(b, p, f, m)  # [B,P,F,M]
    if reduce == "sum":
        return feats.sum(dim=1).transpose(1, 2)  # [B,M,F]
    if reduce == "concat":
        return feats.permute(0, 3, 1, 2).reshape(b, m, p * f)  # [B,M,3F]
    raise ValueError(f"reduce must be 'sum' or 'concat', got {reduce!r}")


def texel_centre(index: int, resolution: int) -> float:
    """Normalised coordinate of texel ``index``'s centre along an axis of ``resolution``."""
    return -1.0 + (2.0 * index + 1.0) / resolution
