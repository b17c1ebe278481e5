"""The mesh files of an asset folder: ``mesh.<fmt>`` and the textured exports.

``save_asset`` (``asset_io.py``) calls ``write_mesh_files`` once per asset: the surface is
extracted from the field (``mesh.extract_mesh``) and written as ``mesh.<fmt>``, with
vertex colours (``mesh_texture="vertex"``, the default: the mesh as extracted) or, for a
GLB, decimated, unwrapped and textured (``mesh_texture="uv"``, ``texture_bake``). The
formats in ``AssetOptions.exports`` are written beside it from the same textured mesh
(``asset.glb``, ``asset.usda`` + ``asset_texture.png`` or ``asset.usdz``; see
``asset_export``); ``splat`` fits Gaussians to the field from the extracted surface
(``splats.ply``, ``splat_export``). An empty surface is written as an empty
``mesh.<fmt>`` and its exports are skipped (recorded in asset.json), so a batch of
samples does not stop at one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from gina3d.assets.asset_spec import AssetContents, AssetOptions
from gina3d.errors import Gina3dError


def check_texture_options(options: AssetOptions, fmt: str) -> tuple[str, ...]:
    """Check the texture and export options; returns the export formats. Gina3dError for an
    unknown texture or format, a bad texture size or face cap, or a UV texture on a mesh
    format other than GLB."""
    from gina3d.assets.asset_export import check_mesh_texture, parse_export_formats
    from gina3d.assets.uv_atlas import check_max_faces, check_texture_size

    check_mesh_texture(options.mesh_texture)
    if options.mesh_texture == "uv" and fmt != "glb":
        raise Gina3dError(f"a UV-textured mesh is written as GLB only, not {fmt}")
    check_texture_size(options.texture_size)
    check_max_faces(options.max_faces)
    formats = parse_export_formats(options.exports)
    if "splat" in formats:
        from gina3d.assets.splat_export import check_splat_options

        check_splat_options(options.splats, options.splat_steps)
    return formats


def mesh_summary(
    mesh, size: np.ndarray, fmt: str, options: AssetOptions, rule: str, opacity: float | None
) -> dict:
    """asset.json's ``mesh`` entry for the mesh written as ``mesh.<fmt>`` by ``rule``
    ("opacity" at ``opacity``, "density" at ``options.mesh_level``, or "sdf": the zero level
    of the field's signed distance)."""
    level = options.mesh_level
    uv = options.mesh_texture == "uv"
    summary = {
        "file": f"mesh.{fmt}",
        "format": fmt,
        "resolution": options.mesh_resolution,
        "rule": rule,
        "opacity": opacity if rule == "opacity" else None,
        "level_sigma": None if level is None else float(level),
        "level_sdf": 0.0 if rule == "sdf" else None,
        "texture": options.mesh_texture,
        "texture_size": options.texture_size if uv else None,
        "max_faces": options.max_faces if uv else None,
        "vertices": len(mesh.vertices),
        "faces": len(mesh.faces),
        "empty": len(mesh.faces) == 0,
        "bounds_m": None,
        "extent_m": None,
        "extent_error": None,
    }
    if len(mesh.faces):
        bounds = np.asarray(mesh.bounds, dtype=np.float64)  # [2,3]
        extent = bounds[1] - bounds[0]
        summary.update(
            bounds_m=np.round(bounds, 5).tolist(),
            extent_m=np.round(extent, 5).tolist(),
            extent_error=np.round((extent - size) / size, 5).tolist(),
        )
    return summary


def write_mesh_files(
    out: Path, model, triplane: Tensor, contents: AssetContents, options: AssetOptions, fmt: str
) -> tuple[dict, dict]:
    """mesh.<fmt> of the tri-plane in its box and the exports; returns asset.json's ``mesh``
    and ``exports`` entries."""
    from gina3d.assets.asset_export import (
        MESH_EXPORTS,
        STEM,
        parse_export_formats,
        splat_export,
        write_exports,
    )
    from gina3d.assets.mesh import extract_mesh, field_density_fn, sdf_of
    from gina3d.assets.mesh_export import export_mesh
    from gina3d.assets.surface import resolve_rule
    from gina3d.assets.texture_bake import textured_mesh

    size = contents.size_m
    fn = field_density_fn(model, triplane, size)
    rule, opacity = resolve_rule(
        sdf_of(fn) is not None, contents.class_name, options.mesh_opacity, options.mesh_level
    )
    mesh = extract_mesh(
        fn, None, size, options.mesh_resolution, rule, opacity, level=options.mesh_level
    )
    formats = parse_export_formats(options.exports)
    textured = None
    mesh_exports = [f for f in formats if f in MESH_EXPORTS]
    if (options.mesh_texture == "uv" or mesh_exports) and len(mesh.faces):
        textured = textured_mesh(fn, mesh, options.texture_size, options.max_faces)
    written = textured.to_trimesh() if options.mesh_texture == "uv" and textured else mesh
    export_mesh(written, out / f"mesh.{fmt}")
    summary = mesh_summary(written, size, fmt, options, rule, opacity)
    if len(mesh.faces) == 0:
        return summary, {f: {"files": [], "skipped": "the mesh has no faces"} for f in formats}
    exports = {}
    for fmt in formats:
        if fmt == "splat":
            exports[fmt] = splat_export(
                model, triplane, size, fn, mesh, out, STEM, options.splats, options.splat_steps
            )
            continue
        entry = write_exports(textured, out, STEM, [fmt], contents.class_name, size, options.usdz)
        entry[fmt].update(faces=len(textured.mesh.faces), texture_size=options.texture_size)
        exports.update(entry)
    return summary, exports
