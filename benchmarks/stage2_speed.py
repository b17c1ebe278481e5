"""Stage-2 and asset speed: training images/s, s per token grid, s per asset, s per mesh.

    .venv/bin/python benchmarks/stage2_speed.py [--preset cpu] [--device cpu] [--threads 2]

Prints one JSON object with the machine (CPU count, torch version, device, threads):

* ``train_images_per_s``: stage-2 training steps (masked-token cross-entropy, backward,
  AdamW) at the preset's batch size, in token grids per second, on random token grids and
  conditions shaped like the token cache's; with the step's FLOPs (forward, backward and
  optimiser, ``step_profile.count_flops``: matrix products and convolutions), the
  achieved GFLOP/s, the fp32 matmul peak measured in the same process, their ratio
  (``mfu``; with ``train.cpu_bf16`` also the bf16 peak, ``peak_gflops_bf16``) and a
  per-part breakdown in ms per step (``breakdown_ms``: each part excludes the parts
  inside it);
* ``seconds_per_token_grid``: ``sample_token_grids`` of one grid (as ``gina3d sample`` and
  ``gina3d eval gen`` call it: ``--sample-steps`` MaskGIT steps, guidance 2, all three
  conditions);
* ``seconds_per_asset``: one sampled grid + stage-1 decode + turntable (``--views`` views of
  ``--image-size`` pixels), what ``gina3d sample`` pays per asset before writing the mesh;
* ``seconds_per_mesh``: ``extract_mesh`` at ``--mesh-resolution`` (128, the asset default).

Models are randomly initialised at the preset's sizes: the stage-2 MaskGIT of the stage-2
preset, the stage-1 model of the stage-1 preset of the same name (speed does not depend on
training). For the mesh, the random stage-1 field is shaped into one closed blob
(``blob_field``): an untrained field is empty (marching cubes trivially fast) and a noisy
one gives far more faces than an object; the mesh's face count is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

from gina3d.assets.mesh import extract_mesh
from gina3d.assets.surface import density_level
from gina3d.assets.turntable import render_turntable
from gina3d.generation.sampler import sample_token_grids
from gina3d.models.stage1 import Stage1Model
from gina3d.training.distributed import DistInfo
from gina3d.training.presets import stage1_preset
from gina3d.training.stage2 import Stage2Task
from gina3d.training.stage2_presets import stage2_preset

SIZE = (4.6, 1.9, 1.6)  # a car's box, metres


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo on Linux, else platform.processor())."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine(device: torch.device) -> dict:
    """The machine description every benchmark line carries."""
    info = {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "torch": torch.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def fake_token_batch(cfg, b: int, device: torch.device, g: torch.Generator) -> dict:
    """A token-cache batch: tokens [B,T], class_idx [B], size [B,3], time_idx [B], image."""
    m = cfg.model
    batch = {
        "tokens": torch.randint(0, m.codebook_size, (b, m.num_tokens), generator=g),
        "class_idx": torch.randint(0, m.num_classes, (b,), generator=g),
        "size": torch.tensor(SIZE).expand(b, 3) * (0.8 + 0.4 * torch.rand(b, 1, generator=g)),
        "time_idx": torch.randint(0, m.num_times, (b,), generator=g),
        "image": torch.randint(0, 256, (b, 3, 32, 32), generator=g, dtype=torch.uint8),
    }
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def blob_field(model: Stage1Model, triplane: torch.Tensor, radius: float = 0.7) -> torch.Tensor:
    """Shape a random field into one closed blob, for a representative mesh.

    Returns a copy of ``triplane`` [1,3,F,R,R] whose first feature channel holds
    ``-A (u^2 + v^2)`` on every plane (summed over the three planes: ``-2 A |p|^2`` at a
    normalised point p), and sets the field MLP so that hidden unit 0 is
    ``2 A * 3 - 2 A |p|^2`` (non-negative in the box) and the density reads it with weight 1,
    crossing the surface level at ``|p| = radius``. The other hidden units keep their random
    weights (small bumps). An untrained field is empty, and one with noisy density gives
    hundreds of thousands of faces; a real asset is a single object, like this blob.
    """
    a = 5.0
    tri = triplane.clone()
    axis = torch.linspace(-1.0, 1.0, tri.shape[-1], device=tri.device)
    u, v = torch.meshgrid(axis, axis, indexing="ij")
    tri[:, :, 0] = -a * (u * u + v * v)  # [R,R] on every plane
    first, last = model.field.mlp[0], model.field.mlp[-1]
    first.weight[0].zero_()
    first.weight[0, 0] = 1.0
    first.bias[0] = 2 * a * 3.0  # hidden 0 = 2A (3 - |p|^2) >= 0 in the box
    last.weight[0].normal_(0.0, 0.02, generator=torch.Generator().manual_seed(0))
    last.weight[0, 0] = 1.0
    level = density_level()
    if model.cfg.density_activation == "softplus":
        pre = float(np.log(np.expm1(level)))
    else:
        pre = float(np.log(level))  # trunc_exp(pre) = level
    last.bias[0] = pre - model.cfg.density_bias - 2 * a * (3.0 - radius**2)
    return tri


def instrument(task: Stage2Task, timer: PartTimer) -> None:
    """Wrap the parts of a stage-2 step (``breakdown_ms``) in ``timer``."""
    model = task.model
    timer.wrap(task, "loss", "masking + cross-entropy")
    if hasattr(model, "masked_logits"):  # the head on the masked positions only
        timer.wrap(model, "masked_logits", "head")
        timer.wrap(model, "trunk", "embeddings")
    else:  # logits of every position (older code: lets speed_against time it too)
        timer.wrap(model, "forward", "embeddings")
        timer.wrap(model.head, "forward", "head")
    timer.wrap(model, "condition_tokens", "conditions")
    for block in model.blocks:
        timer.wrap(block, "forward", "transformer")
    timer.wrap(torch.autograd, "backward", "backward")
    timer.wrap(torch.nn.utils, "clip_grad_norm_", "optimiser")  # called at run time
    for opt in task.optimizers.values():
        timer.wrap(opt, "step", "optimiser")
        timer.wrap(opt, "zero_grad", "optimiser")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--preset", default="cpu", help="stage-2 preset (and stage-1 preset) name")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--steps", type=int, default=5, help="timed training steps (5)")
    p.add_argument("--grids", type=int, default=4, help="timed sampled grids (4)")
    p.add_argument("--sample-steps", type=int, default=12, help="MaskGIT steps per grid (12)")
    p.add_argument("--assets", type=int, default=2, help="timed sampled assets (2)")
    p.add_argument("--views", type=int, default=8, help="turntable views per asset (8)")
    p.add_argument("--image-size", type=int, default=128, help="turntable view side (128)")
    p.add_argument("--meshes", type=int, default=2, help="timed meshes (2)")
    p.add_argument("--mesh-resolution", type=int, default=128, help="mesh grid per axis (128)")
    args = p.parse_args()
    keep_freed_memory()  # as every gina3d command does
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    s1_name = {"gpu": "gpu128"}.get(args.preset, args.preset)
    res = {"gpu128": 128, "gpu256": 256}.get(s1_name, 64)
    torch.manual_seed(0)
    stage1 = Stage1Model(stage1_preset(s1_name, res).model).to(device).eval()
    cfg = stage2_preset(args.preset)
    cfg.model.plane_tokens = stage1.cfg.plane_tokens  # as `gina3d train stage2` does
    cfg.model.token_split = stage1.cfg.token_split
    cfg.model.codebook_size = stage1.cfg.codebook_size
    task = Stage2Task(cfg, DistInfo(device=device))
    g = torch.Generator().manual_seed(0)

    # training: token grids per second
    b = cfg.train.batch_size
    batch = fake_token_batch(cfg, b, device, g)
    task.train_step(batch, 0, g)  # warm-up
    sync()
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        task.train_step(batch, step, g)
    sync()
    train_s = (time.perf_counter() - t0) / args.steps
    flops = count_flops(lambda: task.train_step(batch, 1, g))
    peak = matmul_peak_gflops(device)
    bf16 = getattr(cfg.train, "cpu_bf16", False) and device.type == "cpu"  # older trees: no option
    peak_bf16 = matmul_peak_gflops(device, dtype=torch.bfloat16) if bf16 else None
    timer = PartTimer(device)
    instrument(task, timer)
    for step in range(1, args.steps + 1):
        timer.time_step(lambda step=step: task.train_step(batch, step, g))
    breakdown = timer.table_ms()

    model = task.model.eval()
    cond = {"class_name": "vehicle", "size": SIZE, "time": "day"}
    cond = {k: v for k, v in cond.items() if getattr(cfg.model, f"use_{k.split('_')[0]}")}
    kw = {"steps": args.sample_steps, "guidance": 2.0}
    sample_token_grids(model, 1, 0, cond, **kw)  # warm-up
    sync()
    t0 = time.perf_counter()
    for i in range(args.grids):
        tokens = sample_token_grids(model, 1, i + 1, cond, **kw)
    sync()
    grid_s = (time.perf_counter() - t0) / args.grids

    # one asset: sample + decode + turntable
    with torch.no_grad():
        tri = stage1.decode_indices(tokens.to(device))  # [1,3,F,R,R]
        render_turntable(stage1, tri[0], SIZE, views=1, image_size=args.image_size)  # warm-up
        sync()
        t0 = time.perf_counter()
        for i in range(args.assets):
            tokens = sample_token_grids(model, 1, 100 + i, cond, **kw)
            tri = stage1.decode_indices(tokens.to(device))
            render_turntable(stage1, tri[0], SIZE, views=args.views, image_size=args.image_size)
        sync()
        asset_s = (time.perf_counter() - t0) / args.assets

        blob = blob_field(stage1, tri)
        t0 = time.perf_counter()
        faces = []
        for _ in range(args.meshes):
            mesh = extract_mesh(stage1, blob[0], SIZE, resolution=args.mesh_resolution)
            faces.append(len(mesh.faces))
        sync()
        mesh_s = (time.perf_counter() - t0) / args.meshes

    m = cfg.model
    print(
        json.dumps(
            {
                "benchmark": "stage2_speed",
                "preset": args.preset,
                "stage1_preset": s1_name,
                **machine(device),
                "stage2_width": m.width,
                "stage2_depth": m.depth,
                "num_tokens": m.num_tokens,
                "codebook_size": m.codebook_size,
                "batch_size": b,
                "train_seconds_per_step": round(train_s, 4),
                "train_images_per_s": round(b / train_s, 2),
                "flops_per_step": flops,
                "flops_uncounted": UNCOUNTED,
                "achieved_gflops": round(flops / train_s / 1e9, 2),
                "peak_gflops": round(peak, 1),
                "peak_gflops_bf16": None if peak_bf16 is None else round(peak_bf16, 1),
                "mfu": round(flops / train_s / 1e9 / peak, 4),
                "breakdown_ms": breakdown,
                "sample_steps": args.sample_steps,
                "seconds_per_token_grid": round(grid_s, 4),
                "turntable": f"{args.views} views x {args.image_size} px",
                "seconds_per_asset": round(asset_s, 3),
                "mesh_resolution": args.mesh_resolution,
                "seconds_per_mesh": round(mesh_s, 3),
                "mesh_faces": int(np.mean(faces)),
            }
        )
    )


if __name__ == "__main__":
    main()
