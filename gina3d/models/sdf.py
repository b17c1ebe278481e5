"""Signed distance as a field's geometry: density from distance, and the eikonal term.

With ``ModelConfig.field_type = "sdf"`` the field MLP predicts a signed distance ``d``
(negative inside) in the *box-normalised* frame (the box spans 2 units on every axis), and
the renderer's density comes from it through VolSDF's transform (Yariv et al. 2021):

    sigma(d) = (1 / beta) * Psi_beta(-d),
    Psi_beta(s) = 0.5 exp(s / beta)          for s <= 0,
                  1 - 0.5 exp(-s / beta)     for s > 0

(the CDF of a zero-mean Laplace distribution of scale ``beta``). Deep inside the density is
``1 / beta``, on the surface ``0.5 / beta``, and outside it decays as
``exp(-d / beta) / (2 beta)``. ``beta`` is fixed at ``sdf_beta_init`` by default; with
``sdf_learn_beta`` it is learned as in VolSDF (one scalar per model, floored at
``sdf_beta_min``), which on single views makes it grow (docs/results.md).

Why VolSDF's density and not NeuS's logistic opacity: VolSDF gives a *density* per point,
so the volume renderer, its importance sampling, the opacity and depth losses, LiDAR depth
and everything downstream composite it exactly as they composite a free density. NeuS
defines an interval's opacity from the distances at both of its ends and, in its unbiased
form, from the angle between the ray and the surface normal, which would need the field's
gradient at every render sample (six more field evaluations per sample with numerical
gradients) and a second compositing path.

Eikonal term: ``mean((|grad d| - 1)^2)`` keeps ``d`` a distance. The gradient is taken by
central differences (Neuralangelo, Li et al. 2023): the tri-plane is read with
``grid_sample``, whose backward is not differentiable again, and finite differences need
only first derivatives for the loss's own gradient.

Prior: ``d = mlp(features) + (|p| - r0)``, the distance to a sphere of radius
``sdf_init_radius`` in the normalised frame (an ellipsoid inscribed in the box in metres);
the MLP's last layer starts near zero, so an untrained field is that ellipsoid and the
network learns the difference (the geometric initialisation of SAL/IGR in its simplest
form).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def laplace_density(sdf: Tensor, beta: Tensor | float) -> Tensor:
    """VolSDF density ``(1/beta) * Psi_beta(-sdf)`` of signed distances [...] (see module)."""
    beta = torch.as_tensor(beta, dtype=sdf.dtype, device=sdf.device)
    s = -sdf / beta
    # Psi(s) = 0.5 + 0.5 sign(s) (1 - exp(-|s|)), written with expm1 for small |s|
    psi = 0.5 - 0.5 * torch.sign(s) * torch.expm1(-s.abs())
    return psi / beta


def sphere_sdf(points: Tensor, radius: float) -> Tensor:
    """Signed distance [...] of points [...,3] to a sphere of ``radius`` about the origin."""
    return points.norm(dim=-1) - radius


OFFSETS = torch.tensor(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float32
)  # [6,3] central differences: +x, -x, +y, -y, +z, -z


def numerical_gradient(fn: Callable[[Tensor], Tensor], points: Tensor, step: float) -> Tensor:
    """Central-difference gradient [B,M,3] of ``fn`` (points [B,M',3] -> values [B,M']) at
    points [B,M,3]: one call on the 6M displaced points, so gradients flow to ``fn``'s
    parameters through first derivatives only."""
    b, m, _ = points.shape
    offsets = OFFSETS.to(points) * step  # [6,3]
    shifted = points[:, :, None, :] + offsets  # [B,M,6,3]
    values = fn(shifted.reshape(b, m * 6, 3)).reshape(b, m, 3, 2)  # [B,M,axis,(+,-)]
    return (values[..., 0] - values[..., 1]) / (2.0 * step)  # [B,M,3]


def eikonal_loss(grad: Tensor) -> Tensor:
    """Mean of ``(|grad| - 1)^2`` over gradients [...,3]."""
    return ((grad.norm(dim=-1) - 1.0) ** 2).mean()


def box_points(batch: int, count: int, generator: torch.Generator, device) -> Tensor:
    """``count`` uniform points per item in the normalised box [-1,1]^3 -> [B,M,3]
    (drawn on the generator's device, returned on ``device``)."""
    u = torch.rand(batch, count, 3, generator=generator, device=generator.device)
    return (u * 2.0 - 1.0).to(device)
