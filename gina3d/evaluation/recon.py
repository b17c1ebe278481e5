"""Stage-1 reconstruction metrics on held-out patches.

For each evaluated patch the model encodes the patch (``model(rgb, ray_direction)``) and
renders the tri-plane back (``model.render_image``) at the input camera and, on synthetic
data with meshes, at novel cameras orbiting the object (``novel_views.orbit_cameras``).

Metrics (``evaluate_reconstruction`` returns them with a ``protocol`` describing the run):

* ``psnr_visible``, ``ssim_visible``: rendered input view vs the patch rgb on object pixels
  (label OBJECT: visible, not occluded), one value per patch, mean over patches. For SSIM
  both images are set to 0 outside the object pixels first, so that background and
  occluders (which the model is not asked to reproduce) do not enter the windows.
* ``lidar_depth_abs_rel``: ``|depth - lidar_depth| / lidar_depth`` over all pixels with a
  LiDAR return, pooled over patches (depths are distances along each pixel's unit ray).
* ``codebook_perplexity``: ``exp(entropy)`` of the histogram of code indices over all
  evaluated patches; ``codebook_usage``: share of the K codes used at least once.
* ``amodal_iou_input``: IoU of (rendered opacity >= 0.5) at the input view with the stored
  amodal mask, mean over occluded patches (``occluded_pixels > 0``);
  ``amodal_iou_input_all``: the same over all patches. Need amodal masks (synthetic data).
* ``per_class``: ``psnr_visible``, ``ssim_visible`` and ``amodal_iou_novel`` per class.
  ``evaluation/heldout_views.py`` adds the held-out-view and ground-truth-shape metrics.
* ``rfid``, ``rfid_half``, ``rfid_floor``: FID between the reconstructions at the input
  view and the input patches, both masked identically, with its real-vs-real floor
  (``evaluation/recon_fid.py``); need a feature network.
* ``amodal_iou_novel``: IoU of (rendered opacity >= 0.5) at each novel view with the object's
  ground-truth mesh silhouette (``novel_views.gt_silhouette``), mean over patches and views;
  ``amodal_iou_novel_per_view`` gives the mean per azimuth. Need ``DATASET/meshes``.

A metric that cannot be computed is ``None`` and ``protocol["skipped"]`` says why.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from gina3d.data.dataset import PatchDataset
from gina3d.errors import Gina3dError
from gina3d.evaluation.image_metrics import PSNR_CAP_DB, mask_iou, psnr_masked, ssim_masked
from gina3d.evaluation.novel_views import gt_silhouette, load_mesh, mesh_path, orbit_cameras
from gina3d.evaluation.recon_fid import RfidCollector

OPACITY_THRESHOLD = 0.5
_MESH_CACHE = 64  # meshes kept in memory at once


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def _pick(n: int, max_patches: int | None, seed: int) -> list[int]:
    """Indices evaluated: all, or a seeded random subset of ``max_patches`` in index order."""
    if max_patches is None or max_patches >= n:
        return list(range(n))
    if max_patches < 1:
        raise Gina3dError(f"max_patches must be at least 1 (got {max_patches})")
    pick = np.random.default_rng(seed).choice(n, size=max_patches, replace=False)
    return sorted(int(i) for i in pick)


def _model_info(model) -> dict:
    info: dict = {"class": type(model).__name__}
    cfg = getattr(model, "cfg", None)
    if cfg is not None and getattr(cfg, "codebook_size", None) is not None:
        info["codebook_size"] = int(cfg.codebook_size)
    if isinstance(model, torch.nn.Module):
        info["parameters"] = int(sum(p.numel() for p in model.parameters()))
    return info


def _codebook_stats(counts: np.ndarray) -> tuple[float | None, float | None]:
    total = counts.sum()
    if total == 0:
        return None, None
    p = counts[counts > 0] / total
    entropy = float(-(p * np.log(p)).sum())
    return float(np.exp(entropy)), float((counts > 0).mean())


class _Meshes:
    """Ground-truth meshes by object id, loaded on demand, a bounded number kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, object] = {}

    def __call__(self, object_id: str):
        if object_id not in self.cache:
            if len(self.cache) >= _MESH_CACHE:
                self.cache.pop(next(iter(self.cache)))
            self.cache[object_id] = load_mesh(mesh_path(self.root, object_id))
        return self.cache[object_id]


def evaluate_reconstruction(
    model,
    dataset_root: str | os.PathLike,
    split: str = "test",
    max_patches: int | None = None,
    views: Sequence[float] = (90, 180, 270),
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = True,
    model_info: dict | None = None,
    network=None,
) -> dict:
    """Reconstruction metrics of a stage-1 model over one split (module docstring).

    ``network`` (a ``features.FeatureNetwork``) adds ``rfid``, ``rfid_half`` and
    ``rfid_floor`` (``evaluation/recon_fid.py``); None leaves them out (skipped).

    ``max_patches`` evaluates a random subset drawn with ``seed`` (reported in the
    protocol); ``model_info`` is merged into ``protocol["model"]``. Deterministic for a
    deterministic model: the model is run in eval mode without gradients.
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise Gina3dError(f"batch_size must be at least 1 (got {batch_size})")
    root = Path(dataset_root)
    ds = PatchDataset(root, split=split)
    indices = _pick(len(ds), max_patches, seed)
    views = [float(v) for v in views]
    first = ds.record(indices[0])
    res = int(first.resolution)
    has_amodal = first.amodal_mask is not None
    has_meshes = (root / "meshes").is_dir()
    skipped: dict[str, str] = {}
    if not has_amodal:
        skipped["amodal_iou_input"] = "dataset has no amodal masks (not synthetic)"
    if not has_meshes:
        skipped["amodal_iou_novel"] = f"dataset has no meshes directory ({root / 'meshes'})"
    elif not views:
        skipped["amodal_iou_novel"] = "no novel views requested"
    do_novel = has_meshes and bool(views)
    meshes = _Meshes(root) if do_novel else None
    rfid = RfidCollector(network, device) if network is not None else None
    if network is None:
        skipped["rfid"] = "no feature network given (gina3d eval recon --no-rfid)"

    cfg = getattr(model, "cfg", None)
    K_codes = getattr(cfg, "codebook_size", None)
    code_counts: dict[int, int] = {}
    device = torch.device(device)
    was_training = getattr(model, "training", None)
    if isinstance(model, torch.nn.Module):
        model.to(device).eval()

    psnr, ssim, iou_all, iou_occ, classes = [], [], [], [], []
    novel: dict[float, list[float]] = {v: [] for v in views}
    depth_err_sum, depth_pixels, num_occluded = 0.0, 0, 0
    batches = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    bar = tqdm(batches, desc="eval recon", unit="batch", disable=not progress, leave=False)
    with torch.no_grad():
        for chunk in bar:
            items = [ds[i] for i in chunk]
            recs = [ds.record(i) for i in chunk]
            classes += [r.cls for r in recs]
            batch = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
            rgb, dirs = batch["rgb"], batch["ray_direction"]
            b = len(chunk)
            fx, fy, cx, cy = batch["intrinsics"].double().unbind(-1)
            K = torch.zeros(b, 3, 3, dtype=torch.float64, device=device)
            K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, cx, cy, 1.0
            cam = batch["cam_from_obj"]
            box = batch["box_size"]

            triplane, vq = model(rgb, dirs, batch["ray_origin"], batch["box_size"])
            out = model.render_image(triplane, K.float(), cam, box, res, res)
            pred = out["rgb"].float().clamp(0, 1)
            obj = batch["object_mask"] > 0.5
            psnr += psnr_masked(pred, rgb, obj).tolist()
            keep = obj[:, None].float()
            ssim += ssim_masked(pred * keep, rgb * keep, obj).tolist()
            if rfid is not None:
                rfid.add(pred, out["opacity"], rgb, obj)

            lidar = batch["lidar_depth"]
            has_return = lidar > 0
            if has_return.any():
                err = (out["depth"].double() - lidar.double()).abs() / lidar.double().clamp(
                    min=1e-6
                )
                depth_err_sum += float(err[has_return].sum())
                depth_pixels += int(has_return.sum())

            idx = vq.indices.reshape(-1).cpu().numpy()
            for code, n in zip(*np.unique(idx, return_counts=True)):
                code_counts[int(code)] = code_counts.get(int(code), 0) + int(n)

            opaque = out["opacity"] >= OPACITY_THRESHOLD
            num_occluded += sum(r.occluded_pixels > 0 for r in recs)
            if has_amodal:
                amodal = torch.stack([torch.from_numpy(_amodal(r)) for r in recs]).to(device)
                ious = mask_iou(opaque, amodal).tolist()
                iou_all += ious
                iou_occ += [v for r, v in zip(recs, ious) if r.occluded_pixels > 0]
            if do_novel:
                for view, ious in _novel_ious(model, triplane, box, recs, views, res, meshes):
                    novel[view] += ious
    bar.close()
    if was_training and isinstance(model, torch.nn.Module):
        model.train()

    if K_codes is None:
        K_codes = max(code_counts) + 1 if code_counts else 0
        skipped["codebook_size"] = "model has no cfg.codebook_size: K = largest index + 1"
    counts = np.zeros(int(K_codes), dtype=np.float64)
    for code, n in code_counts.items():
        if 0 <= code < len(counts):
            counts[code] += n
    perplexity, usage = _codebook_stats(counts)
    if has_amodal and not iou_occ:
        skipped["amodal_iou_input"] = "no occluded patches among those evaluated"

    rfid_metrics = {"rfid": None, "rfid_half": None, "rfid_floor": None}
    if rfid is not None:
        rfid_metrics, why = rfid.compute(seed)
        if why:
            skipped["rfid"] = why
    all_novel = [v for vals in novel.values() for v in vals]
    info = _model_info(model)
    info.update(model_info or {})
    return {
        "num_patches": len(indices),
        "psnr_visible": _mean(psnr),
        "ssim_visible": _mean(ssim),
        "lidar_depth_abs_rel": depth_err_sum / depth_pixels if depth_pixels else None,
        "codebook_perplexity": perplexity,
        "codebook_usage": usage,
        "amodal_iou_input": _mean(iou_occ) if has_amodal else None,
        "amodal_iou_input_all": _mean(iou_all) if has_amodal else None,
        "amodal_iou_novel": _mean(all_novel) if do_novel else None,
        "amodal_iou_novel_per_view": (
            {f"{v:g}": _mean(novel[v]) for v in views} if do_novel else None
        ),
        **rfid_metrics,
        "per_class": _per_class(classes, psnr, ssim, novel if do_novel else None),
        "protocol": {
            "rfid": rfid.protocol() if rfid is not None else None,
            "split": split,
            "num_evaluated": len(indices),
            "num_in_split": len(ds),
            "num_occluded": num_occluded,
            "resolution": res,
            "views_deg": views,
            "dataset": str(root.resolve()),
            "sampling": "all" if len(indices) == len(ds) else "random subset",
            "seed": seed,
            "model": info,
            "codebook_size": int(K_codes),
            "lidar_pixels": depth_pixels,
            "opacity_threshold": OPACITY_THRESHOLD,
            "psnr_cap_db": PSNR_CAP_DB,
            "ssim": "11x11 Gaussian window, sigma 1.5, C1=0.01^2, C2=0.03^2; both images zeroed "
            "outside object pixels; map averaged over object pixels",
            "novel_views": "camera orbits the object's z axis through the box centre; same "
            "focal lengths, principal point puts the box centre at the patch centre; "
            "ground truth: mesh silhouette rendered at 4x4 supersampling, >= 0.5 coverage",
            "device": str(device),
            "skipped": skipped,
        },
    }


def _per_class(classes, psnr, ssim, novel) -> dict:
    """psnr_visible, ssim_visible and amodal_iou_novel per class (lists in patch order)."""
    out = {}
    for cls in sorted(set(classes)):
        mine = [i for i, c in enumerate(classes) if c == cls]
        out[cls] = {
            "num_patches": len(mine),
            "psnr_visible": _mean([psnr[i] for i in mine]),
            "ssim_visible": _mean([ssim[i] for i in mine]),
            "amodal_iou_novel": (
                _mean([vals[i] for vals in novel.values() for i in mine]) if novel else None
            ),
        }
    return out


def _novel_ious(model, triplane, box_size, recs, views, res, meshes):
    """(azimuth, IoU per patch) of rendered opacity vs mesh silhouettes at each novel view."""
    device = box_size.device
    cams = [orbit_cameras(r.cam_from_obj, r.intrinsics, res, res, views) for r in recs]
    for vi, view in enumerate(views):
        cam_v = np.stack([c[vi] for c, _ in cams])
        K_v = np.stack([k[vi] for _, k in cams])
        out = model.render_image(
            triplane,
            torch.from_numpy(K_v).float().to(device),
            torch.from_numpy(cam_v).float().to(device),
            box_size,
            res,
            res,
        )
        pred = (out["opacity"] >= OPACITY_THRESHOLD).cpu()
        gt = [
            gt_silhouette(meshes(r.object_id), K_v[j], cam_v[j], res, res)
            for j, r in enumerate(recs)
        ]
        yield view, mask_iou(pred, torch.from_numpy(np.stack(gt))).tolist()


def _amodal(rec) -> np.ndarray:
    if rec.amodal_mask is None:
        raise Gina3dError(f"{rec.patch_id}: no amodal mask while others of the split have one")
    return np.asarray(rec.amodal_mask, dtype=bool)
