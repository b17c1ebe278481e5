"""``gina3d reconstruct --run RUN SOURCE``: encode a patch or an image into an asset.

SOURCE is a patch of the run's dataset (``split:index``, e.g. ``test:12``, or a patch id;
``--data`` overrides the dataset) or an image file (.png, .jpg). The reconstruction is
written to ``OUT/recon`` (an asset folder, docs/assets.md). With ``--variations N`` (a
stage-2 run), N variations per ``--strength`` (one value or a list such as 0,0.1,0.3,0.5)
resample that fraction of the tokens, conditioned on what the model takes (class, size,
time, the source image); they go to ``OUT/variations/s0.30/000`` and so on, and
``OUT/variations.json`` reports, per strength, the mean token Hamming distance and the
mean turntable L1 distance to the reconstruction (the variation curve).

An image file has no camera: it is centre-cropped and resized, and taken to be seen from
``--azimuth`` / ``--elevation`` degrees with a 30-degree field of view, looking at the box
centre. Its class is ``--class`` (default vehicle), its size ``--size`` (default: the mean
training size of the class).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    from gina3d.assets.options import add_asset_options

    p = Parser(prog="gina3d reconstruct", description=__doc__)
    p.add_argument("source", metavar="IMAGE_OR_PATCH_ID", help="image file, split:index or id")
    p.add_argument("--run", required=True, help="stage-1 or stage-2 run directory")
    p.add_argument("--data", help="dataset directory (default: the stage-1 run's dataset)")
    p.add_argument("--split", default="test", help="split searched first for a patch id (test)")
    p.add_argument("--out", help="output directory (default RUN/reconstructions/SOURCE)")
    p.add_argument("--class", dest="class_name", help="override / give the class")
    p.add_argument("--size", help="override / give the box L,W,H in metres")
    p.add_argument("--time", help="override / give the time of day")
    p.add_argument("--azimuth", type=float, default=45.0, help="image files: view azimuth (45)")
    p.add_argument("--elevation", type=float, default=10.0, help="image files: elevation (10)")
    p.add_argument("--variations", type=int, default=0, help="variations per strength (0)")
    p.add_argument("--strength", default="0.3", help="fraction resampled, or a list (0.3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the variations (default 0)")
    p.add_argument("--steps", type=int, default=12, help="MaskGIT decoding steps (default 12)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1)")
    p.add_argument("--guidance", type=float, default=2.0, help="classifier-free guidance (2)")
    add_asset_options(p)
    return p


def _source(args, models) -> dict:
    """Encoder inputs and labels of the source (see reconstruct.patch_inputs)."""
    import numpy as np
    import torch

    from gina3d.assets import reconstruct as rc
    from gina3d.assets.options import check_class, check_time, parse_size
    from gina3d.assets.run_models import DEFAULT_SIZES, dataset_of, training_sizes
    from gina3d.errors import Gina3dError

    class_name, time_of_day = check_class(args.class_name), check_time(args.time)
    size = parse_size(args.size)
    s = models.stage1.cfg.image_size
    if rc.is_image_source(args.source):
        image = rc.load_image(args.source, s)  # [S,S,3] uint8
        class_name = class_name or "vehicle"
        if size is None:
            try:
                size = np.round(training_sizes(models, class_name).mean(axis=0), 4).tolist()
            except Gina3dError:
                size = list(DEFAULT_SIZES[class_name])
        origins, dirs = rc.default_view_rays(size, s, args.azimuth, args.elevation)
        info = {"kind": "image", "path": str(Path(args.source).resolve())}
        info.update(azimuth_deg=args.azimuth, elevation_deg=args.elevation, fov_deg=rc.FOV_DEG)
        rgb = torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
        return dict(
            rgb=rgb,
            ray_direction=dirs,
            ray_origin=origins,
            encode_size=size,
            image=image,
            class_name=class_name,
            size=size,
            time=time_of_day,
            info=info,
        )
    data = Path(args.data) if args.data else dataset_of(models)
    if data is None:
        raise Gina3dError(f"{args.source}: not an image file; pass --data to find the patch")
    ds, index = rc.find_patch(data, args.source, args.split)
    item = rc.patch_inputs(ds, index)
    info = {"kind": "patch", "dataset": str(data.resolve()), "split": item["split"]}
    info.update(index=item["index"], patch_id=item["patch_id"])
    item["encode_size"] = item["size"]  # the rays are relative to the recorded box
    item.update(info=info, class_name=class_name or item["class_name"], size=size or item["size"])
    item["time"] = time_of_day or item["time"]
    return item


def _out_dir(args) -> Path:
    if args.out:
        return Path(args.out)
    name = Path(args.source).stem if Path(args.source).suffix else args.source
    return Path(args.run) / "reconstructions" / re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _reconstruct(args) -> int:
    from tqdm import tqdm

    from gina3d.assets import token_stats as ts
    from gina3d.assets.asset_io import AssetContents, save_asset
    from gina3d.assets.options import asset_options, check_asset_options, parse_strengths
    from gina3d.assets.reconstruct import encode_tokens
    from gina3d.assets.run_models import (
        load_models,
        require_stage2,
        stage2_conditions,
        variation_tokens,
    )
    from gina3d.atomic import atomic_write_json
    from gina3d.errors import Gina3dError

    strengths = parse_strengths(args.strength)
    if args.variations < 0 or args.steps < 1:
        raise Gina3dError("--variations must be >= 0 and --steps >= 1")
    check_asset_options(args)
    check_writable(_out_dir(args), "--out" if args.out else "--run")
    models = load_models(args.run, args.device)
    if args.variations:
        require_stage2(models, "--variations")
    src = _source(args, models)
    rays = (src["ray_direction"], src["ray_origin"])
    tokens = encode_tokens(models.stage1, src["rgb"], *rays, src["encode_size"])  # [T]
    labels = {"class_name": src["class_name"], "size": src["size"], "time": src["time"]}
    out, options = _out_dir(args), asset_options(args)
    common = (models.stage1, models.stage1_source)
    recon_contents = AssetContents(
        tokens=tokens,
        size_m=src["size"],
        class_name=src["class_name"],
        seed=None,
        conditions=labels,
        extra={"source": src["info"]},
    )
    recon = save_asset(out / "recon", *common, recon_contents, options)
    print(f"reconstruction -> {recon}")
    if not args.variations:
        return 0

    used = stage2_conditions(models)
    cond = {k: v for k, v in labels.items() if k in used and v is not None}
    if "image" in used:
        cond["image"] = src["image"]  # uint8 [H,W,3]
    recorded = {k: v for k, v in cond.items() if k != "image"}
    if "image" in cond:
        recorded["image"] = "source"
    sampler = {"steps": args.steps, "temperature": args.temperature, "guidance": args.guidance}
    source_strip = ts.read_strip(recon)
    curve = []
    bar = tqdm(total=len(strengths) * args.variations, desc="variations", disable=args.quiet)
    for strength in strengths:
        grids = variation_tokens(
            models, tokens, args.variations, strength, args.seed, cond, **sampler
        )
        variants = []
        for j, grid in enumerate(grids):
            extra = {
                "source": src["info"],
                "variation": {
                    "of": str(recon.resolve()),
                    "strength": strength,
                    "index": j,
                    "stage2": str(Path(args.run).resolve()),
                    **sampler,
                },
            }
            contents = AssetContents(
                tokens=grid,
                size_m=src["size"],
                class_name=src["class_name"],
                seed=args.seed,
                conditions=recorded,
                extra=extra,
            )
            path = save_asset(
                out / "variations" / f"s{strength:.2f}" / f"{j:03d}", *common, contents, options
            )
            variants.append((grid, ts.read_strip(path)))
            bar.update(1)
        curve.append(ts.curve_point(strength, tokens, source_strip, variants))
    bar.close()
    report = {
        "source": src["info"],
        "run": str(Path(args.run).resolve()),
        "reconstruction": str(recon.resolve()),
        "seed": args.seed,
        "variations": args.variations,
        "sampler": sampler,
        "conditions": recorded,
        "curve": curve,
        "monotone_token_hamming": ts.is_monotone(curve, "mean_token_hamming"),
        "monotone_image_l1": ts.is_monotone(curve, "mean_image_l1"),
    }
    atomic_write_json(out / "variations.json", report)
    for p in curve:
        print(
            f"strength {p['strength']:.2f}: token Hamming {p['mean_token_hamming']:.3f}, "
            f"image L1 {p['mean_image_l1']:.4f} ({p['n']} variations)"
        )
    print(f"variation curve -> {out / 'variations.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d reconstruct", lambda: _reconstruct(args))


if __name__ == "__main__":
    sys.exit(main())
