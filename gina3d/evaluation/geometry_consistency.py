"""Geometry consistency: does an asset's rendered depth agree with itself across views?

Definition (``geometry_consistency``). Render depth (expected distance along each pixel's
unit ray) and opacity of one asset at V views. For every ordered pair of views (a, b):

1. Take the object pixels of view a (opacity > ``opacity_threshold``) and lift each to 3D
   on its pixel-centre ray at the rendered depth (object frame).
2. Project the points into view b; keep those in front of camera b and inside its image
   (``num_in_view``). ``silhouette_agreement``: the share of these that land on the object
   in view b (one of the four pixels around the projected point is an object pixel: a
   tolerance of one pixel for the discrete silhouette).
3. Compare where view b sees surface around the point: the four pixels around the projected
   point are all object pixels, and the point has a normal (central differences of view a's
   lifted depth, where the pixel and its four neighbours are object pixels). The rendered
   depth of b there (bilinear) is ``d_b``; the point's distance from camera b is ``r``. The
   point is hidden in b, skipped and counted in ``occluded_fraction``, when its normal faces
   away from camera b (the back of the object) or ``r > d_b (1 + occlusion_tolerance)``
   (another part is in front); otherwise it is visible and its error is ``|d_b - r| / r``.
4. ``depth_abs_rel``: mean error over the visible points of all pairs (0 for perfectly
   consistent geometry, up to the bilinear interpolation of a curved surface and creases);
   ``consistent_fraction``: share of them with error below ``threshold``.

A depth error larger than ``occlusion_tolerance`` towards camera b reads as occlusion, not
as inconsistency (no test on depth maps alone can tell them apart); ``occluded_fraction``
shows how much the visibility rules removed. The back-face rule keeps the tolerance from
mattering on convex parts, where hidden points sit just behind a crease.

Cameras follow the repo conventions: OpenCV cameras, ``cam_from_obj`` [4,4], object frame
x forward, y left, z up, metres. ``render_fn(K [B,3,3], cam_from_obj [B,4,4], H, W)`` returns
``{"depth": [B,H,W], "opacity": [B,H,W]}`` (``triplane_render_fn`` adapts a stage-1 model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from gina3d.errors import Gina3dError
from gina3d.models.stage1 import image_rays

RenderFn = Callable[[Tensor, Tensor, int, int], dict]


def look_at_cameras(
    distance: float,
    azimuths_deg: Sequence[float],
    elevation_deg: float,
    focal: float,
    height: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cameras on a circle around the object origin, looking at it: K [V,3,3] and
    cam_from_obj [V,4,4] (float64). Azimuth 0 is in front (+x), 90 on the left (+y)."""
    Ks, poses = [], []
    for az in azimuths_deg:
        a, e = np.radians(float(az)), np.radians(float(elevation_deg))
        centre = distance * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        forward = -centre / np.linalg.norm(centre)  # camera z
        right = np.cross(forward, [0.0, 0.0, 1.0])  # camera x
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)  # camera y
        pose = np.eye(4)
        pose[:3, :3] = np.stack([right, down, forward])  # rows: camera axes in the object frame
        pose[:3, 3] = -pose[:3, :3] @ centre
        poses.append(pose)
        Ks.append(np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]]))
    return np.array(Ks).reshape(-1, 3, 3), np.array(poses).reshape(-1, 4, 4)


def triplane_render_fn(model, triplane: Tensor, box_size: Tensor) -> RenderFn:
    """A render_fn for one asset: tri-plane [1,3,F,R,R] and box size [1,3] of a stage-1
    model (``Stage1Model.render_image``), expanded over the B requested views."""

    def render(K: Tensor, cam_from_obj: Tensor, height: int, width: int) -> dict:
        b = K.shape[0]
        tri = triplane.expand(b, *triplane.shape[1:])
        box = box_size.reshape(1, 3).expand(b, 3)
        with torch.no_grad():
            out = model.render_image(tri, K.float(), cam_from_obj.float(), box, height, width)
        return {"depth": out["depth"], "opacity": out["opacity"]}

    return render


def _bilinear_taps(u: Tensor, v: Tensor, height: int, width: int):
    """Pixel coordinates [n] -> the four neighbouring pixel indices (flat) [n,4] and their
    bilinear weights [n,4], pixel centres at (j + 0.5, i + 0.5), clamped at the border."""
    x, y = u - 0.5, v - 0.5
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    x0, y0 = x0.long(), y0.long()
    xs = torch.stack([x0, x0 + 1, x0, x0 + 1], -1).clamp(0, width - 1)  # [n,4]
    ys = torch.stack([y0, y0, y0 + 1, y0 + 1], -1).clamp(0, height - 1)
    w = torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], -1)
    return ys * width + xs, w


def _normals(surface: Tensor, opaque: Tensor, centre: Tensor, height: int, width: int):
    """Unit normals [H*W,3] of a view's lifted surface points [H*W,3] by central
    differences, oriented towards the camera ``centre`` [3]; valid [H*W] where the pixel and
    its four neighbours are object pixels."""
    P = surface.reshape(height, width, 3)
    ok = opaque.reshape(height, width)
    n = torch.zeros_like(P)
    valid = torch.zeros_like(ok)
    du = P[1:-1, 2:] - P[1:-1, :-2]  # [H-2,W-2,3] along image x
    dv = P[2:, 1:-1] - P[:-2, 1:-1]  # along image y
    n[1:-1, 1:-1] = torch.linalg.cross(du, dv)
    valid[1:-1, 1:-1] = ok[1:-1, 1:-1] & ok[1:-1, 2:] & ok[1:-1, :-2] & ok[2:, 1:-1] & ok[:-2, 1:-1]
    n = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    n = torch.where(((centre - P) * n).sum(-1, keepdim=True) < 0, -n, n)  # face camera a
    return n.reshape(-1, 3), valid.reshape(-1) & (n.norm(dim=-1).reshape(-1) > 0.5)


def geometry_consistency(
    render_fn: RenderFn,
    K: Tensor | np.ndarray,
    cam_from_obj: Tensor | np.ndarray,
    height: int,
    width: int,
    opacity_threshold: float = 0.5,
    occlusion_tolerance: float = 0.05,
    threshold: float = 0.01,
) -> dict:
    """Cross-view depth consistency of one asset at V >= 2 views (module docstring)."""
    K = torch.as_tensor(np.asarray(K), dtype=torch.float64)  # [V,3,3]
    cam = torch.as_tensor(np.asarray(cam_from_obj), dtype=torch.float64)  # [V,4,4]
    V = K.shape[0]
    if V < 2 or cam.shape != (V, 4, 4):
        raise Gina3dError(
            f"geometry consistency needs >= 2 views, got K {list(K.shape)}, "
            f"cam_from_obj {list(cam.shape)}"
        )
    out = render_fn(K.float(), cam.float(), height, width)
    depth = out["depth"].detach().double().cpu().reshape(V, -1)  # [V,H*W]
    opaque = out["opacity"].detach().double().cpu().reshape(V, -1) > opacity_threshold
    origins, dirs = image_rays(K, cam, height, width)  # [V,H*W,3] object frame
    centres = origins[:, 0].double()  # [V,3] camera centres
    n_in_view = n_landed = n_compared = n_hidden = 0
    errors = []
    for a in range(V):
        sel = opaque[a] & (depth[a] > 0)  # [H*W]
        surface = origins[a].double() + dirs[a].double() * depth[a, :, None]  # [H*W,3]
        normals, has_normal = _normals(surface, opaque[a], centres[a], height, width)
        pts, normals, has_normal = surface[sel], normals[sel], has_normal[sel]  # [n,...]
        for b in range(V):
            if b == a or len(pts) == 0:
                continue
            p = pts @ cam[b, :3, :3].T + cam[b, :3, 3]  # [n,3] camera b
            z = p[:, 2]
            uvw = p @ K[b].T  # [n,3]
            u, v = uvw[:, 0] / z.clamp(min=1e-9), uvw[:, 1] / z.clamp(min=1e-9)
            inside = (z > 1e-6) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
            taps, w = _bilinear_taps(u[inside], v[inside], height, width)  # [m,4]
            n_in_view += len(taps)
            n_landed += int(opaque[b][taps].any(-1).sum())
            comparable = opaque[b][taps].all(-1) & has_normal[inside]  # [m]
            d_b = (depth[b][taps] * w).sum(-1)[comparable]  # [k] depth rendered at b
            r = p[inside][comparable].norm(dim=-1)  # [k] the point's distance from b
            to_b = centres[b] - pts[inside][comparable]  # [k,3]
            facing = (normals[inside][comparable] * to_b).sum(-1) > 0
            hidden = ~facing | (r > d_b * (1 + occlusion_tolerance))
            n_compared += len(r)
            n_hidden += int(hidden.sum())
            errors.append(((d_b - r).abs() / r)[~hidden])
    err = torch.cat(errors) if errors else torch.zeros(0, dtype=torch.float64)
    return {
        "depth_abs_rel": float(err.mean()) if len(err) else None,
        "consistent_fraction": float((err < threshold).double().mean()) if len(err) else None,
        "silhouette_agreement": n_landed / n_in_view if n_in_view else None,
        "occluded_fraction": n_hidden / n_compared if n_compared else None,
        "num_points": int(len(err)),
        "num_in_view": int(n_in_view),
        "num_views": int(V),
    }


def consistency_protocol(
    opacity_threshold: float = 0.5, occlusion_tolerance: float = 0.05, threshold: float = 0.01
) -> dict:
    """The protocol entry describing ``geometry_consistency``'s settings."""
    return {
        "definition": "depth of view a lifted to 3D at object pixels (opacity > "
        f"{opacity_threshold}), reprojected into every other view b, compared (relative "
        "error |d_b - r| / r) with the bilinear depth rendered at b where the four pixels "
        "around it are object pixels; points whose normal (from view a's depth) faces away "
        f"from b or with r > d_b (1 + {occlusion_tolerance}) are hidden in b and skipped; "
        "all ordered view pairs",
        "opacity_threshold": opacity_threshold,
        "occlusion_tolerance": occlusion_tolerance,
        "consistent_threshold": threshold,
    }
