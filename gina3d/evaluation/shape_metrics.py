"""Diversity and fidelity of generated shapes against references: COV, MMD, 1-NNA.

The standard definitions (Achlioptas et al. 2018, PointFlow: Yang et al. 2019) from a
distance matrix ``D[g, r]`` between generated shapes S_g (G of them) and references S_r
(R of them), here the Chamfer distance of ``chamfer.py``:

* ``cov`` (coverage, higher is better, 1 at best): the fraction of references that are the
  nearest reference of at least one generated shape, ``|{argmin_r D[g, r] : g}| / R``.
  Measures diversity: a generator repeating one good shape covers one reference.
* ``mmd`` (minimum matching distance, lower is better, 0 at best): for each reference the
  distance to its nearest generated shape, averaged over references,
  ``mean_r min_g D[g, r]``. Measures fidelity: every reference has a close sample.
* ``one_nna`` (1-nearest-neighbour accuracy, 0.5 is ideal): leave-one-out 1-NN classification
  of the union of both sets, each shape labelled by its set; the accuracy, averaged over all
  G + R shapes. Near 1: the sets are told apart (poor samples or mode collapse); near 0.5:
  indistinguishable; near 0: every sample copies a reference (memorisation). Needs the
  within-set matrices too; a tie between the nearest shape of each set counts as correct.
"""

from __future__ import annotations

import numpy as np

from gina3d.errors import Gina3dError
from gina3d.evaluation.chamfer import normalise, pairwise_chamfer, point_set


def cov(d_gr: np.ndarray) -> float:
    """Coverage from D [G,R]: share of references that are some sample's nearest."""
    d = _matrix(d_gr, "d_gr")
    return float(len(np.unique(d.argmin(axis=1))) / d.shape[1])


def mmd(d_gr: np.ndarray) -> float:
    """Minimum matching distance from D [G,R]: mean over references of the nearest sample."""
    return float(_matrix(d_gr, "d_gr").min(axis=0).mean())


def one_nna(d_gr: np.ndarray, d_gg: np.ndarray, d_rr: np.ndarray) -> float:
    """Leave-one-out 1-NN accuracy of the union, from D [G,R], D [G,G] and D [R,R]."""
    d_gr, d_gg, d_rr = _matrix(d_gr, "d_gr"), _matrix(d_gg, "d_gg"), _matrix(d_rr, "d_rr")
    g, r = d_gr.shape
    if d_gg.shape != (g, g) or d_rr.shape != (r, r):
        raise Gina3dError(f"1-NNA: matrices {d_gr.shape}, {d_gg.shape}, {d_rr.shape} disagree")
    if g < 1 or r < 1 or g + r < 3:
        raise Gina3dError("1-NNA needs shapes in both sets and at least three in all")
    same_g = d_gg + np.diag(np.full(g, np.inf))  # [G,G] leave one out
    same_r = d_rr + np.diag(np.full(r, np.inf))  # [R,R]
    correct_g = same_g.min(axis=1) <= d_gr.min(axis=1)  # [G] nearest is a sample
    correct_r = same_r.min(axis=1) <= d_gr.min(axis=0)  # [R] nearest is a reference
    return float((correct_g.sum() + correct_r.sum()) / (g + r))


def shape_point_sets(
    shapes, n: int, seed: int, mode: str = "unit_box", box_sizes=None
) -> np.ndarray:
    """Point sets [S,n,3]: each shape (mesh, mesh path or points [P,3]) sampled with seed
    ``seed + index`` and normalised by ``mode`` (with its box size [3] when given)."""
    sets = []
    for i, shape in enumerate(shapes):
        box = None if box_sizes is None else box_sizes[i]
        sets.append(normalise(point_set(shape, n, seed + i), mode, box))
    if not sets:
        raise Gina3dError("no shapes given")
    return np.stack(sets)


def distance_metrics(d_gr: np.ndarray, d_gg: np.ndarray, d_rr: np.ndarray) -> dict:
    """COV, MMD and 1-NNA from distance matrices generated-reference [G,R],
    generated-generated [G,G] and reference-reference [R,R]."""
    return {"cov": cov(d_gr), "mmd": mmd(d_gr), "one_nna": one_nna(d_gr, d_gg, d_rr)}


def shape_metrics(gen_points: np.ndarray, ref_points: np.ndarray, device: str = "cpu") -> dict:
    """COV, MMD and 1-NNA (Chamfer) of point sets [G,N,3] against [R,M,3]."""
    d_gr = pairwise_chamfer(gen_points, ref_points, device=device)  # [G,R]
    d_gg = pairwise_chamfer(gen_points, device=device)  # [G,G]
    d_rr = pairwise_chamfer(ref_points, device=device)  # [R,R]
    return {
        **distance_metrics(d_gr, d_gg, d_rr),
        "num_generated": int(d_gr.shape[0]),
        "num_reference": int(d_gr.shape[1]),
    }


def _matrix(d: np.ndarray, name: str) -> np.ndarray:
    m = np.asarray(d, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise Gina3dError(f"{name}: need a non-empty distance matrix, got shape {list(m.shape)}")
    if np.isnan(m).any():
        raise Gina3dError(f"{name}: distance matrix contains NaN")
    return m
