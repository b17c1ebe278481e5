"""Which Inception-v3 layers should the perceptual term compare? Sensitivity per layer.

    .venv/bin/python benchmarks/perceptual_layers.py --data data/tracks40 [--n 64] \
        [--resolution 96] [--window 32] [--threads 2]

Real patches of a dataset (object pixels over grey, as the training windows show them) are
degraded three ways, and each candidate layer's distance (``losses/perceptual.py``: mean
squared difference of unit-normalised activations) to the original is measured:

- ``blur``: a 3x3 binomial blur, the 2-4 pixel detail stage-1 renders miss;
- ``shift``: the image moved by one pixel, what a render slightly off in geometry shows;
- ``exposure``: colours times 1.15, what another camera's auto-exposure does.

A useful layer for sharpening scores ``blur`` high against ``shift`` and ``exposure``
(which a tokenizer trained on single views cannot and should not fix). Prints one JSON
object with the mean distances per layer and the ratios ``blur / shift`` and
``blur / exposure``; ``--window`` scores full-resolution crops of that size (what
``loss.window_resolution`` renders) instead of whole patches.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

CANDIDATES = "conv_1,conv_2,conv_3,conv_4,mixed,mixed_1,mixed_2,mixed_3,mixed_5,mixed_7"


def degraded(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three degradations of images [B,3,H,W] in [0,1]."""
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None]) / 16.0
    weight = k.expand(3, 1, 3, 3).contiguous()
    blur = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, groups=3)
    shift = torch.cat([x[..., :, :1], x[..., :, :-1]], dim=-1)
    return {"blur": blur, "shift": shift, "exposure": (x * 1.15).clamp(0, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--resolution", type=int, default=96)
    p.add_argument("--window", type=int, default=0)
    p.add_argument("--layers", default=CANDIDATES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    from gina3d.data.dataset import PatchDataset
    from gina3d.losses.perceptual import InceptionPerceptual

    torch.set_num_threads(args.threads)
    layers = [s.strip() for s in args.layers.split(",")]
    ds = PatchDataset(args.data, split=args.split)
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(ds), size=min(args.n, len(ds)), replace=False)
    images = []
    for i in idx:
        item = ds[int(i)]
        obj = item["object_mask"][None].float()
        img = item["rgb"] * obj + (1 - obj) * 0.5  # [3,H,W] object over grey
        if args.window:
            h = img.shape[-1]
            x0, y0 = rng.integers(0, h - args.window + 1, size=2)
            img = img[:, y0 : y0 + args.window, x0 : x0 + args.window]
        images.append(img)
    x = torch.stack(images)
    t0 = time.time()
    out: dict[str, dict] = {}
    with torch.no_grad():
        for layer in layers:
            net = InceptionPerceptual.from_installed(taps=(layer,), resolution=args.resolution)
            d = {k: float(net(v, x)) for k, v in degraded(x).items()}
            d["blur_over_shift"] = d["blur"] / max(d["shift"], 1e-12)
            d["blur_over_exposure"] = d["blur"] / max(d["exposure"], 1e-12)
            out[layer] = {k: round(v, 5) for k, v in d.items()}
    print(json.dumps({"data": args.data, "n": len(idx), "resolution": args.resolution,
                      "window": args.window, "seconds": round(time.time() - t0, 1),
                      "layers": out}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
