"""Exports of an asset: a GLB with a baked texture, OpenUSD (.usda or .usdz), splats.

One textured mesh (``texture_bake.textured_mesh``: decimated to ``max_faces``, unwrapped,
the field's colour baked at ``texture_size`` texels) feeds every format:

* ``glb``: ``<stem>.glb``, the mesh with a PBR material whose baseColorTexture is the
  texture, under the same y-up node as ``mesh.glb`` (``mesh_export``);
* ``usd``: ``<stem>.usda`` and ``<stem>_texture.png``, or ``<stem>.usdz`` with the texture
  inside (``usd_export``): z up, metres;
* ``splat``: ``splats.ply`` (``<stem>_splats.ply`` under another stem), 3D Gaussians
  fitted to the field's renders from its surface (``splat_export``), not the textured
  mesh: the 3DGS binary PLY, z up, metres.

In an asset folder the stem is ``asset`` (``asset.glb``, ``asset.usda`` beside
``mesh.glb``). ``save_asset`` writes them when ``AssetOptions.exports`` asks;
``export_asset`` does it for an existing folder (``gina3d export``), re-extracting the
surface with the settings its asset.json records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from gina3d.errors import Gina3dError

EXPORT_FORMATS = ("glb", "usd", "splat")
MESH_EXPORTS = ("glb", "usd")  # the formats written from the textured mesh
MESH_TEXTURES = ("vertex", "uv")
STEM = "asset"
EXPORT_FILES = ("asset.glb", "asset.usda", "asset.usdz", "asset_texture.png", "splats.ply")


def check_export_format(fmt: str) -> str:
    """An export format name (glb, usd, splat; any case) or Gina3dError."""
    name = str(fmt).strip().lower()
    if name not in EXPORT_FORMATS:
        raise Gina3dError(f"unknown export format '{fmt}' (formats: {', '.join(EXPORT_FORMATS)})")
    return name


def parse_export_formats(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """ "glb,usd" or ["usd"] -> ("glb", "usd"): checked, duplicates dropped, in order."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if str(item).strip():
            fmt = check_export_format(item)
            out += [] if fmt in out else [fmt]
    return tuple(out)


def check_mesh_texture(name: str) -> str:
    """``vertex`` or ``uv``, else Gina3dError."""
    if name not in MESH_TEXTURES:
        raise Gina3dError(f"unknown mesh texture '{name}' (choices: {', '.join(MESH_TEXTURES)})")
    return name


def export_path(out_dir: str | os.PathLike, stem: str, fmt: str, usdz: bool = False) -> Path:
    """Where format ``fmt`` goes: ``<stem>.glb``, ``<stem>.usda`` or ``<stem>.usdz``, and
    ``splats.ply`` (``<stem>_splats.ply`` for a stem other than ``asset``)."""
    from gina3d.assets.splat_export import splat_path

    fmt = check_export_format(fmt)
    if fmt == "splat":
        return splat_path(out_dir, stem, STEM)
    suffix = {"glb": "glb", "usd": "usdz" if usdz else "usda"}[fmt]
    return Path(out_dir) / f"{stem}.{suffix}"


def write_exports(
    textured,
    out_dir: str | os.PathLike,
    stem: str,
    formats: Iterable[str],
    class_name: str | None,
    box_size,
    usdz: bool = False,
) -> dict:
    """Write each mesh format (glb, usd) of ``textured`` (a TexturedMesh) into ``out_dir``
    (``splat`` is skipped: ``write_splats``); returns, per format, the files written, their
    total bytes and the seconds spent writing."""
    from gina3d.assets.mesh_export import export_mesh
    from gina3d.assets.usd_export import export_usd

    out: dict[str, dict] = {}
    for fmt in parse_export_formats(list(formats)):
        if fmt not in MESH_EXPORTS:
            continue
        start = time.perf_counter()
        path = export_path(out_dir, stem, fmt, usdz)
        if len(textured.mesh.faces) == 0:
            raise Gina3dError(f"{path}: the mesh has no faces (nothing to export)")
        if fmt == "glb":
            export_mesh(textured.to_trimesh(), path)
            files = [path.name]
        else:
            files = list(export_usd(textured, path, class_name, box_size).values())
        out[fmt] = {
            "files": files,
            "bytes": sum((Path(out_dir) / f).stat().st_size for f in files),
            "seconds": round(time.perf_counter() - start, 4),
        }
    return out


def recorded_mesh(asset, model):
    """The surface of a loaded asset folder, extracted from its field with the settings its
    asset.json records (``mesh``: resolution, rule, opacity, level; class defaults when
    absent)."""
    from gina3d.assets.mesh import DEFAULT_RESOLUTION, extract_mesh
    from gina3d.assets.surface import resolve_rule

    rec = asset.meta.get("mesh") or {}
    resolution = int(rec.get("resolution") or DEFAULT_RESOLUTION)
    level = rec.get("level_sigma") if rec.get("rule") == "density" else None
    opacity = rec.get("opacity")
    has_sdf = bool(getattr(model.field, "is_sdf", False))
    rule, opacity = resolve_rule(has_sdf, asset.class_name, opacity, level, rec.get("rule", "auto"))
    device = next(model.parameters()).device
    triplane = asset.triplane.to(device)
    return extract_mesh(model, triplane, asset.size_m, resolution, rule, opacity, level=level)


def splat_export(model, triplane, size, fn, mesh, out_dir, stem: str, n: int, steps: int):
    """The ``splat`` export of a tri-plane [3,F,R,R] decoded by ``model`` in a box of
    ``size``: fitted from ``mesh`` (``fn`` its density function) on the model's device,
    written to ``export_path(out_dir, stem, "splat")``; returns its export entry."""
    from gina3d.assets.splat_export import write_splats
    from gina3d.assets.triplane_field import Stage1Field

    field = Stage1Field(model, triplane, size)
    path = export_path(out_dir, stem, "splat")
    return write_splats(field, fn, mesh, path, n, steps, device=str(field.device))


def export_asset(
    asset,
    model,
    formats: Iterable[str],
    out_dir: str | os.PathLike | None = None,
    stem: str = STEM,
    texture_size: int = 512,
    max_faces: int = 20_000,
    usdz: bool = False,
    splats: int = 4096,
    splat_steps: int = 300,
) -> dict:
    """Export a loaded asset folder (``asset_io.load_asset``) decoded by ``model`` (its
    stage-1 decoder, ``decoder_ref.load_decoder``) to ``formats`` in ``out_dir`` (default:
    the asset folder); ``splats`` Gaussians fitted for ``splat_steps`` steps for ``splat``.
    Gina3dError when its surface has no faces. Returns a summary: mesh and texture sizes
    (None without a mesh format), seconds (``mesh``, ``texture``, per format) and files."""
    from gina3d.assets.mesh import field_density_fn
    from gina3d.assets.splat_export import check_splat_options
    from gina3d.assets.texture_bake import textured_mesh

    formats = parse_export_formats(list(formats))
    if not formats:
        raise Gina3dError(f"no export format given (formats: {', '.join(EXPORT_FORMATS)})")
    if "splat" in formats:
        check_splat_options(splats, splat_steps)
    out = Path(out_dir) if out_dir is not None else Path(asset.path)
    start = time.perf_counter()
    mesh = recorded_mesh(asset, model)
    if len(mesh.faces) == 0:
        raise Gina3dError(f"{asset.path}: the mesh has no faces (nothing to export)")
    t_mesh = time.perf_counter()
    device = next(model.parameters()).device
    triplane = asset.triplane.to(device)
    fn = field_density_fn(model, triplane, asset.size_m)
    textured = None
    if any(f in MESH_EXPORTS for f in formats):
        textured = textured_mesh(fn, mesh, texture_size, max_faces)
    t_tex = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in formats:
        if fmt == "splat":
            files[fmt] = splat_export(
                model, triplane, asset.size_m, fn, mesh, out, stem, splats, splat_steps
            )
        else:
            files.update(
                write_exports(textured, out, stem, [fmt], asset.class_name, asset.size_m, usdz)
            )
    tm = textured.mesh if textured is not None else None
    return {
        "asset": str(asset.path),
        "faces": None if tm is None else len(tm.faces),
        "vertices": None if tm is None else len(tm.vertices),
        "faces_extracted": len(mesh.faces),
        "texture_size": None if tm is None else int(textured.texture.shape[0]),
        "seconds": {"mesh": round(t_mesh - start, 4), "texture": round(t_tex - t_mesh, 4)},
        "formats": files,
    }
