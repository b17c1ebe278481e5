"""Export speed and size: a textured GLB and OpenUSD (.usda, .usdz) of one asset.

    .venv/bin/python benchmarks/export_speed.py [--asset DIR] [--preset cpu] [--threads 2]
        [--mesh-resolution 128] [--texture-size 512] [--faces 20000] [--psnr-views 4]

With ``--splats 256,1024`` it also fits Gaussian splats of each count to the field
(``--splat-steps``, 100) and reports seconds, held-out PSNR and bytes per count.

Prints one JSON object: the machine, the mesh (faces extracted, faces after decimation,
vertices after unwrapping), seconds per step (``mesh``: extraction; ``decimate``;
``unwrap``: xatlas; ``bake``: the texture; ``write_<format>``: encoding and writing each
file) and bytes per file: ``mesh_vertex.glb`` (the vertex-coloured mesh as ``mesh.glb``
holds it), ``asset.glb``, ``asset.usda`` + ``asset_texture.png``, ``asset.usdz``.

The asset: ``--asset DIR`` (an asset folder, decoded by its recorded decoder); with
``--stripes`` an analytic car-sized ellipsoid with colour stripes (``stripes_fn``; rendered
by the same volume renderer, ``asset_field.FunctionField``); else a randomly initialised
stage-1 model of ``--preset`` whose field is shaped into one closed blob
(``stage2_speed.blob_field``; nearly uniform colour from the untrained colour head).

With ``--psnr-views V`` (> 0), both meshes are rendered unlit from V turntable views
(``--image-size`` px) by ray casting (trimesh): the vertex-coloured mesh with barycentric
colours, the textured one with bilinear texture lookups (``texture_bake.sample_texture``).
``psnr_<mesh>_vs_field_render`` compares whole images with the field's volume render
(composited on white; white where a mesh is missed): shape and colour together.
``psnr_<mesh>_vs_field_colour`` compares, on the pixels the mesh covers, its colour with
the field's colour at the very point hit: what the colour representation (vertex colours
or texture) loses, whatever the surface's position.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gina3d.assets.mesh import extract_mesh, field_density_fn
from gina3d.assets.mesh_export import export_mesh
from gina3d.assets.texture_bake import TexturedMesh, bake_texture, sample_texture
from gina3d.assets.usd_export import export_usd
from gina3d.assets.uv_atlas import decimate, uv_mesh

SIZE = (4.6, 1.9, 1.6)  # a car's box, metres


def stripes_fn(points: torch.Tensor):
    """An analytic car: a solid ellipsoid filling 0.9 of ``SIZE`` with colour stripes by
    direction from the centre (16 along the longitude, 10 along the latitude), so its
    colour does not change along the line of sight near the surface, where the volume
    renderer picks it up."""
    q = points / (torch.tensor(SIZE) / 2.0)  # [N,3] normalised
    r = q.norm(dim=-1).clamp_min(1e-6)
    lon = torch.atan2(q[:, 1], q[:, 0])
    lat = torch.asin((q[:, 2] / r).clamp(-1.0, 1.0))
    rgb = torch.stack(
        [
            0.5 + 0.4 * torch.sin(8 * lon),
            0.5 + 0.4 * torch.sin(10 * lat),
            0.5 + 0.4 * torch.cos(4 * lon + 6 * lat),
        ],
        dim=-1,
    )
    return torch.where(r < 0.9, 1000.0, 0.0), rgb


def build_asset(args):
    """(density fn, field [an AssetField: renders], size, class name, description)."""
    from gina3d.assets.asset_field import FunctionField, Stage1Field

    if args.asset:
        from gina3d.assets.asset_io import load_asset
        from gina3d.assets.decoder_ref import load_decoder

        asset = load_asset(args.asset)
        model, _ = load_decoder(asset, "cpu")
        fn = field_density_fn(model, asset.triplane, asset.size_m)
        field = Stage1Field(model, asset.triplane, asset.size_m)
        return fn, field, asset.size_m, asset.class_name, str(args.asset)
    if args.stripes:
        field = FunctionField(stripes_fn, SIZE)
        return stripes_fn, field, np.asarray(SIZE), "vehicle", "analytic striped ellipsoid"
    from stage2_speed import blob_field

    from gina3d.models.stage1 import Stage1Model
    from gina3d.training.presets import stage1_preset

    torch.manual_seed(0)
    res = {"gpu128": 128, "gpu256": 256}.get(args.preset, 64)  # patch size, as stage2_speed
    model = Stage1Model(stage1_preset(args.preset, res).model).eval()
    tokens = torch.randint(0, model.cfg.codebook_size, (1, model.cfg.num_tokens))
    with torch.no_grad():
        triplane = blob_field(model, model.decode_indices(tokens))[0]
    fn = field_density_fn(model, triplane, SIZE)
    field = Stage1Field(model, triplane, SIZE)
    return fn, field, np.asarray(SIZE), "vehicle", f"random blob, preset {args.preset}"


def write_splats(*a, **kw):
    from gina3d.assets.splat_export import write_splats as write

    return write(*a, **kw)


def timed(fn, *a, **kw):
    start = time.perf_counter()
    out = fn(*a, **kw)
    return out, round(time.perf_counter() - start, 4)


def mesh_colours(mesh, uv_texture, origins, dirs, fn):
    """Unlit colours [N,3] of rays on a mesh (white where missed): vertex colours, or with
    ``uv_texture`` = (uv [V,2], texture) the texture; and the field's own colour at the
    points hit, with its mask: ``(colours, field colours [M,3], hit [N])``."""
    import trimesh

    from gina3d.assets.mesh import evaluate

    out = np.ones((len(origins), 3))
    loc, ray, tri = mesh.ray.intersects_location(origins, dirs, multiple_hits=False)
    bary = trimesh.triangles.points_to_barycentric(mesh.triangles[tri], loc)  # [M,3]
    corners = mesh.faces[tri]  # [M,3]
    if uv_texture is None:
        colours = np.asarray(mesh.visual.vertex_colors, np.float64)[:, :3] / 255.0
        out[ray] = np.einsum("mk,mkc->mc", bary, colours[corners])
    else:
        uv, texture = uv_texture
        out[ray] = sample_texture(texture, np.einsum("mk,mkc->mc", bary, uv[corners]))
    hit = np.zeros(len(origins), bool)
    hit[ray] = True
    truth = np.ones((len(origins), 3))
    truth[ray] = evaluate(fn, loc)[1]
    return out, truth, hit


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return round(10.0 * np.log10(1.0 / max(mse, 1e-12)), 3)


@torch.no_grad()
def compare_renders(fn, field, size, vertex_mesh, textured: TexturedMesh, args) -> dict:
    """PSNR of both meshes' unlit renders against the field (see the module docstring)."""
    import trimesh

    from gina3d.assets.turntable import turntable_cameras
    from gina3d.models.stage1 import image_rays

    n = args.image_size
    cams, Ks = turntable_cameras(size, args.psnr_views, n)
    meshes = {
        "vertex_glb": (vertex_mesh, None),
        "textured_glb": (
            trimesh.Trimesh(textured.mesh.vertices, textured.mesh.faces, process=False),
            (textured.mesh.uv, textured.texture),
        ),
    }
    ref, got = [], {k: ([], [], []) for k in meshes}
    for cam, K in zip(cams, Ks):
        out = field.render(K, cam, n, n)  # premultiplied rgb [H,W,3], opacity [H,W]
        ref.append((out["rgb"] + (1.0 - out["opacity"])[..., None]).reshape(-1, 3))
        K_t = torch.as_tensor(K, dtype=torch.float32)[None]
        cam_t = torch.as_tensor(cam, dtype=torch.float32)[None]
        o, d = (x[0].numpy().astype(np.float64) for x in image_rays(K_t, cam_t, n, n))
        for name, (mesh, uv_texture) in meshes.items():
            for part, value in zip(got[name], mesh_colours(mesh, uv_texture, o, d, fn)):
                part.append(value)
    ref = np.clip(np.concatenate(ref), 0.0, 1.0)
    result = {"views": args.psnr_views, "image_size": n}
    for name, parts in got.items():
        colours, truth, hit = (np.concatenate(x) for x in parts)
        result[f"psnr_{name}_vs_field_render"] = psnr(colours, ref)
        result[f"psnr_{name}_vs_field_colour"] = psnr(colours[hit], np.clip(truth[hit], 0, 1))
        result[f"pixels_{name}"] = int(hit.sum())
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--asset", help="an asset folder (default: a random blob of --preset)")
    p.add_argument("--preset", default="cpu", help="stage-1 preset of the random blob (cpu)")
    p.add_argument("--stripes", action="store_true", help="an analytic striped ellipsoid")
    p.add_argument("--mesh-resolution", type=int, default=128)
    p.add_argument("--texture-size", type=int, default=512)
    p.add_argument("--faces", type=int, default=20_000)
    p.add_argument("--psnr-views", type=int, default=0, help="views for the PSNR check (0: off)")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--splats",
        default="",
        help="comma-separated Gaussian counts to fit and write as splats.ply (e.g. 256,1024)",
    )
    p.add_argument("--splat-steps", type=int, default=100)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    fn, field, size, class_name, described = build_asset(args)
    seconds, sizes = {}, {}
    mesh, seconds["mesh"] = timed(extract_mesh, fn, None, size, args.mesh_resolution)
    (v, f), seconds["decimate"] = timed(decimate, mesh.vertices, mesh.faces, args.faces)
    uvm, seconds["unwrap"] = timed(uv_mesh, v, f, args.texture_size, args.faces)
    texture, seconds["bake"] = timed(bake_texture, fn, uvm, args.texture_size)
    textured = TexturedMesh(uvm, texture)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _, seconds["write_mesh_vertex_glb"] = timed(export_mesh, mesh, out / "mesh_vertex.glb")
        _, seconds["write_glb"] = timed(export_mesh, textured.to_trimesh(), out / "asset.glb")
        _, seconds["write_usda"] = timed(export_usd, textured, out / "asset.usda", class_name, size)
        _, seconds["write_usdz"] = timed(export_usd, textured, out / "asset.usdz", class_name, size)
        splats = {}
        for count in [int(x) for x in args.splats.split(",") if x.strip()]:
            entry = write_splats(
                field, fn, mesh, out / f"splats_{count}.ply", count, args.splat_steps
            )
            splats[str(count)] = {
                "seconds": entry["seconds"],
                "psnr_heldout": entry["psnr_heldout"],
                "bytes": entry["bytes"],
            }
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    result = {
        "benchmark": "export_speed",
        "asset": described,
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "mesh_resolution": args.mesh_resolution,
        "texture_size": args.texture_size,
        "faces_cap": args.faces,
        "faces_extracted": len(mesh.faces),
        "faces_textured": len(uvm.faces),
        "vertices_textured": len(uvm.vertices),
        "seconds": seconds,
        "seconds_textured_total": round(sum(v for k, v in seconds.items() if "vertex" not in k), 4),
        "bytes": sizes,
    }
    if splats:
        result["splats"] = {"steps": args.splat_steps, "by_count": splats}
    if args.psnr_views > 0 and len(mesh.faces):
        result["psnr"] = compare_renders(fn, field, size, mesh, textured, args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
