"""A picture of surface rules side by side: true meshes, density cuts, sdf zero levels.

    .venv/bin/python benchmarks/surface_gallery.py --data data/tracks40 \
        --density runs/sdf_density --sdf runs/sdf_b --out docs/images/surfaces.jpg \
        [--per-class 3] [--resolution 64] [--seed 0]

For ``--per-class`` seeded test patches of each class, one row each: the patch, the
ground-truth mesh, the density run's mesh at its class default opacity
(``surface.OPACITY_BY_CLASS``) and at ``--best`` opacities (the Chamfer-best cut per
class), and the sdf run's zero level. Flat-shaded 3/4 views (``mesh_preview``), each mesh
framed on its own extent: shapes compare, sizes do not (they are in docs/results.md).
Prints the file written.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--density", required=True, help="a density stage-1 run")
    p.add_argument("--sdf", required=True, help="an sdf stage-1 run")
    p.add_argument("--out", required=True)
    p.add_argument("--per-class", type=int, default=3)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--best", default="vehicle=0.2,pedestrian=0.4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    args = p.parse_args(argv)

    from gina3d.assets.mesh import extract_mesh
    from gina3d.assets.mesh_export import export_mesh
    from gina3d.assets.mesh_preview import render_mesh_preview
    from gina3d.assets.run_models import load_models
    from gina3d.assets.surface import default_opacity
    from gina3d.data.dataset import PatchDataset

    best = {k: float(v) for k, v in (x.split("=") for x in args.best.split(","))}
    dens, sdf = load_models(args.density).stage1, load_models(args.sdf).stage1
    ds = PatchDataset(args.data, split="test")
    want = {"vehicle": args.per_class, "pedestrian": args.per_class}
    rows = []
    tmp = Path(tempfile.mkdtemp())
    s = args.size
    for i in np.random.default_rng(args.seed).permutation(len(ds)):
        rec = ds.record(int(i))
        if want.get(rec.cls, 0) <= 0:
            continue
        want[rec.cls] -= 1
        item = {k: v[None] for k, v in ds[int(i)].items()}
        size = rec.box_size
        cells = [Image.fromarray((item["rgb"][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8))]
        meshes = [Path(args.data) / "meshes" / f"{rec.object_id}.ply"]
        with torch.no_grad():
            inputs = (item["rgb"], item["ray_direction"], item["ray_origin"], item["box_size"])
            tri_d = dens(*inputs)[0][0]
            tri_s = sdf(*inputs)[0][0]
        cuts = [
            extract_mesh(dens, tri_d, size, args.resolution, "opacity", default_opacity(rec.cls)),
            extract_mesh(dens, tri_d, size, args.resolution, "opacity", best[rec.cls]),
            extract_mesh(sdf, tri_s, size, args.resolution, "sdf"),
        ]
        for k, m in enumerate(cuts):
            path = tmp / f"{i}_{k}.ply"
            export_mesh(m, path)
            meshes.append(path)
        for m in meshes:
            target = tmp / "preview.png"
            render_mesh_preview(m, target, s)
            cells.append(Image.open(target).convert("RGB"))
        rows.append(cells)
        if not any(want.values()):
            break
    shutil.rmtree(tmp)
    titles = ["patch", "true mesh", "density, class default", "density, best cut", "sdf zero"]
    sheet = Image.new("RGB", (s * len(titles), 16 + s * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, t in enumerate(titles):
        draw.text((c * s + 4, 2), t, fill=(0, 0, 0))
    for r, cells in enumerate(rows):
        for c, im in enumerate(cells):
            sheet.paste(im.resize((s, s)), (c * s, 16 + r * s))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
