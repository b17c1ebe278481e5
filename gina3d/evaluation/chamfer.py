"""Point sets of shapes and the Chamfer distance between them.

Chamfer distance (the convention of Achlioptas et al. 2018 and PointFlow): squared
Euclidean distances, averaged over each set, summed over both directions,

    CD(X, Y) = mean_{x in X} min_{y in Y} |x - y|^2 + mean_{y in Y} min_{x in X} |x - y|^2

in squared units of the points (m^2 for ``metres``, unit-box units for ``unit_box``).
Computed with ``|x|^2 + |y|^2 - 2 x.y`` in chunks (a test checks it against brute force).

Shapes become point sets by uniform area sampling of mesh surfaces (``sample_surface``) or
by drawing from given points (LiDAR returns aggregated per object), then ``normalise``:

* ``unit_box`` (default): the object's box (its known size, or the points' bounding box)
  is centred at the origin and scaled uniformly so that its longest side is 1: shape only,
  comparable across classes and sizes.
* ``metres``: points as they are, in the object frame (box centre at the origin, x forward,
  y left, z up, metres): size differences count.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor

from gina3d.errors import Gina3dError

NORMALISATIONS = ("unit_box", "metres")
MAX_ELEMENTS = 1 << 24  # distance-matrix entries computed at once (64 MB in float32)


def sample_surface(mesh, n: int, seed: int) -> np.ndarray:
    """``n`` points [n,3] (float64) drawn uniformly by area from a mesh's surface.

    ``mesh``: a trimesh.Trimesh, anything with ``vertices`` [V,3] and ``faces`` [F,3]
    (gina3d's ``Mesh``), or a mesh file path (GLB, PLY, OBJ).
    """
    import trimesh

    if isinstance(mesh, str | os.PathLike):
        try:
            mesh = trimesh.load(mesh, force="mesh", process=False)
        except Exception as e:  # any parse failure is a bad file for the user
            raise Gina3dError(f"{mesh}: cannot read mesh ({str(e).splitlines()[0]})") from None
    if not isinstance(mesh, trimesh.Trimesh):
        mesh = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), process=False)
    if len(mesh.faces) == 0 or mesh.area <= 0:
        raise Gina3dError("cannot sample the surface of a mesh without area")
    points, _ = trimesh.sample.sample_surface(mesh, int(n), seed=int(seed))
    return np.asarray(points, dtype=np.float64)


def sample_points(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points [n,3] drawn from given points [P,3] (without replacement when P >= n)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(p) == 0:
        raise Gina3dError("cannot sample from an empty point set")
    rng = np.random.default_rng(seed)
    return p[rng.choice(len(p), int(n), replace=len(p) < n)]


def point_set(shape, n: int, seed: int) -> np.ndarray:
    """Points [n,3] of a shape: a mesh (or mesh path) is surface-sampled, an array [P,3]
    is subsampled."""
    if isinstance(shape, np.ndarray | Tensor):
        return sample_points(np.asarray(shape), n, seed)
    return sample_surface(shape, n, seed)


def normalise(
    points: np.ndarray, mode: str = "unit_box", box_size: np.ndarray | None = None
) -> np.ndarray:
    """Points [N,3] normalised by ``mode`` (module docstring). For ``unit_box``, a known
    ``box_size`` [3] (object frame: the box is centred at the origin) is used as the box;
    without it, the points' own axis-aligned bounding box."""
    p = np.asarray(points, dtype=np.float64)
    if mode == "metres":
        return p
    if mode != "unit_box":
        raise Gina3dError(
            f"unknown normalisation '{mode}' (choose from {', '.join(NORMALISATIONS)})"
        )
    if box_size is not None:
        centre, extent = np.zeros(3), np.asarray(box_size, dtype=np.float64).reshape(3)
    else:
        lo, hi = p.min(axis=0), p.max(axis=0)
        centre, extent = (lo + hi) / 2, hi - lo
    scale = float(extent.max())
    if scale <= 0:
        raise Gina3dError("cannot normalise a shape whose box has no extent")
    return (p - centre) / scale


def _nearest_sq_dists(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """a [B,N,3], b [B,M,3] -> squared distance from each point of a to the nearest of b
    [B,N], and from each point of b to the nearest of a [B,M]; one distance matrix, built
    in chunks of rows of a."""
    rows = max(1, MAX_ELEMENTS // max(1, a.shape[0] * b.shape[1]))
    b_sq = (b * b).sum(-1)  # [B,M]
    a_to_b, b_to_a = [], None
    for start in range(0, a.shape[1], rows):
        x = a[:, start : start + rows]  # [B,n,3]
        d = torch.baddbmm(b_sq[:, None], x, b.transpose(1, 2), alpha=-2)  # [B,n,M]
        d += (x * x).sum(-1)[..., None]  # |x|^2 + |y|^2 - 2 x.y
        a_to_b.append(d.amin(dim=2))
        col = d.amin(dim=1)  # [B,M]
        b_to_a = col if b_to_a is None else torch.minimum(b_to_a, col)
    return torch.cat(a_to_b, dim=1).clamp(min=0), b_to_a.clamp(min=0)


def chamfer_distance(a: Tensor, b: Tensor) -> Tensor:
    """Chamfer distance [B] between point sets a [B,N,3] and b [B,M,3] (module docstring).

    In the inputs' dtype: float32 adds an absolute error of about 1e-7 |x|^2 (1e-7 in
    unit-box units), far below the distances between different shapes.
    """
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[-1] != 3:
        raise Gina3dError(
            f"point sets must be [B,N,3] and [B,M,3], got {list(a.shape)}, {list(b.shape)}"
        )
    with torch.no_grad():
        a_to_b, b_to_a = _nearest_sq_dists(a, b)
        return a_to_b.mean(1) + b_to_a.mean(1)


def pairwise_chamfer(
    x: np.ndarray | Tensor,
    y: np.ndarray | Tensor | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Chamfer distances [G,R] (float64) between every set of x [G,N,3] and of y [R,M,3];
    ``y=None``: within x [G,G] (symmetric, zero diagonal, each pair computed once)."""
    xs = torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # [G,N,3]
    ys = xs if y is None else torch.as_tensor(np.asarray(y), dtype=dtype, device=device)
    g, r = xs.shape[0], ys.shape[0]  # ys [R,M,3]
    out = np.zeros((g, r))
    pairs = max(1, MAX_ELEMENTS // max(1, xs.shape[1] * ys.shape[1]))  # pairs per call
    for i in range(g):
        first = i + 1 if y is None else 0
        for start in range(first, r, pairs):
            yb = ys[start : start + pairs]  # [p,M,3]
            xb = xs[i][None].expand(yb.shape[0], -1, -1)  # [p,N,3]
            out[i, start : start + yb.shape[0]] = chamfer_distance(xb, yb).double().cpu().numpy()
    return out + out.T if y is None else out
