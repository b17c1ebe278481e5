"""A differentiable 3D Gaussian splat rasteriser in plain torch (the reference).

Gaussians in the object frame (metres): means [N,3], log-scales [N,3], quaternions [N,4]
(w, x, y, z; normalised here), logit opacities [N] and degree-0 spherical-harmonic colour
[N,3] (colour = 0.5 + C0 * sh, clamped at 0, as 3D Gaussian Splatting).

Projection (EWA splatting, as 3DGS): a Gaussian's 3D covariance R S S^T R^T is carried into
the image by the Jacobian J of the OpenCV pinhole at its camera-frame centre and the
rotation W of ``cam_from_obj``: Sigma2D = J W Sigma W^T J^T + 0.3 px^2 (dilation).
Gaussians with camera z under ``NEAR`` are dropped.

Compositing: Gaussians are sorted by camera z and blended front to back at every pixel
centre (column + 0.5, row + 0.5): alpha = min(0.99, opacity * exp(-d^T Sigma2D^-1 d / 2)),
alphas under 1/255 count as 0; rgb = sum_i T_i alpha_i c_i + T_N background, with
T_i = prod_{j<i} (1 - alpha_j). Brute force over pixels x Gaussians, pixels in chunks
(each chunk recomputed in the backward pass when gradients are on, so memory stays at one
chunk), for images of up to about 128^2 px and a few thousand Gaussians.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gina3d.errors import Gina3dError

C0 = 0.28209479177387814  # degree-0 spherical harmonic
DILATION = 0.3  # px^2 added to the 2D covariance
ALPHA_MAX = 0.99
ALPHA_MIN = 1.0 / 255.0
NEAR = 0.01  # m
CHUNK = 1024  # pixels per chunk
LOG_T_MIN = -60.0  # transmittance floor (log), far above float32 subnormals


def sh_to_rgb(sh: Tensor) -> Tensor:
    """Degree-0 SH [...,3] -> colour [...,3] (0.5 + C0 sh, at least 0)."""
    return (0.5 + C0 * sh).clamp_min(0.0)


def rgb_to_sh(rgb: Tensor) -> Tensor:
    """Colour [...,3] -> degree-0 SH [...,3] (the inverse of ``sh_to_rgb`` above 0)."""
    return (rgb - 0.5) / C0


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Quaternions [N,4] (w, x, y, z; any norm) -> rotation matrices [N,3,3]."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).view(-1, 3, 3)


def covariance_3d(log_scales: Tensor, quats: Tensor) -> Tensor:
    """Object-frame covariances [N,3,3] = R S S^T R^T."""
    m = quat_to_rotmat(quats) * log_scales.exp()[:, None, :]  # [N,3,3] = R diag(s)
    return m @ m.transpose(1, 2)


def project_gaussians(
    means: Tensor, log_scales: Tensor, quats: Tensor, K: Tensor, cam_from_obj: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Pixel centres [N,2], 2D covariances [N,2,2] (dilated) and camera z [N]."""
    R, t = cam_from_obj[:3, :3], cam_from_obj[:3, 3]
    p = means @ R.T + t  # [N,3] camera frame
    x, y, z = p.unbind(-1)
    zs = z.clamp_min(NEAR)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    uv = torch.stack([fx * x / zs + cx, fy * y / zs + cy], dim=-1)  # [N,2]
    zero = torch.zeros_like(zs)
    J = torch.stack([fx / zs, zero, -fx * x / zs**2, zero, fy / zs, -fy * y / zs**2], dim=-1).view(
        -1, 2, 3
    )  # [N,2,3]
    T = J @ R  # [N,2,3]
    cov2 = T @ covariance_3d(log_scales, quats) @ T.transpose(1, 2)  # [N,2,2]
    cov2 = cov2 + DILATION * torch.eye(2, dtype=cov2.dtype, device=cov2.device)
    return uv, cov2, z


def _composite_chunk(pix: Tensor, uv: Tensor, conic: Tensor, opac: Tensor, rgb: Tensor, bg):
    """Pixels [P,2] over depth-sorted Gaussians -> rgb [P,3], final transmittance [P]."""
    if uv.shape[0] == 0:
        return bg.expand(pix.shape[0], 3), torch.ones_like(pix[:, 0])
    d = pix[:, None, :] - uv[None]  # [P,N,2]
    dx, dy = d[..., 0], d[..., 1]
    power = -0.5 * (conic[:, 0] * dx * dx + 2 * conic[:, 1] * dx * dy + conic[:, 2] * dy * dy)
    # exp(-20) < ALPHA_MIN: the clamp changes nothing but keeps subnormals (slow) out
    alpha = (opac * power.clamp(-20.0, 0.0).exp()).clamp_max(ALPHA_MAX)  # [P,N]
    alpha = torch.where(alpha < ALPHA_MIN, torch.zeros_like(alpha), alpha)
    # transmittance in log space, floored at exp(-LOG_T_MIN) for the same reason
    log_t = torch.cumsum(torch.log1p(-alpha), dim=1).clamp_min(LOG_T_MIN)  # [P,N] after each
    trans = log_t.exp()
    before = torch.cat([torch.ones_like(trans[:, :1]), trans[:, :-1]], dim=1)  # [P,N]
    out = (before * alpha) @ rgb + trans[:, -1:] * bg  # [P,3]
    return out, trans[:, -1]


def rasterize(
    means: Tensor,
    log_scales: Tensor,
    quats: Tensor,
    logit_opacities: Tensor,
    sh: Tensor,
    K,
    cam_from_obj,
    height: int,
    width: int,
    background=(0.0, 0.0, 0.0),
    chunk: int = CHUNK,
) -> dict[str, Tensor]:
    """Render Gaussians with camera K [3,3] and ``cam_from_obj`` [4,4] (OpenCV) into
    ``rgb`` [3,H,W] (over ``background``) and ``alpha`` [H,W]; differentiable in every
    Gaussian parameter."""
    n = means.shape[0]
    shapes = {"means": (means, 3), "log_scales": (log_scales, 3), "quats": (quats, 4)}
    for name, (a, k) in {**shapes, "sh": (sh, 3)}.items():
        if a.dim() != 2 or a.shape != (n, k):
            raise Gina3dError(f"splats: {name} must be [{n},{k}], got {list(a.shape)}")
    if logit_opacities.shape != (n,):
        raise Gina3dError(f"splats: opacities must be [{n}], got {list(logit_opacities.shape)}")
    if height < 1 or width < 1:
        raise Gina3dError(f"splats: image size must be positive, got {height}x{width}")
    dev, dt = means.device, means.dtype
    K = torch.as_tensor(K, dtype=dt, device=dev)
    cam_from_obj = torch.as_tensor(cam_from_obj, dtype=dt, device=dev)
    bg = torch.as_tensor(background, dtype=dt, device=dev).reshape(1, 3)
    uv, cov2, z = project_gaussians(means, log_scales, quats, K, cam_from_obj)
    keep = (z > NEAR).nonzero().squeeze(1)
    order = keep[torch.argsort(z[keep])]  # front to back
    uv, cov2 = uv[order], cov2[order]
    a, b, c = cov2[:, 0, 0], cov2[:, 0, 1], cov2[:, 1, 1]
    det = a * c - b * b
    conic = torch.stack([c / det, -b / det, a / det], dim=-1)  # [N',3] inverse covariance
    opac = torch.sigmoid(logit_opacities[order])
    rgb = sh_to_rgb(sh[order])  # [N',3]
    rows = torch.arange(height, dtype=dt, device=dev) + 0.5
    cols = torch.arange(width, dtype=dt, device=dev) + 0.5
    vv, uu = torch.meshgrid(rows, cols, indexing="ij")
    pix = torch.stack([uu, vv], dim=-1).reshape(-1, 2)  # [H*W,2] (u, v)
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (means, log_scales, quats, logit_opacities, sh)
    )
    colours, transmit = [], []
    for s in range(0, pix.shape[0], chunk):
        args = (pix[s : s + chunk], uv, conic, opac, rgb, bg)
        if grad:
            out, tr = checkpoint(_composite_chunk, *args, use_reentrant=False)
        else:
            out, tr = _composite_chunk(*args)
        colours.append(out)
        transmit.append(tr)
    image = torch.cat(colours).reshape(height, width, 3).permute(2, 0, 1)  # [3,H,W]
    alpha = 1.0 - torch.cat(transmit).reshape(height, width)  # [H,W]
    return {"rgb": image, "alpha": alpha}
