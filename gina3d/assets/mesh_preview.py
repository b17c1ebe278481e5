"""A quick flat-shaded picture of a mesh file, without OpenGL (for reports)."""

from __future__ import annotations

import os
from pathlib import Path


def render_mesh_preview(mesh_path: Path, target: Path, size: int = 128) -> None:
    """A flat-shaded 3/4 view of a mesh file (painter's algorithm, vertex colours), PNG."""
    import numpy as np
    from PIL import Image, ImageDraw

    from gina3d.assets.mesh_export import load_mesh, vertex_colours

    mesh = load_mesh(mesh_path)
    scale = 2  # supersampling
    img = Image.new("RGB", (size * scale, size * scale), (255, 255, 255))
    if len(mesh.faces):
        v = np.asarray(mesh.vertices, dtype=np.float64)  # object frame: x fwd, y left, z up
        colours = vertex_colours(mesh)[:, :3].astype(np.float64)
        az, el = np.radians(35.0), np.radians(20.0)
        # camera looks from azimuth az (from +x towards +y), elevation el, at the centre
        view = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        right = np.array([-np.sin(az), np.cos(az), 0.0])
        up = np.cross(view, right)
        centre = (v.min(0) + v.max(0)) / 2
        p = v - centre
        xy = np.stack([-(p @ right), -(p @ up)], 1)  # image x right, y down
        depth = p @ view  # larger: nearer the camera
        extent = max(np.abs(xy).max(), 1e-6)
        px = (xy / extent * 0.45 + 0.5) * size * scale
        f = mesh.faces
        normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        light = view + 0.5 * up
        light /= np.linalg.norm(light)
        shade = 0.35 + 0.65 * np.clip(np.abs(normals @ light), 0, 1)
        rgb = np.clip(colours[f].mean(1) * shade[:, None], 0, 255).astype(np.uint8)
        draw = ImageDraw.Draw(img)
        for i in np.argsort(depth[f].mean(1)):  # far to near
            draw.polygon([tuple(q) for q in px[f[i]]], fill=tuple(int(c) for c in rgb[i]))
    img = img.resize((size, size), Image.LANCZOS)
    tmp = target.with_suffix(".tmp.png")
    img.save(tmp)
    os.replace(tmp, target)
