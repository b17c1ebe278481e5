"""Stage-1 speed: training images/s of a preset and rendering rays x samples/s.

    .venv/bin/python benchmarks/stage1_speed.py [--preset cpu] [--steps 6] [--device cpu]

Prints one JSON object. Training steps use random patches shaped like the preset's data
(the model does not care about content for speed); rendering times ``render_rays`` (fast,
vectorised) and checks ``composite`` against the loop ``render_reference`` on the same
samples, reporting both speeds and their largest difference.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from gina3d.models.renderer import composite, render_reference
from gina3d.training.distributed import DistInfo
from gina3d.training.presets import stage1_preset
from gina3d.training.stage1 import Stage1Task


def fake_batch(b: int, res: int, device: torch.device, g: torch.Generator) -> dict:
    obj = torch.zeros(b, res, res)
    obj[:, res // 4 : 3 * res // 4, res // 8 : 7 * res // 8] = 1
    d = torch.nn.functional.normalize(torch.randn(b, res, res, 3, generator=g), dim=-1)
    d[..., 0] = d[..., 0].abs() + 1.0
    d = torch.nn.functional.normalize(d, dim=-1)
    batch = {
        "rgb": torch.rand(b, 3, res, res, generator=g),
        "object_mask": obj,
        "occluder_mask": torch.zeros(b, res, res),
        "background_mask": 1 - obj,
        "ray_origin": torch.tensor([-8.0, 0.0, 0.5]).expand(b, res, res, 3).clone(),
        "ray_direction": d,
        "box_size": torch.tensor([[4.5, 1.9, 1.5]]).expand(b, 3).clone(),
        "intrinsics": torch.tensor([[res * 1.5, res * 1.5, res / 2, res / 2]]).expand(b, 4).clone(),
        "cam_from_obj": torch.eye(4).expand(b, 4, 4).clone(),
        "lidar_depth": obj * 8.0,
    }
    return {k: v.to(device) for k, v in batch.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--preset", default="cpu")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    res = {"gpu128": 128, "gpu256": 256}.get(args.preset, 64)
    cfg = stage1_preset(args.preset, res)
    task = Stage1Task(cfg, DistInfo(device=device))
    g = torch.Generator().manual_seed(0)
    batch = fake_batch(cfg.train.batch_size, res, device, g)
    task.train_step(batch, 0, g)  # warm-up
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        task.train_step(batch, step, g)
    sync()
    train_s = (time.perf_counter() - t0) / args.steps

    # rendering: rays x samples per second of the full render path (field + compositing)
    model = task.model.eval()
    n_rays = 4096
    with torch.no_grad():
        tri, _ = model(
            batch["rgb"][:1],
            batch["ray_direction"][:1],
            batch["ray_origin"][:1],
            batch["box_size"][:1],
        )
        o = batch["ray_origin"][:1].reshape(1, -1, 3)[:, :n_rays]
        d = batch["ray_direction"][:1].reshape(1, -1, 3)[:, :n_rays]
        o, d = (
            o.repeat(1, n_rays // o.shape[1] + 1, 1)[:, :n_rays],
            d.repeat(1, n_rays // d.shape[1] + 1, 1)[:, :n_rays],
        )
        model.render_rays(tri, o, d, batch["box_size"][:1], perturb=False)
        sync()
        t0 = time.perf_counter()
        reps = 5
        for _ in range(reps):
            model.render_rays(tri, o, d, batch["box_size"][:1], perturb=False)
        sync()
        render_s = (time.perf_counter() - t0) / reps
    samples = cfg.model.samples_stratified + cfg.model.samples_importance

    # compositing: vectorised path vs the plain loop reference on the same samples
    n, s = 256, samples
    sigma = torch.rand(n, s, generator=g) * 5
    colour = torch.rand(n, s, 3, generator=g)
    t = torch.sort(torch.rand(n, s, generator=g) * 4 + 1, dim=-1).values
    near, far, scale = torch.ones(n), torch.full((n,), 5.0), torch.full((n,), 0.5)
    t0 = time.perf_counter()
    fast = composite(sigma, colour, t, near, far, scale)
    fast_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = render_reference(sigma, colour, t, near, far, scale)
    ref_s = time.perf_counter() - t0
    diff = max(float((fast[k] - ref[k]).abs().max()) for k in ("rgb", "opacity", "depth"))
    print(
        json.dumps(
            {
                "benchmark": "stage1_speed",
                "preset": args.preset,
                "device": str(device),
                "threads": torch.get_num_threads(),
                "batch_size": cfg.train.batch_size,
                "rays_per_image": cfg.loss.rays_per_image,
                "samples_per_ray": samples,
                "train_seconds_per_step": round(train_s, 4),
                "train_images_per_s": round(cfg.train.batch_size / train_s, 2),
                "render_rays_x_samples_per_s": round(n_rays * samples / render_s),
                "composite_fast_rays_x_samples_per_s": round(n * s / fast_s),
                "composite_reference_rays_x_samples_per_s": round(n * s / ref_s),
                "composite_fast_vs_reference_max_abs_diff": diff,
            }
        )
    )


if __name__ == "__main__":
    main()
