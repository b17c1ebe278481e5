"""Stage-1 speed: training images/s of a preset, what a step costs, rendering speed.

    .venv/bin/python benchmarks/stage1_speed.py [--preset cpu] [--steps 6] [--device cpu]
        [--threads N] [--data DIR] [--set KEY=VALUE ...]

Prints one JSON object. Training steps use random colours seen by cameras looking at a box
(``fake_batch``: the model's cost depends on how many rays hit the box, not on colours), or
with ``--data`` the dataset's first training patches, in two phases: before the adversarial
terms start (``train_*``) and after (``train_*_adversarial``, when the preset has a
discriminator). For the first phase it reports the FLOPs of one step (forward, backward and
optimiser; ``step_profile.count_flops``, which does not count ``flops_uncounted``), the
achieved GFLOP/s, the machine's fp32 matmul peak measured in the same process, their ratio
(``mfu``; with ``train.cpu_bf16`` also the bf16 peak, ``peak_gflops_bf16``: the step's bf16
products can go past the fp32 peak towards it), and a per-part breakdown in ms per step
(``breakdown_ms``; each part excludes the parts inside it). With ``--data`` it also times
decoding a batch of real patches (``data_loading_ms_per_batch``, in the main process: the
CPU work a DataLoader worker does per batch; ``batch_rays_hitting_box`` is the share of the
batch's pixel rays that hit their box). Rendering times ``render_rays`` (fast, vectorised)
and checks ``composite`` against the loop ``render_reference`` on the same samples,
reporting both speeds and their largest difference.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from step_profile import (
    UNCOUNTED,
    PartTimer,
    count_flops,
    keep_freed_memory,
    matmul_peak_gflops,
)

from gina3d.assets.turntable import fit_distance, look_at_camera
from gina3d.config import apply_overrides
from gina3d.models.ray_sampling import intersect_unit_box
from gina3d.models.renderer import composite, render_reference
from gina3d.models.stage1 import image_rays
from gina3d.training.distributed import DistInfo
from gina3d.training.presets import stage1_preset
from gina3d.training.stage1 import Stage1Task


def fake_batch(b: int, res: int, device: torch.device, g: torch.Generator) -> dict:
    """Random colours seen by real cameras: each patch looks at a car-sized box from its own
        azimuth (``look_at_camera``), close enough that its rays hit and miss the box about as
    often as those of ``gina3d synth`` patches do (45 %);
        the object is the ellipsoid inscribed in the box, LiDAR depth its first hit."""
    size = torch.tensor([4.5, 1.9, 1.5])
    near = 0.72 * fit_distance(size.numpy())  # 45 % of the rays hit the box, as in synth data
    cams = [
        look_at_camera(size.numpy(), res, float(a), 10.0, distance=near)
        for a in torch.rand(b, generator=g).mul(360.0).tolist()
    ]
    pose = torch.as_tensor(np.stack([c[0] for c in cams]), dtype=torch.float32)  # [B,4,4]
    K = torch.as_tensor(np.stack([c[1] for c in cams]), dtype=torch.float32)  # [B,3,3]
    origin, direction = image_rays(K, pose, res, res)  # [B,H*W,3]
    o, d = origin / (size / 2), direction / (size / 2)  # the ellipsoid becomes a unit sphere
    a, half_b, c = (d * d).sum(-1), (o * d).sum(-1), (o * o).sum(-1) - 1.0
    disc = half_b**2 - a * c
    obj = (disc > 0).float()  # [B,H*W]
    depth = (-half_b - disc.clamp_min(0).sqrt()) / a * obj
    batch = {
        "rgb": torch.rand(b, 3, res, res, generator=g),
        "object_mask": obj.view(b, res, res),
        "occluder_mask": torch.zeros(b, res, res),
        "background_mask": 1 - obj.view(b, res, res),
        "ray_origin": origin.view(b, res, res, 3),
        "ray_direction": direction.view(b, res, res, 3),
        "box_size": size.expand(b, 3).clone(),
        "intrinsics": torch.stack([K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2]], -1),
        "cam_from_obj": pose,
        "lidar_depth": depth.view(b, res, res),
    }
    return {k: v.to(device) for k, v in batch.items()}


def real_batch(data: str, b: int, device: torch.device) -> dict:
    """The first ``b`` training patches of a dataset."""
    from torch.utils.data import DataLoader

    from gina3d.data.dataset import PatchDataset

    batch = next(iter(DataLoader(PatchDataset(data, "train"), batch_size=b, shuffle=False)))
    return {k: v.to(device) for k, v in batch.items()}


def instrument(task: Stage1Task, timer: PartTimer) -> None:
    """Wrap the parts of a stage-1 step (``breakdown_ms``) in ``timer``."""
    model, enc, dec = task.model, task.model.encoder, task.model.decoder
    timer.wrap(enc, "forward", "encoder")
    if enc.geometry is not None:
        timer.wrap(enc.geometry, "forward", "geometric attention bias")
    if enc.lifting is not None:
        timer.wrap(enc.lifting, "forward", "pixel lifting")
    timer.wrap(model.quantizer, "forward", "quantiser")
    timer.wrap(dec, "forward", "decoder transformer")
    timer.wrap(dec.generator, "forward", "style generator")
    timer.wrap(model, "render_rays", "field + volume rendering")
    timer.wrap(task.objective, "loss_terms", "losses")
    if task.disc is not None:
        timer.wrap(task.disc, "forward", "discriminator")
        timer.wrap(task.objective, "discriminator_loss", "discriminator")
    timer.wrap(torch.autograd, "backward", "backward")
    timer.wrap(torch.nn.utils, "clip_grad_norm_", "optimiser")  # called at run time
    for opt in task.optimizers.values():
        timer.wrap(opt, "step", "optimiser")
        timer.wrap(opt, "zero_grad", "optimiser")


def time_steps(task, batch, first: int, steps: int, g, sync) -> float:
    """Seconds per step of ``steps`` steps from ``first`` (after one warm-up step)."""
    task.train_step(batch, first, g)
    sync()
    t0 = time.perf_counter()
    for step in range(first + 1, first + steps + 1):
        task.train_step(batch, step, g)
    sync()
    return (time.perf_counter() - t0) / steps


def data_loading_ms(data: str, batch_size: int) -> float:
    """Milliseconds to read, decode and collate one batch of real patches (main process)."""
    from torch.utils.data import DataLoader

    from gina3d.data.dataset import PatchDataset

    loader = DataLoader(PatchDataset(data, "train"), batch_size=batch_size, num_workers=0)
    it = iter(loader)
    next(it)  # opens the shard
    n, t0 = 0, time.perf_counter()
    for _ in range(10):
        try:
            next(it)
        except StopIteration:
            break
        n += 1
    return 1e3 * (time.perf_counter() - t0) / max(n, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--preset", default="cpu")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument(
        "--data",
        help="a dataset directory: time steps on its first training patches and "
        "decoding real batches (default: random colours seen by cameras looking at a box)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, as gina3d train stage1 --set")  # fmt: skip
    args = p.parse_args()
    keep_freed_memory()  # as every gina3d command does
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    res = {"gpu128": 128, "gpu256": 256, "demo": 32}.get(args.preset, 64)
    batch_size = apply_overrides(stage1_preset(args.preset, res), args.set).train.batch_size
    g = torch.Generator().manual_seed(0)
    if args.data:
        batch = real_batch(args.data, batch_size, device)
        res = batch["rgb"].shape[-1]
    else:
        batch = fake_batch(batch_size, res, device, g)
    cfg = apply_overrides(stage1_preset(args.preset, res), args.set)
    task = Stage1Task(cfg, DistInfo(device=device))
    half = batch["box_size"][:, None, :] / 2
    hits = intersect_unit_box(
        batch["ray_origin"].flatten(1, 2) / half, batch["ray_direction"].flatten(1, 2) / half
    )[2]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    train_s = time_steps(task, batch, 0, args.steps, g, sync)
    adv_start = cfg.loss.adversarial_start if task.disc is not None else None
    adv_s = None
    if adv_start is not None and adv_start < 10**8:
        adv_s = time_steps(task, batch, adv_start, args.steps, g, sync)

    flops = count_flops(lambda: task.train_step(batch, 1, g))
    peak = matmul_peak_gflops(device)
    bf16 = getattr(cfg.train, "cpu_bf16", False) and device.type == "cpu"  # older trees: no option
    peak_bf16 = matmul_peak_gflops(device, dtype=torch.bfloat16) if bf16 else None
    achieved = flops / train_s / 1e9
    timer = PartTimer(device)
    instrument(task, timer)
    for step in range(1, args.steps + 1):
        timer.time_step(lambda step=step: task.train_step(batch, step, g))
    breakdown = timer.table_ms()
    breakdown_adv = None
    if adv_s is not None:
        timer_adv = PartTimer(device)
        task = Stage1Task(cfg, DistInfo(device=device))  # unwrapped, then wrapped anew
        task.train_step(batch, adv_start, g)
        instrument(task, timer_adv)
        for step in range(adv_start + 1, adv_start + args.steps + 1):
            timer_adv.time_step(lambda step=step: task.train_step(batch, step, g))
        breakdown_adv = timer_adv.table_ms()

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
                "image_size": res,
                "batch_size": cfg.train.batch_size,
                "rays_per_image": cfg.loss.rays_per_image,
                "samples_per_ray": samples,
                "batch_rays_hitting_box": round(float(hits.float().mean()), 3),
                "train_seconds_per_step": round(train_s, 4),
                "train_images_per_s": round(cfg.train.batch_size / train_s, 2),
                "flops_per_step": flops,
                "flops_uncounted": UNCOUNTED,
                "achieved_gflops": round(achieved, 2),
                "peak_gflops": round(peak, 1),
                "peak_gflops_bf16": None if peak_bf16 is None else round(peak_bf16, 1),
                "mfu": round(achieved / peak, 4),
                "breakdown_ms": breakdown,
                "adversarial_start": adv_start,
                "train_seconds_per_step_adversarial": None if adv_s is None else round(adv_s, 4),
                "train_images_per_s_adversarial": (
                    None if adv_s is None else round(cfg.train.batch_size / adv_s, 2)
                ),
                "breakdown_ms_adversarial": breakdown_adv,
                "data_loading_ms_per_batch": (
                    round(data_loading_ms(args.data, batch_size), 1) if args.data else None
                ),
                "render_rays_x_samples_per_s": round(n_rays * samples / render_s),
                "composite_fast_rays_x_samples_per_s": round(n * s / fast_s),
                "composite_reference_rays_x_samples_per_s": round(n * s / ref_s),
                "composite_fast_vs_reference_max_abs_diff": diff,
            }
        )
    )


if __name__ == "__main__":
    main()
