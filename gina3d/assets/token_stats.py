"""Distances between assets: token Hamming distances and turntable image distances.

Used for the issue's checks: sampled assets are distinct (mean pairwise Hamming distance),
and variations move away from their source as the strength grows (the variation curve).
"""

from __future__ import annotations

import os
from itertools import combinations, pairwise
from pathlib import Path

import numpy as np
import torch

from gina3d.errors import Gina3dError


def hamming(tokens: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Fraction of positions where each grid [n,T] differs from ``reference`` [T] -> [n]."""
    tokens = torch.as_tensor(tokens).long()
    reference = torch.as_tensor(reference).long().reshape(1, -1)
    if tokens.dim() == 1:
        tokens = tokens[None]
    if tokens.shape[-1] != reference.shape[-1]:
        raise Gina3dError(
            f"token grids differ in length: {tokens.shape[-1]} vs {reference.shape[-1]}"
        )
    return (tokens != reference).float().mean(dim=-1)


def pairwise_hamming(tokens: torch.Tensor) -> dict:
    """Over all pairs of grids [n,T]: mean and min Hamming fraction, and identical pairs."""
    tokens = torch.as_tensor(tokens).long()
    pairs = [
        float(hamming(tokens[i], tokens[j])[0]) for i, j in combinations(range(len(tokens)), 2)
    ]
    if not pairs:
        return {"pairs": 0, "mean": None, "min": None, "identical_pairs": 0}
    return {
        "pairs": len(pairs),
        "mean": round(float(np.mean(pairs)), 5),
        "min": round(float(np.min(pairs)), 5),
        "identical_pairs": int(sum(p == 0.0 for p in pairs)),
    }


def read_strip(asset_dir: str | os.PathLike) -> np.ndarray:
    """An asset's turntable strip as float [H,V*W,3] in [0,1]."""
    from PIL import Image

    path = Path(asset_dir) / "turntable.png"
    if not path.exists():
        raise Gina3dError(f"{path}: no turntable")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def image_l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two images of the same shape (values in [0,1])."""
    if a.shape != b.shape:
        raise Gina3dError(f"images differ in shape: {a.shape} vs {b.shape}")
    return float(np.abs(a - b).mean())


def curve_point(strength: float, source_tokens, source_strip, variants: list[tuple]) -> dict:
    """One point of the variation curve from ``variants`` = [(tokens [T], strip), ...]."""
    ham = [float(hamming(t, source_tokens)[0]) for t, _ in variants]
    l1 = [image_l1(s, source_strip) for _, s in variants]
    return {
        "strength": float(strength),
        "n": len(variants),
        "mean_token_hamming": round(float(np.mean(ham)), 5),
        "mean_image_l1": round(float(np.mean(l1)), 5),
        "token_hamming": [round(h, 5) for h in ham],
        "image_l1": [round(x, 5) for x in l1],
    }


def is_monotone(curve: list[dict], key: str) -> bool:
    """True when ``key`` never decreases as the strength grows."""
    values = [p[key] for p in sorted(curve, key=lambda p: p["strength"])]
    return all(b >= a for a, b in pairwise(values))
