"""Evaluation of generated assets against held-out real data, with a real-vs-real floor.

``evaluate_generated`` is pure: it takes what a generator produced (renders with masks,
meshes, a render function per asset) and what the data holds (real patches with masks,
reference shapes) and returns every metric with the protocol that produced it:

* ``fid``, ``kid`` (``fid.py``): generated renders vs real patches, both composited on the
  same constant background with their masks, features of the given network.
* ``cov``, ``mmd``, ``one_nna`` (``shape_metrics.py``): Chamfer distances between surface
  samples of generated meshes and reference shapes (meshes or points), both normalised the
  same way (``chamfer.normalise``).
* ``geometry_consistency`` (``geometry_consistency.py``): per asset, averaged over assets.
* ``real_vs_real``: the same image and shape metrics between two seeded random halves of the
  real images and of the reference shapes: the floor that sampling noise alone gives.
  ``matched``: generated (a seeded subset the size of the first half) against the second
  half, at the floor's sample sizes; compare ``matched`` with ``real_vs_real`` (FID and KID
  estimates depend on the number of samples, so compare like with like).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

from gina3d.errors import Gina3dError
from gina3d.evaluation.chamfer import pairwise_chamfer
from gina3d.evaluation.fid import frechet_distance, image_set_features, kernel_inception_distance
from gina3d.evaluation.gen_config import GenEvalConfig
from gina3d.evaluation.geometry_consistency import (
    consistency_protocol,
    geometry_consistency,
    look_at_cameras,
)
from gina3d.evaluation.shape_metrics import distance_metrics, shape_point_sets

CONSISTENCY_AZIMUTHS = tuple(range(0, 360, 45))
_DEFAULT_CAMERAS = (
    "8 azimuths 45 deg apart at the configured elevation, distance 2 x box diagonal, "
    "focal 1.2 x resolution, looking at the box centre"
)


def default_consistency_cameras(box_size, resolution: int, elevation_deg: float = 15.0):
    """K [8,3,3], cam_from_obj [8,4,4]: 8 azimuths at twice the box diagonal, focal
    1.2 x resolution (the box spans about half the image)."""
    diag = float(np.linalg.norm(np.asarray(box_size, dtype=np.float64)))
    return look_at_cameras(
        2.0 * diag, CONSISTENCY_AZIMUTHS, elevation_deg, 1.2 * resolution, resolution, resolution
    )


def _halves(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])


def _image_metrics(fa: np.ndarray, fb: np.ndarray, cfg: GenEvalConfig, seed: int) -> dict:
    kid, kid_std, m = kernel_inception_distance(fa, fb, cfg.kid_subsets, cfg.kid_subset_size, seed)
    return {"fid": frechet_distance(fa, fb), "kid": kid, "kid_std": kid_std, "kid_subset_size": m}


def _consistency(render_fns, cameras, box_sizes, cfg: GenEvalConfig) -> dict:
    res = cfg.resolution
    per_asset = []
    for i, fn in enumerate(render_fns):
        if cameras is None:
            if box_sizes is None:
                raise Gina3dError("geometry consistency needs cameras or generated box sizes")
            K, cam = default_consistency_cameras(box_sizes[i], res, cfg.consistency_elevation_deg)
        else:
            K, cam = cameras[i] if isinstance(cameras, list) else cameras
        per_asset.append(
            geometry_consistency(
                fn,
                K,
                cam,
                res,
                res,
                opacity_threshold=cfg.opacity_threshold,
                occlusion_tolerance=cfg.occlusion_tolerance,
                threshold=cfg.consistency_threshold,
            )
        )
    out: dict = {"num_assets": len(per_asset)}
    for key in (
        "depth_abs_rel",
        "consistent_fraction",
        "silhouette_agreement",
        "occluded_fraction",
    ):
        vals = [a[key] for a in per_asset if a[key] is not None]
        out[key] = float(np.mean(vals)) if vals else None
    out["num_points"] = int(sum(a["num_points"] for a in per_asset))
    return out


def evaluate_generated(
    generated_images: Tensor,
    generated_masks: Tensor,
    real_images: Tensor,
    real_masks: Tensor,
    generated_shapes: Sequence,
    reference_shapes: Sequence,
    network,
    render_fns: Sequence | None = None,
    consistency_cameras=None,
    generated_box_sizes: Sequence | None = None,
    reference_box_sizes: Sequence | None = None,
    camera_distribution: str = "",
    config: GenEvalConfig | None = None,
) -> dict:
    """Every generation metric with its protocol (module docstring).

    Images: [N,3,H,W] straight colour in [0,1] with masks [N,H,W] (renders: opacity >= 0.5
    and ``fid.unpremultiply``; real patches: the visible object mask). Shapes: meshes, mesh
    paths or points [P,3] in the object frame (box sizes [3] used by ``unit_box``).
    ``render_fns``: one ``render_fn`` per generated asset (``triplane_render_fn``), or None
    to skip geometry consistency; ``consistency_cameras``: (K [V,3,3], cam_from_obj [V,4,4])
    for all assets, a list of them per asset, or None for ``default_consistency_cameras``.
    ``camera_distribution`` describes how the render cameras were drawn (for the protocol).
    ``config``: the metric settings (``gen_config.GenEvalConfig``; its ``seed`` seeds every
    draw, its ``resolution`` is the size of the consistency views).
    """
    cfg = config or GenEvalConfig()
    seed = cfg.seed
    rng = np.random.default_rng(seed)
    skipped: dict[str, str] = {}

    feat_args = dict(background=cfg.background, batch_size=cfg.batch_size, device=cfg.device)
    f_gen = image_set_features(generated_images, network, generated_masks, **feat_args)  # [N,D]
    f_real = image_set_features(real_images, network, real_masks, **feat_args)  # [M,D]
    result: dict = _image_metrics(f_gen, f_real, cfg, seed)

    n = cfg.points_per_shape
    p_gen = shape_point_sets(generated_shapes, n, seed, cfg.normalisation, generated_box_sizes)
    p_ref = shape_point_sets(reference_shapes, n, seed, cfg.normalisation, reference_box_sizes)
    d_gr = pairwise_chamfer(p_gen, p_ref, device=cfg.device)  # [G,R]
    d_gg = pairwise_chamfer(p_gen, device=cfg.device)  # [G,G]
    d_rr = pairwise_chamfer(p_ref, device=cfg.device)  # [R,R]
    result.update(distance_metrics(d_gr, d_gg, d_rr))

    if render_fns is None:
        result["geometry_consistency"] = None
        skipped["geometry_consistency"] = "no render functions given"
    else:
        result["geometry_consistency"] = _consistency(
            list(render_fns), consistency_cameras, generated_box_sizes, cfg
        )

    floor, matched = {}, {}
    if len(f_real) >= 4:
        a, b = _halves(len(f_real), rng)
        floor.update(_image_metrics(f_real[a], f_real[b], cfg, seed))
        pick = np.sort(rng.choice(len(f_gen), min(len(a), len(f_gen)), replace=False))
        matched.update(_image_metrics(f_gen[pick], f_real[b], cfg, seed))
    else:
        skipped["real_vs_real_images"] = f"{len(f_real)} real images: need at least 4"
    if len(p_ref) >= 4:
        a, b = _halves(len(p_ref), rng)
        floor.update(distance_metrics(d_rr[np.ix_(a, b)], d_rr[np.ix_(a, a)], d_rr[np.ix_(b, b)]))
        pick = np.sort(rng.choice(len(p_gen), min(len(a), len(p_gen)), replace=False))
        matched.update(
            distance_metrics(d_gr[np.ix_(pick, b)], d_gg[np.ix_(pick, pick)], d_rr[np.ix_(b, b)])
        )
    else:
        skipped["real_vs_real_shapes"] = f"{len(p_ref)} reference shapes: need at least 4"
    result["real_vs_real"] = floor or None
    result["matched"] = matched or None

    h, w = generated_images.shape[-2:]
    result["protocol"] = {
        "seed": seed,
        "images": {
            "num_generated": int(len(f_gen)),
            "num_real": int(len(f_real)),
            "resolution": [int(h), int(w)],
            "real_resolution": [int(s) for s in real_images.shape[-2:]],
            "background": cfg.background,
            "masking": "rgb * mask + background * (1 - mask) on both sides",
            "camera_distribution": camera_distribution or "not given",
            "feature_network": network.describe(),
            "kid": {
                "subsets": cfg.kid_subsets,
                "subset_size": result["kid_subset_size"],
                "kernel": "(x . y / d + 1)^3, unbiased MMD^2",
            },
            "fid": "|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), np.cov (ddof 1)",
        },
        "shapes": {
            "num_generated": int(len(p_gen)),
            "num_reference": int(len(p_ref)),
            "points_per_shape": n,
            "normalisation": cfg.normalisation,
            "distance": "Chamfer: mean squared nearest-neighbour distance, both directions summed",
            "sampling": "uniform by area on mesh surfaces (trimesh), random subset of points; "
            "shape i of each set drawn with seed + i",
        },
        "geometry_consistency": {
            **consistency_protocol(
                cfg.opacity_threshold, cfg.occlusion_tolerance, cfg.consistency_threshold
            ),
            "resolution": cfg.resolution,
            "cameras": "given" if consistency_cameras is not None else _DEFAULT_CAMERAS,
        },
        "real_vs_real": "seeded random halves (floor(n/2), rest) of the real images and of the "
        "reference shapes; matched = a seeded subset of generated, the size of the first half, "
        "against the second half",
        "config": cfg.metric_config(),
        "skipped": skipped,
    }
    return result
