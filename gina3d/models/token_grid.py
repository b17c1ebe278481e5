"""Grouping a tri-plane token grid into coarser cells and back (``ModelConfig.token_split``).

Tokens are plane-major, ``p*h*h + row*h + col`` (``TriplaneEmbedding``). With a split ``s``,
the coarse cell (i, j) of a plane holds the s x s tokens ``row = i*s + a``, ``col = j*s + b``;
grouping concatenates their features in (a, b) row-major order. ``ungroup_tokens`` inverts
``group_tokens`` exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor


def group_tokens(x: Tensor, split: int) -> Tensor:
    """[B,3*h*h,F] -> [B,3*(h/s)^2,s*s*F] (s = split; h must be a multiple of it)."""
    if split == 1:
        return x
    b, t, f = x.shape
    h = round((t // 3) ** 0.5)
    g = h // split
    if 3 * h * h != t or g * split != h:
        raise ValueError(f"cannot group {t} tokens (3 planes of h x h) by {split}")
    x = x.reshape(b, 3, g, split, g, split, f).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(b, 3 * g * g, split * split * f)


def ungroup_tokens(x: Tensor, split: int) -> Tensor:
    """[B,3*g*g,s*s*F] -> [B,3*(g*s)^2,F]: the inverse of ``group_tokens``."""
    if split == 1:
        return x
    b, t, sf = x.shape
    g = round((t // 3) ** 0.5)
    f = sf // (split * split)
    if 3 * g * g != t or f * split * split != sf:
        raise ValueError(f"cannot ungroup [{t},{sf}] by {split}")
    x = x.reshape(b, 3, g, g, split, split, f).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(b, 3 * (g * split) ** 2, f)


def token_cells(plane_tokens: int, split: int) -> tuple[Tensor, Tensor]:
    """For each of the T = 3*h*h tokens: its cell [T] (0..3*(h/s)^2) and its place in the
    cell [T] (0..s*s), as ``group_tokens`` lays them out: ``group_tokens(x)[:, cell[t],
    place[t]*F:(place[t]+1)*F] == x[:, t]``."""
    h, s = plane_tokens, split
    g = h // s
    t = torch.arange(3 * h * h)
    plane, row, col = t // (h * h), (t % (h * h)) // h, t % h
    cell = plane * g * g + (row // s) * g + col // s
    place = (row % s) * s + col % s
    return cell, place
