"""Held-out views and ground-truth shape: how well one observation predicts the others.

For every track (object) of the split, the first observation (lowest frame index, then
dataset order) is the **source**: the model encodes it alone. Its tri-plane is rendered at
the cameras of the track's other observations (the **targets**, all or a seeded subset of
``max_targets``; for pedestrians and cyclists only those within ``max_gap_s`` seconds, as
their pose changes) and scored on each target's visible object pixels:

* ``psnr_heldout_view``, ``ssim_heldout_view``: PSNR / SSIM (as ``psnr_visible``), mean over
  a source's targets, then over sources. Needs no ground truth, so it works on Waymo data.
* ``psnr_heldout_view_gain``: the same PSNR after scaling the render by the one brightness
  gain (least squares on the target's object pixels, clamped to [0.5, 2]) that best matches
  the target: cameras expose each image on their own (auto-exposure), so this separates
  what the asset predicts from how the other image was exposed.
* ``psnr_heldout_mean_colour``: the same PSNR for painting the source's mean object colour
  on the target's object pixels: the floor a model must beat.
* ``psnr_heldout_view_by_angle``: PSNR over pairs binned by the angle between the source's
  and the target's viewing directions (``data.tracks.view_direction``).
* ``chamfer_gt`` (synthetic data, ``DATASET/meshes``): the source's reconstruction meshed by
  the mesh rule in use (``assets.mesh.extract_mesh``: the zero level of a signed-distance
  field, else the opacity rule at the class's default opacity) vs the ground-truth mesh,
  both surface-sampled, Chamfer distance in m^2 in the
  object frame (``evaluation.chamfer``); ``mesh_extent_error``: mean |mesh extent / box size
  - 1| over the three axes. An empty mesh counts in ``chamfer_gt_empty`` and is left out.

Every metric is also given per class. ``protocol`` holds the counts and the angle spread.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gina3d.data.dataset import PatchDataset
from gina3d.data.track_views import TrackIndex
from gina3d.data.tracks import angle_deg, view_direction
from gina3d.evaluation.image_metrics import psnr_masked, ssim_masked
from gina3d.evaluation.novel_views import mesh_path
from gina3d.geometry.cameras import intrinsics_K

ANGLE_BINS = ((0.0, 10.0), (10.0, 30.0), (30.0, 180.0))


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def track_pairs(
    ds: PatchDataset, max_targets: int = 8, max_gap_s: float = 2.0, seed: int = 0
) -> list[tuple[int, list[int]]]:
    """(source index, target indices) per track with at least one target (module doc)."""
    tracks = TrackIndex(ds)
    frame = tracks.frame
    rng = np.random.default_rng(seed)
    pairs = []
    for members in tracks.tracks:
        source = min(members.tolist(), key=lambda i: (frame[i], i))
        others = np.asarray(
            sorted(tracks.others(source, max_gap_s).tolist(), key=lambda i: (frame[i], i)),
            dtype=np.int64,
        )
        if len(others) > max_targets:
            others = np.sort(rng.choice(others, max_targets, replace=False))
        if len(others):
            pairs.append((int(source), [int(t) for t in others]))
    return pairs


def exposure_gains(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image [B,1,1,1]: the gain g minimising |g * pred - target|^2 over ``mask`` [B,H,W]
    pixels (all channels), clamped to [0.5, 2]; 1 where the mask is empty."""
    m = mask[:, None].to(pred.dtype)
    num = (m * pred * target).sum((1, 2, 3))
    den = (m * pred * pred).sum((1, 2, 3))
    g = torch.where(den > 1e-8, num / den.clamp_min(1e-8), torch.ones_like(num))
    return g.clamp(0.5, 2.0).view(-1, 1, 1, 1)


def _batch(ds: PatchDataset, indices: list[int], device) -> dict[str, torch.Tensor]:
    items = [ds[i] for i in indices]
    return {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}


def _gt_shape_errors(model, triplane, rec, root: Path, points: int, resolution: int):
    """(Chamfer m^2 or NaN for an empty mesh, mean |extent/size - 1|) of one source."""
    from gina3d.assets.mesh import extract_mesh
    from gina3d.evaluation.chamfer import chamfer_distance, sample_surface

    size = np.asarray(rec.box_size, dtype=np.float64)
    mesh = extract_mesh(model, triplane, size, resolution, class_name=rec.cls)
    if len(mesh.faces) == 0:
        return float("nan"), float("nan")
    gt = mesh_path(root, rec.object_id)  # sample_surface reads the file
    a = torch.as_tensor(sample_surface(mesh, points, 0), dtype=torch.float32)[None]
    b = torch.as_tensor(sample_surface(gt, points, 0), dtype=torch.float32)[None]
    extent = (mesh.bounds[1] - mesh.bounds[0]) / size
    return float(chamfer_distance(a, b)[0]), float(np.abs(extent - 1.0).mean())


def evaluate_heldout_views(
    model,
    ds: PatchDataset,
    device: torch.device,
    max_objects: int | None = None,
    max_targets: int = 8,
    max_gap_s: float = 2.0,
    seed: int = 0,
    shape: bool = True,
    mesh_resolution: int = 64,
    points: int = 2048,
    progress: bool = True,
) -> dict:
    """Held-out-view and ground-truth-shape metrics of a stage-1 model (module doc)."""
    from tqdm import tqdm

    pairs = track_pairs(ds, max_targets, max_gap_s, seed)
    if max_objects is not None and len(pairs) > max_objects:
        pick = np.random.default_rng(seed).choice(len(pairs), max_objects, replace=False)
        pairs = [pairs[i] for i in sorted(pick)]
    meshes = ds.root / "meshes"
    do_shape = shape and meshes.is_dir()
    per: dict[str, dict[str, list]] = {}
    angles, by_angle = [], {b: [] for b in ANGLE_BINS}
    res = None
    bar = tqdm(pairs, desc="eval held-out views", unit="object", disable=not progress, leave=False)
    with torch.no_grad():
        for source, targets in bar:
            rec = ds.record(source)
            res = int(rec.resolution)
            src = _batch(ds, [source], device)
            tri, _ = model(src["rgb"], src["ray_direction"], src["ray_origin"], src["box_size"])
            tgt = _batch(ds, targets, device)
            n = len(targets)
            K = torch.as_tensor(
                np.stack([intrinsics_K(k) for k in tgt["intrinsics"].cpu().numpy()]),
                dtype=torch.float32,
                device=device,
            )
            out = model.render_image(
                tri.expand(n, *tri.shape[1:]),
                K,
                tgt["cam_from_obj"],
                src["box_size"].expand(n, 3),
                res,
                res,
            )
            pred = out["rgb"].float().clamp(0, 1)
            obj = tgt["object_mask"] > 0.5
            psnrs = psnr_masked(pred, tgt["rgb"], obj).tolist()
            gained = (pred * exposure_gains(pred, tgt["rgb"], obj)).clamp(0, 1)
            psnrs_gain = psnr_masked(gained, tgt["rgb"], obj).tolist()
            keep = obj[:, None].float()
            ssims = ssim_masked(pred * keep, tgt["rgb"] * keep, obj).tolist()
            sobj = src["object_mask"][0] > 0.5
            mean = (
                src["rgb"][0][:, sobj].mean(1) if bool(sobj.any()) else src["rgb"][0].mean((1, 2))
            )
            flat = mean.view(1, 3, 1, 1).expand_as(tgt["rgb"])
            floor = psnr_masked(flat, tgt["rgb"], obj).tolist()
            ang = angle_deg(
                view_direction(rec.cam_from_obj)[None],
                view_direction(tgt["cam_from_obj"].double().cpu().numpy()),
            )
            angles += ang.tolist()
            for a, p in zip(ang, psnrs):
                for lo, hi in ANGLE_BINS:
                    if lo <= a < hi:
                        by_angle[(lo, hi)].append(p)
            row = per.setdefault(
                rec.cls, {k: [] for k in ("psnr", "gain", "ssim", "floor", "cd", "ext")}
            )
            row["psnr"].append(_mean(psnrs))
            row["gain"].append(_mean(psnrs_gain))
            row["ssim"].append(_mean(ssims))
            row["floor"].append(_mean(floor))
            if do_shape:
                cd, ext = _gt_shape_errors(model, tri[0], rec, ds.root, points, mesh_resolution)
                row["cd"].append(cd)
                row["ext"].append(ext)
    bar.close()

    def summary(rows: list[dict]) -> dict:
        def pool(key):
            return [v for r in rows for v in r[key]]

        cds = pool("cd")
        return {
            "num_objects": len(pool("psnr")),
            "psnr_heldout_view": _mean(pool("psnr")),
            "psnr_heldout_view_gain": _mean(pool("gain")),
            "ssim_heldout_view": _mean(pool("ssim")),
            "psnr_heldout_mean_colour": _mean(pool("floor")),
            "chamfer_gt": _mean(cds) if do_shape else None,
            "chamfer_gt_empty": int(sum(math.isnan(c) for c in cds)) if do_shape else None,
            "mesh_extent_error": _mean(pool("ext")) if do_shape else None,
        }

    result = summary(list(per.values()))
    result["per_class"] = {cls: summary([rows]) for cls, rows in sorted(per.items())}
    result["psnr_heldout_view_by_angle"] = {
        f"{lo:g}-{hi:g}": {"pairs": len(v), "psnr": _mean(v)} for (lo, hi), v in by_angle.items()
    }
    q = np.quantile(angles, [0.1, 0.5, 0.9]).round(2).tolist() if angles else [None] * 3
    result["protocol"] = {
        "source": "first observation of each track (lowest frame index)",
        "num_tracks_with_targets": len(pairs),
        "num_pairs": len(angles),
        "max_targets": max_targets,
        "max_gap_s_articulated": max_gap_s,
        "view_angle_deg": dict(zip(("p10", "p50", "p90"), q)),
        "shape": (
            f"extract_mesh at resolution {mesh_resolution}, zero level (sdf fields) or opacity "
            "rule at the class default (density fields); "
            f"{points} surface points each; Chamfer in m^2"
            if do_shape
            else f"skipped: no meshes directory ({meshes})"
        ),
    }
    return result
