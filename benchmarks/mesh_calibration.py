"""Where should the mesh surface be? Meshes of reconstructions against ground-truth meshes.

    .venv/bin/python benchmarks/mesh_calibration.py --run runs/cpu30b --data data/synth120 \
        [--per-class 40] [--opacities 0.1,0.2,0.3,0.4,0.5] [--resolution 64] [--split test] \
        [--min-component 0.05] [--max-extent-error 0.07]

For ``--per-class`` seeded test patches of each class (vehicle, pedestrian) of a synthetic
dataset (which has ground-truth meshes), the stage-1 run encodes the patch, the density grid
is evaluated once, and a mesh is extracted at every opacity of the "opacity" rule
(``gina3d/assets/surface.py``). Per class and opacity it reports the mean mesh extent over
the box size per axis (length, width, height), the mean absolute extent error, and the mean
Chamfer distance to the ground-truth mesh (metres squared, 2048 surface points each,
``gina3d.evaluation.chamfer``). Prints one JSON object. This is how the defaults
``surface.OPACITY`` and ``surface.OPACITY_BY_CLASS`` were chosen. ``--min-component`` is
the floater rule's share of the largest component's area below which a component is
dropped (``mesh.MIN_COMPONENT``).

Both field types: for a signed-distance model (``model.field_type = "sdf"``) the zero-level
mesh (rule "sdf", what every command uses for such a model) is reported as well, under the
key ``"sdf"``, beside the opacity rule on the density it renders with (``--opacities ""``
leaves those out).

``share_within_10pct`` is the share of meshes within 10 % of their box on every axis;
``best_chamfer_opacity`` the tested opacity with the lowest mean Chamfer distance.
``suggested_opacity`` per class is the largest tested opacity whose mean absolute extent
error is at most ``--max-extent-error`` on every axis (null if none is): the rule behind
``surface.OPACITY_BY_CLASS``. A lower opacity gives a fuller mesh; the mean over
reconstructions has to stay well inside the 10 % a single asset may miss its box by.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run", required=True, help="a stage-1 (or stage-2) run")
    p.add_argument("--data", required=True, help="a synthetic dataset (with meshes/)")
    p.add_argument("--split", default="test")
    p.add_argument("--per-class", type=int, default=40)
    p.add_argument("--opacities", default="0.1,0.2,0.3,0.4,0.5")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--points", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-component", type=float, default=None, help="default mesh.MIN_COMPONENT")
    p.add_argument(
        "--max-extent-error",
        type=float,
        default=0.07,
        help="suggested_opacity: largest opacity whose mean extent error is at most this (0.07)",
    )
    args = p.parse_args(argv)

    import trimesh

    from gina3d.assets.mesh import (
        MIN_COMPONENT,
        as_density_fn,
        density_grid,
        marching_cubes,
        remove_floaters,
    )
    from gina3d.assets.run_models import load_models
    from gina3d.assets.surface import surface_field
    from gina3d.data.dataset import PatchDataset
    from gina3d.evaluation.chamfer import chamfer_distance, sample_surface

    torch.set_num_threads(args.threads)
    opacities = [float(x) for x in args.opacities.split(",") if x.strip()]
    min_component = MIN_COMPONENT if args.min_component is None else args.min_component
    model = load_models(args.run).stage1
    is_sdf = bool(getattr(model.field, "is_sdf", False))
    rules: list = (["sdf"] if is_sdf else []) + opacities
    if not rules:
        raise SystemExit("mesh_calibration: nothing to measure (--opacities is empty)")
    ds = PatchDataset(args.data, split=args.split)
    meshes = Path(args.data) / "meshes"
    want = {"vehicle": args.per_class, "pedestrian": args.per_class}
    rows: dict[str, dict] = {c: {o: [] for o in rules} for c in want}
    t0 = time.time()
    for i in np.random.default_rng(args.seed).permutation(len(ds)):
        rec = ds.record(int(i))
        if want.get(rec.cls, 0) <= 0:
            continue
        want[rec.cls] -= 1
        item = {k: v[None] for k, v in ds[int(i)].items()}
        with torch.no_grad():
            tri, _ = model(item["rgb"], item["ray_direction"], item["ray_origin"], item["box_size"])
            fn = as_density_fn(model, tri[0], rec.box_size)
            sigma = density_grid(fn, None, rec.box_size, args.resolution) if opacities else None
            sdf = (
                density_grid(fn, None, rec.box_size, args.resolution, quantity="sdf")
                if is_sdf
                else None
            )
        gt = trimesh.load(meshes / f"{rec.object_id}.ply", process=False)
        gt_pts = torch.as_tensor(sample_surface(gt, args.points, 0), dtype=torch.float32)[None]
        size = np.asarray(rec.box_size, dtype=np.float64)
        for o in rules:
            field, level = (
                surface_field(sdf, "sdf") if o == "sdf" else surface_field(sigma, "opacity", o)
            )
            mesh = remove_floaters(marching_cubes(field, size, level), min_component)
            if len(mesh.faces) == 0:
                rows[rec.cls][o].append((np.zeros(3), float("nan")))
                continue
            extent = (mesh.bounds[1] - mesh.bounds[0]) / size
            pts = torch.as_tensor(sample_surface(mesh, args.points, 0), dtype=torch.float32)[None]
            rows[rec.cls][o].append((extent, float(chamfer_distance(pts, gt_pts)[0])))
        if not any(want.values()):
            break
    result = {
        "run": args.run,
        "data": args.data,
        "split": args.split,
        "resolution": args.resolution,
        "min_component": min_component,
        "max_extent_error": args.max_extent_error,
        "seconds": round(time.time() - t0, 1),
        "field_type": "sdf" if is_sdf else "density",
        "classes": {},
    }
    for cls, per in rows.items():
        out = {"count": len(next(iter(per.values())))}
        for o, vals in per.items():
            ext = np.array([v[0] for v in vals])
            cd = np.array([v[1] for v in vals])
            out[o if o == "sdf" else f"{o:g}"] = {
                "extent_over_size": np.round(ext.mean(0), 3).tolist(),
                "abs_extent_error": np.round(np.abs(ext - 1).mean(0), 3).tolist(),
                "chamfer_m2": round(float(np.nanmean(cd)), 4),
                "empty": int(np.isnan(cd).sum()),
                "share_within_10pct": round(float((np.abs(ext - 1).max(1) <= 0.1).mean()), 3),
            }
        ok = [
            o
            for o in opacities
            if max(out[f"{o:g}"]["abs_extent_error"]) <= args.max_extent_error
            and out[f"{o:g}"]["empty"] == 0
        ]
        out["suggested_opacity"] = max(ok) if ok else None
        if opacities:
            out["best_chamfer_opacity"] = min(opacities, key=lambda o: out[f"{o:g}"]["chamfer_m2"])
        result["classes"][cls] = out
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
