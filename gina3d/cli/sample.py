"""``gina3d sample --run RUN --n 16 --seed 0 --out DIR``: sample assets from a stage-2 run.

Writes one asset folder per sample (``DIR/asset_000``, ...; docs/assets.md) and
``DIR/samples.json`` (the settings, each asset's class, size and seed, the mean pairwise
token Hamming distance and the meshes' size error). Asset ``i`` is sampled alone with its
own seed ``SeedSequence([seed, i])``, recorded in its asset.json: the same run, seed and
options give the same assets whatever ``--n``.

Size: ``--size`` when given. Otherwise, for a size-conditioned model, each asset gets the
box of a random training patch of its class (seeded), passed as the size condition; for a
model without size conditioning, the mean training size of the class (of all training
patches when no class is given). Training sizes come from the stage-1 run's token cache.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run
from gina3d.generation.sampler import asset_seed

__all__ = ["asset_seed", "build_parser", "main", "plan_sizes"]

SIZE_STREAM = 7  # SeedSequence key of the random training sizes
MAX_ASSETS = 10_000  # per call: each asset is a folder of renders and meshes


def build_parser() -> Parser:
    from gina3d.assets.options import add_asset_options

    p = Parser(prog="gina3d sample", description=__doc__)
    p.add_argument("--run", required=True, help="stage-2 run directory")
    p.add_argument("--n", type=int, default=16, help="number of assets (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the whole batch (default 0)")
    p.add_argument("--out", required=True, help="output directory (one folder per asset)")
    p.add_argument("--class", dest="class_name", help="vehicle, pedestrian or cyclist")
    p.add_argument("--size", help="box L,W,H in metres, e.g. 4.6,1.9,1.6")
    p.add_argument("--time", help="time of day: day, dusk or night")
    p.add_argument("--steps", type=int, default=12, help="MaskGIT decoding steps (default 12)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1)")
    p.add_argument("--guidance", type=float, default=2.0, help="classifier-free guidance (2)")
    add_asset_options(p)
    return p


def plan_sizes(models, class_name, size, n: int, seed: int) -> tuple[list, bool]:
    """Per-asset box sizes and whether they are passed as the size condition."""
    import numpy as np

    from gina3d.assets.run_models import stage2_conditions, training_sizes

    conditioned = "size" in stage2_conditions(models)
    if size is not None:
        return [list(size)] * n, conditioned
    sizes = training_sizes(models, class_name)  # [N,3]
    if not conditioned:
        return [np.round(sizes.mean(axis=0), 4).tolist()] * n, False
    rng = np.random.default_rng([seed, SIZE_STREAM])
    return [np.round(sizes[i], 4).tolist() for i in rng.integers(0, len(sizes), n)], True


def _sample(args) -> int:
    import json

    import numpy as np
    import torch
    from tqdm import tqdm

    from gina3d.assets.asset_io import AssetContents, save_asset
    from gina3d.assets.options import (
        asset_options,
        check_asset_options,
        check_class,
        check_time,
        parse_size,
    )
    from gina3d.assets.run_models import load_models, require_stage2, sample_tokens
    from gina3d.assets.token_stats import pairwise_hamming
    from gina3d.atomic import atomic_write_json
    from gina3d.errors import Gina3dError

    if not 1 <= args.n <= MAX_ASSETS:
        raise Gina3dError(f"--n must be from 1 to {MAX_ASSETS}, got {args.n}")
    if args.seed < 0:
        raise Gina3dError(f"--seed must be >= 0, got {args.seed}")
    if args.guidance < 0:
        raise Gina3dError(f"--guidance must be >= 0 (1 = no guidance), got {args.guidance}")
    if args.steps < 1 or args.temperature < 0:
        raise Gina3dError("--steps must be >= 1 and --temperature >= 0")
    class_name, time_of_day = check_class(args.class_name), check_time(args.time)
    size = parse_size(args.size)
    check_asset_options(args)
    options = asset_options(args)
    check_writable(args.out, "--out")
    models = load_models(args.run, args.device)
    require_stage2(models, "sampling")
    sizes, size_conditioned = plan_sizes(models, class_name, size, args.n, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sampler = {"steps": args.steps, "temperature": args.temperature, "guidance": args.guidance}
    stage2_ref = {"run": str(Path(args.run).resolve()), **sampler}
    rows, grids, t0 = [], [], time.perf_counter()
    for i in tqdm(range(args.n), desc="sample", unit="asset", disable=args.quiet):
        seed_i = asset_seed(args.seed, i)
        conditions = {"class_name": class_name, "time": time_of_day}
        conditions["size"] = sizes[i] if size_conditioned else None
        conditions = {k: v for k, v in conditions.items() if v is not None}
        tokens = sample_tokens(models, seed_i, conditions, **sampler)  # [T]
        grids.append(tokens)
        contents = AssetContents(
            tokens=tokens,
            size_m=sizes[i],
            class_name=class_name,
            seed=seed_i,
            conditions=conditions,
            extra={"stage2": stage2_ref, "batch": {"seed": args.seed, "index": i}},
        )
        path = save_asset(
            out / f"asset_{i:03d}", models.stage1, models.stage1_source, contents, options
        )
        meta = json.loads((path / "asset.json").read_text())
        err = meta["mesh"]["extent_error"]
        rows.append(
            {
                "dir": path.name,
                "seed": seed_i,
                "class": class_name,
                "size_m": sizes[i],
                "mesh_extent_error": err,
                "mesh_empty": meta["mesh"]["empty"],
            }
        )
    seconds = time.perf_counter() - t0
    ham = pairwise_hamming(torch.stack(grids))
    errs = [np.abs(r["mesh_extent_error"]).max() for r in rows if r["mesh_extent_error"]]
    summary = {
        "run": stage2_ref["run"],
        "n": args.n,
        "seed": args.seed,
        "class": class_name,
        "time": time_of_day,
        "size_given": size,
        "size_conditioned": size_conditioned,
        "sampler": sampler,
        "token_hamming": ham,
        "mesh_size_error_max_mean": round(float(np.mean(errs)), 5) if errs else None,
        "empty_meshes": sum(r["mesh_empty"] for r in rows),
        "seconds_per_asset": round(seconds / args.n, 3),
        "assets": rows,
    }
    atomic_write_json(out / "samples.json", summary)
    mean = "n/a" if ham["mean"] is None else f"{ham['mean']:.3f}"
    size_err = summary["mesh_size_error_max_mean"]
    noun = "asset" if args.n == 1 else "assets"
    print(
        f"wrote {args.n} {noun} to {out} | mean pairwise token Hamming {mean}, "
        f"identical pairs {ham['identical_pairs']} | mesh size error "
        f"{'n/a' if size_err is None else f'{100 * size_err:.1f}%'} | "
        f"{summary['seconds_per_asset']:.2f} s/asset"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d sample", lambda: _sample(args))


if __name__ == "__main__":
    sys.exit(main())
