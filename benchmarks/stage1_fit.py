"""How fast can stage 1 fit a few patches? A diagnostic of learning speed, part by part.

    .venv/bin/python benchmarks/stage1_fit.py --data data/synth120 [--what model] \
        [--patches 8] [--steps 300] [--lr 3e-4] [--threads 2] [--set model.plane_tokens=32] \
        [--batch 8] [--lr-mult decoder.generator=30] [--decay 0.05]

Takes ``--patches`` training patches (evenly spaced over the split) and fits them for
``--steps`` steps with the ``cpu`` preset's losses (adversarial term off), one batch of all
the patches per step (more patches than ``--batch``: random batches of that size).
``--lr-mult PREFIX=MULT`` scales the learning rate of the parameters named PREFIX or under
it (``decoder.generator``; the longest matching prefix wins); ``--decay MIN`` decays the
learning rate along a cosine to MIN times it. What learns:

* ``model``: the whole tokenizer (encoder, quantiser, decoder, field), as in training;
* ``triplane``: one free tri-plane [3,F,R,R] per patch plus the field: how fast the
  renderer and field alone can fit (an upper bound for any decoder at this resolution);
* ``tokens``: free continuous token latents [T,C] per patch plus decoder and field: how
  fast the decoder can fit without an encoder.

Prints one JSON object: training PSNR on object rays averaged over each 50 steps, the mean
object-ray opacity, and seconds per step.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

WHAT = ("model", "triplane", "tokens")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--what", choices=WHAT, default="model")
    p.add_argument("--patches", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=None, help="default: the preset's")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8, help="patches per step (with more patches)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--lr-mult",
        action="append",
        default=[],
        metavar="PREFIX=MULT",
        help="scale the lr of the model parameters named PREFIX or under it",
    )
    p.add_argument(
        "--decay",
        type=float,
        default=None,
        metavar="MIN",
        help="cosine learning-rate decay over the steps down to MIN times the lr",
    )
    args = p.parse_args(argv)

    from torch.utils.data import default_collate

    from gina3d.config import apply_overrides
    from gina3d.data.dataset import PatchDataset
    from gina3d.data.shards import load_manifest
    from gina3d.models.quantizer import VQOutput
    from gina3d.training.distributed import DistInfo
    from gina3d.training.presets import stage1_preset
    from gina3d.training.stage1 import Stage1Task

    torch.set_num_threads(args.threads)
    ds = PatchDataset(args.data, split="train")
    cfg = apply_overrides(
        stage1_preset("cpu", int(load_manifest(args.data)["resolution"])), args.set
    )
    cfg.model.validate()
    cfg.loss = replace(cfg.loss, adversarial_start=10**9)
    lr = cfg.train.lr if args.lr is None else args.lr
    task = Stage1Task(cfg, DistInfo(device=torch.device("cpu")))
    model, mc = task.model, cfg.model
    stride = max(1, len(ds) // args.patches)
    items = [ds[i * stride] for i in range(args.patches)]
    n = len(items)
    mults: dict[str, float] = {}
    for item in args.lr_mult:
        key, _, value = item.partition("=")
        try:
            mults[key] = float(value)
        except ValueError:
            p.error(f"--lr-mult {item!r}: expected PREFIX=NUMBER")
    names = [name for name, _ in model.named_parameters()]

    def under(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    for key in mults:
        if not any(under(name, key) for name in names):
            p.error(f"--lr-mult {key!r}: no model parameter is named so or under it")
    if args.what == "model":
        params = list(model.parameters())
    elif args.what == "triplane":
        r = mc.plane_resolution
        free = torch.nn.Parameter(0.1 * torch.randn(n, 3, mc.plane_features, r, r))
        params = [free, *model.field.parameters()]
    else:
        free = torch.nn.Parameter(F.normalize(torch.randn(n, mc.num_tokens, mc.code_dim), dim=-1))
        params = [free, *model.decoder.parameters(), *model.field.parameters()]
    named = {id(p): name for name, p in model.named_parameters()}
    groups: dict[float, list] = {}
    for q in params:
        name = named.get(id(q), "")
        hits = [k for k in mults if under(name, k)]
        mult = mults[max(hits, key=len)] if hits else 1.0  # the longest prefix wins
        groups.setdefault(mult, []).append(q)
    opt = torch.optim.AdamW(
        [{"params": v, "lr": lr * m} for m, v in groups.items()],
        lr=lr,
        betas=(0.9, 0.99),
        weight_decay=0.0,
    )
    g = torch.Generator().manual_seed(args.seed)
    curve, opacity, window, ops = [], [], [], []
    t0 = time.perf_counter()
    for step in range(args.steps):
        if n <= args.batch:
            idx = torch.arange(n)
        else:
            idx = torch.randint(0, n, (args.batch,), generator=g)
        batch = default_collate([items[i] for i in idx])
        if args.decay is not None:
            f = args.decay + (1 - args.decay) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            for group in opt.param_groups:
                group.setdefault("base_lr", group["lr"])
                group["lr"] = group["base_lr"] * f
        model.train()
        if args.what == "model":
            loss, logs = task.objective.generator_loss(batch, step, g)
        else:
            if args.what == "triplane":
                tri = free[idx]
            else:
                tri = model.decode(free[idx])
            zero = tri.sum() * 0.0
            vq = VQOutput(tri, idx, zero, zero, zero)  # no quantiser: nothing to log
            loss, logs = task.objective.loss_terms(batch, tri, vq, step, g)
        if not torch.isfinite(loss):  # backward through NaN sample points can crash torch
            raise SystemExit(f"stage1_fit: non-finite loss at step {step}: lower the lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip)
        opt.step()
        window.append(logs["psnr"])
        ops.append(logs["opacity_object"])
        if (step + 1) % 50 == 0:
            curve.append(round(sum(window) / len(window), 2))
            opacity.append(round(sum(ops) / len(ops), 3))
            window, ops = [], []
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "what": args.what,
                "patches": n,
                "batch": min(n, args.batch),
                "steps": args.steps,
                "lr": lr,
                "set": args.set,
                "lr_mult": args.lr_mult,
                "decay": args.decay,
                "psnr_per_50_steps": curve,
                "opacity_object_per_50_steps": opacity,
                "seconds_per_step": round(seconds / args.steps, 3),
                "threads": torch.get_num_threads(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
