"""Which detail does stage 1 miss? Reconstruction PSNR by spatial frequency, with baselines.

    .venv/bin/python benchmarks/recon_spectrum.py --run runs/cpu30b --data data/synth120 \
        [--split test] [--patches 160] [--factors 2,4,8] [--seed 0]

For ``--patches`` seeded patches of the split, the run's newest stage-1 checkpoint encodes
each patch and renders its input view (as ``gina3d eval recon``). All PSNRs are over object
pixels (``psnr_masked``, averaged per patch), reported for all patches and per class:

* ``psnr_visible``: the rendering against the patch (what ``eval recon`` reports);
* ``lowpass_F``: both the rendering and the patch low-passed by a factor F (object pixels
  only, zero elsewhere: F x F average pooling, then bilinear upsampling) before comparing.
  High values here with a low ``psnr_visible`` mean the colours and shapes are right at
  that scale and the error is finer detail;
* ``ceiling_blur_F``: the patch low-passed by F against the patch itself (background
  included, as a renderer at that resolution would see it): the best a reconstruction
  holding no detail finer than 64 / F pixels could score;
* ``ceiling_mean_colour``: every object pixel set to its object's mean colour.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F


def _lowpass(x: torch.Tensor, factor: int) -> torch.Tensor:
    """[B,C,H,W] -> average-pooled by ``factor`` and bilinearly upsampled back."""
    small = F.avg_pool2d(x, factor)
    return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run", required=True, help="a stage-1 run")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--patches", type=int, default=160)
    p.add_argument("--factors", default="2,4,8")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    from gina3d.data.dataset import PatchDataset
    from gina3d.evaluation.image_metrics import psnr_masked
    from gina3d.models.stage1 import intrinsics_matrix
    from gina3d.training.checkpoint import load_stage1

    torch.set_num_threads(args.threads)
    factors = [int(f) for f in args.factors.split(",") if f]
    model, _ = load_stage1(args.run)
    ds = PatchDataset(args.data, split=args.split)
    n = min(args.patches, len(ds))
    order = np.random.default_rng(args.seed).choice(len(ds), n, replace=False)
    rows: dict[str, list[float]] = {"psnr_visible": [], "ceiling_mean_colour": []}
    for f in factors:
        rows[f"lowpass_{f}"], rows[f"ceiling_blur_{f}"] = [], []
    classes: list[str] = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, n, 8):
            chunk = [int(i) for i in order[start : start + 8]]
            items = [ds[i] for i in chunk]
            batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
            rgb = batch["rgb"]
            res = rgb.shape[-1]
            triplane, _ = model(rgb, batch["ray_direction"], batch["ray_origin"], batch["box_size"])
            K = intrinsics_matrix(batch["intrinsics"])
            out = model.render_image(
                triplane, K, batch["cam_from_obj"], batch["box_size"], res, res
            )
            pred = out["rgb"].float().clamp(0, 1)
            obj = batch["object_mask"] > 0.5
            keep = obj[:, None].float()
            rows["psnr_visible"] += psnr_masked(pred, rgb, obj).tolist()
            mean = (rgb * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True).clamp(
                min=1
            )
            rows["ceiling_mean_colour"] += psnr_masked(mean.expand_as(rgb), rgb, obj).tolist()
            for f in factors:
                low_pred, low_rgb = _lowpass(pred * keep, f), _lowpass(rgb * keep, f)
                rows[f"lowpass_{f}"] += psnr_masked(low_pred, low_rgb, obj).tolist()
                rows[f"ceiling_blur_{f}"] += psnr_masked(_lowpass(rgb, f), rgb, obj).tolist()
            classes += [ds.record(i).cls for i in chunk]

    labels = np.array(classes)

    def summary(mask: np.ndarray) -> dict:
        return {k: round(float(np.nanmean(np.array(v)[mask])), 3) for k, v in rows.items()}

    result = {
        "run": args.run,
        "split": args.split,
        "patches": n,
        "all": summary(np.ones(n, dtype=bool)),
        **{c: summary(labels == c) for c in sorted(set(classes))},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
