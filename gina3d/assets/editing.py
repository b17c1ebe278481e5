"""Editing assets by swapping tokens between two token grids.

Token layout: T = 3 * h * h, plane-major, row-major inside a plane: token ``(p, row, col)``
is index ``p * h * h + row * h + col`` (the decoder views [T] as [3, h, h]). Planes, in
order (models/triplane.py): 0 = xy, 1 = xz, 2 = yz. A token's column runs along the plane's
first named axis, its row along the second, and the decoder's upsampling keeps that layout:
token ``(row, col)`` covers plane texels ``[row R/h, (row+1) R/h) x [col R/h, ...)``, whose
box-normalised coordinates are ``[-1 + 2 col / h, -1 + 2 (col + 1) / h)`` (and the same for
rows). So along x (forward): the column of planes xy and xz; along y (left): the row of xy
and the column of yz; along z (up): the row of xz and the row of yz.

A *region* is a half of the box: a token belongs to it when its centre coordinate
``-1 + (2 i + 1) / h`` along the region's axis has the region's sign, in the two planes that
contain that axis. The third plane (e.g. yz for the front half) mixes both halves and is
kept from asset A. With odd h the middle row/column has centre 0 and belongs to neither
half. ``swap_mask`` takes any boolean mask [T] or [3,h,h] (True = take from B).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from gina3d.errors import Gina3dError
from gina3d.models.triplane import PLANE_AXES, PLANE_NAMES

AXES = "xyz"
REGIONS = {
    "front_half": (0, +1),
    "rear_half": (0, -1),
    "left_half": (1, +1),
    "right_half": (1, -1),
    "top_half": (2, +1),
    "bottom_half": (2, -1),
}


def plane_tokens_of(num_tokens: int) -> int:
    """h for a grid of T = 3 h^2 tokens."""
    h = math.isqrt(num_tokens // 3) if num_tokens > 0 else 0
    if h < 1 or 3 * h * h != num_tokens:
        raise Gina3dError(f"a token grid has 3*h*h tokens, got {num_tokens}")
    return h


def token_centres(plane_tokens: int) -> Tensor:
    """Box-normalised centre coordinate of each token row/column [h]."""
    i = torch.arange(plane_tokens, dtype=torch.float64)
    return -1.0 + (2.0 * i + 1.0) / plane_tokens


def parse_planes(planes: str | Iterable[str]) -> tuple[str, ...]:
    """Plane names from "xy,xz" or an iterable; Gina3dError for unknown names."""
    names = [p.strip() for p in planes.split(",")] if isinstance(planes, str) else list(planes)
    names = [n for n in names if n]
    bad = [n for n in names if n not in PLANE_NAMES]
    if bad or not names:
        raise Gina3dError(f"unknown plane '{bad[0] if bad else ''}' (planes: xy, xz, yz)")
    return tuple(dict.fromkeys(names))


def plane_mask(planes: str | Iterable[str], plane_tokens: int) -> Tensor:
    """bool [T]: every token of the named planes."""
    mask = torch.zeros(3, plane_tokens, plane_tokens, dtype=torch.bool)
    for name in parse_planes(planes):
        mask[PLANE_NAMES.index(name)] = True
    return mask.reshape(-1)


def region_mask(region: str, plane_tokens: int) -> Tensor:
    """bool [T]: tokens of the half-box ``region`` (see the module docstring)."""
    if region not in REGIONS:
        raise Gina3dError(f"unknown region '{region}' (regions: {', '.join(REGIONS)})")
    axis, sign = REGIONS[region]
    inside = (token_centres(plane_tokens) * sign) > 0  # [h]
    mask = torch.zeros(3, plane_tokens, plane_tokens, dtype=torch.bool)
    for p, (width_axis, height_axis) in enumerate(PLANE_AXES):
        if width_axis == axis:
            mask[p] |= inside[None, :]  # columns
        if height_axis == axis:
            mask[p] |= inside[:, None]  # rows
    return mask.reshape(-1)


def _pair(tokens_a, tokens_b) -> tuple[Tensor, Tensor]:
    a, b = torch.as_tensor(tokens_a), torch.as_tensor(tokens_b)
    if a.shape != b.shape:
        raise Gina3dError(f"token grids differ in shape: {list(a.shape)} vs {list(b.shape)}")
    plane_tokens_of(a.shape[-1])
    return a.long(), b.long().to(a.device)


def swap_mask(tokens_a, tokens_b, mask) -> Tensor:
    """Tokens of A with those where ``mask`` (bool [T] or [3,h,h]) is True taken from B.

    ``tokens_a``, ``tokens_b`` [...,T] (long); returns [...,T].
    """
    a, b = _pair(tokens_a, tokens_b)
    m = torch.as_tensor(mask, dtype=torch.bool).reshape(-1).to(a.device)
    if m.shape[0] != a.shape[-1]:
        raise Gina3dError(f"edit mask has {m.shape[0]} entries, the token grid {a.shape[-1]}")
    return torch.where(m, b, a)


def swap_planes(tokens_a, tokens_b, planes: str | Iterable[str] = ("xy",)) -> Tensor:
    """A with whole planes (names among xy, xz, yz) taken from B."""
    a, b = _pair(tokens_a, tokens_b)
    return swap_mask(a, b, plane_mask(planes, plane_tokens_of(a.shape[-1])))


def swap_region(tokens_a, tokens_b, region: str) -> Tensor:
    """A with the tokens of a half-box region (e.g. "front_half") taken from B."""
    a, b = _pair(tokens_a, tokens_b)
    return swap_mask(a, b, region_mask(region, plane_tokens_of(a.shape[-1])))
