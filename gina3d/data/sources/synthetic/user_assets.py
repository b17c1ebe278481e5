"""Users' own meshes for the synthetic world (``gina3d synth --assets DIR``).

Layout: ``DIR`` holds one subfolder per class or vehicle body type, e.g. ``DIR/sedan/*.glb``,
``DIR/bus/x.obj``, ``DIR/vehicle/*.glb`` (untyped vehicles) and ``DIR/pedestrian/*.ply``.
Folders named ``pedestrian``, ``pedestrians``, ``person`` or ``people`` hold pedestrians; any
other folder name holds vehicles and becomes their subtype (names that are not built-in body
types are allowed). Files directly in ``DIR`` and hidden folders are ignored. Formats: .glb,
.gltf, .obj, .ply (read with trimesh; every node of the file's scene is placed with its
transform and the parts are merged into one mesh).

Axes: gina3d objects are x forward, y left, z up, in metres.

* glTF / GLB follow the glTF 2.0 convention, +Y up and the model's front facing +Z (so +X is
  the model's left). They are rotated so that glTF +Z becomes +x (forward), +X becomes +y
  (left) and +Y becomes +z (up).
* OBJ and PLY carry no axis convention and are used as they are: they must already be z up
  with the front facing +x (in Blender's OBJ/PLY exporter choose Up: Z, Forward: X).

Scale: meshes are assumed to be in metres. When the longest extent is implausible for the
class (vehicles outside 2 - 25 m, pedestrians outside 0.8 - 2.3 m) the mesh is uniformly
rescaled: a vehicle so that its length (longest extent) is the typical length of its body
type (4.6 m for unknown types), a pedestrian so that its height is 1.7 m. The result is
centred on its axis-aligned bounding box.

Colours: a part with a base-colour texture and uvs keeps them (texture times the material's
base-colour factor). Parts with other textures, and untextured parts (vertex colours; face
colours, whose vertices are unshared; or the material's base colour; grey otherwise), are
packed with it into one texture atlas: the images side by side at a common height plus a
white block that untextured parts sample, their colour carried by the vertex colours. A part
whose uvs leave [0, 1] (a tiling texture) cannot be packed and falls back to per-vertex
colours sampled from its texture (``visual.to_color()``). The resulting ``Mesh.uvs`` follow the
renderer's convention, (s, t) samples ``texture[t * h, s * w]`` (t = 0 is the top row), so the
file's v (trimesh's, bottom-up) is stored as t = 1 - v.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gina3d.data.sources.synthetic.asset import Asset, centred
from gina3d.data.sources.synthetic.vehicles import typical_vehicle_length
from gina3d.errors import Gina3dError
from gina3d.geometry.mesh import Mesh

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")
PEDESTRIAN_FOLDERS = ("pedestrian", "pedestrians", "person", "people")
VEHICLE_LENGTH_RANGE = (2.0, 25.0)
PEDESTRIAN_SIZE_RANGE = (0.8, 2.3)
PEDESTRIAN_HEIGHT = 1.7
GREY = (0.6, 0.6, 0.6)
MAX_ATLAS_SIDE = 4096
# gina3d (x, y, z) = glTF (Z, X, Y): [3,3] rotation applied to column vectors.
GINA_FROM_GLTF = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass
class _Part:
    """One scene part: vertices [V,3], faces [F,3], colours [V,3], emission [3], and for a
    textured part its uvs [V,2] and image [h,w,3] uint8."""

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    emissive: np.ndarray
    uvs: np.ndarray | None = None
    image: np.ndarray | None = None


def _rgb(color) -> np.ndarray:
    """[3] float rgb in [0,1] from a trimesh uint8 RGBA colour."""
    return np.asarray(color, dtype=np.float64).reshape(-1)[:3] / 255.0


def _to_part(geom) -> _Part:
    """Convert one transformed trimesh.Trimesh, keeping its texture or colours."""
    v = np.asarray(geom.vertices, dtype=np.float64)
    f = np.asarray(geom.faces, dtype=np.int64)
    visual = geom.visual
    kind = getattr(visual, "kind", None)
    n = len(v)
    if kind == "texture":
        material = visual.material
        emissive = getattr(material, "emissiveFactor", None)
        emissive = np.zeros(3) if emissive is None else np.asarray(emissive, float)[:3]
        factor = getattr(material, "baseColorFactor", None)
        image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        base = _rgb(factor if factor is not None else material.main_color)
        uv = visual.uv
        if image is not None and uv is not None and len(uv) == n:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)  # [h,w,3]
            return _Part(
                v, f, np.tile(base, (n, 1)), emissive, np.asarray(uv, dtype=np.float64), pixels
            )
        return _Part(v, f, np.tile(base, (n, 1)), emissive)
    if kind == "vertex":
        return _Part(v, f, np.asarray(visual.vertex_colors, float)[:, :3] / 255.0, np.zeros(3))
    if kind == "face":
        colors = np.repeat(np.asarray(visual.face_colors, float)[:, :3] / 255.0, 3, axis=0)
        return _Part(v[f].reshape(-1, 3), np.arange(3 * len(f)).reshape(-1, 3), colors, np.zeros(3))
    return _Part(v, f, np.tile(GREY, (n, 1)), np.zeros(3))


def _bake_texture(geom, part: _Part) -> _Part:
    """Fallback for a tiling texture: per-vertex colours sampled from it."""
    colors = np.asarray(geom.visual.to_color().vertex_colors, float)[:, :3] / 255.0
    return _Part(part.vertices, part.faces, colors * part.colors, part.emissive)


def _image_key(image: np.ndarray) -> str:
    """Content hash of an image [h,w,3], to find parts sharing a texture."""
    return hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()


def _merge(parts: list[_Part], geoms: list) -> Mesh:
    """One mesh from the parts; textures kept directly or through an atlas (see module doc)."""
    textured = [p for p in parts if p.image is not None]
    if (
        textured
        and len(textured) == len(parts)
        and len({_image_key(p.image) for p in textured}) == 1
    ):
        return _stack(parts, textured[0].image, [p.uvs for p in parts])
    parts = [
        _bake_texture(g, p)
        if p.image is not None and (p.uvs.min() < -1e-3 or p.uvs.max() > 1 + 1e-3)
        else p
        for p, g in zip(parts, geoms)
    ]
    images: dict[str, np.ndarray] = {}
    for p in parts:
        if p.image is not None:
            images.setdefault(_image_key(p.image), p.image)
    if not images:
        return Mesh.merge(
            [
                Mesh(p.vertices, p.faces, p.colors, np.tile(p.emissive, (len(p.vertices), 1)))
                for p in parts
            ]
        )
    keys = list(images)
    height = min(max(t.shape[0] for t in images.values()), MAX_ATLAS_SIDE)
    tiles = [
        np.asarray(
            Image.fromarray(t).resize(
                (max(1, round(t.shape[1] * height / t.shape[0])), height), Image.BILINEAR
            )
        )
        for t in images.values()
    ]
    tiles.append(np.full((height, 8, 3), 255, dtype=np.uint8))  # white block for colours
    offsets = np.cumsum([0] + [t.shape[1] for t in tiles])  # [T+1] tile starts in pixels
    width = float(offsets[-1])
    atlas = np.concatenate(tiles, axis=1)  # [h, W, 3]
    if atlas.shape[1] > MAX_ATLAS_SIDE:  # uvs are fractions of the width: unaffected
        atlas = np.asarray(
            Image.fromarray(atlas).resize(
                (MAX_ATLAS_SIDE, max(1, round(height * MAX_ATLAS_SIDE / width))), Image.BILINEAR
            )
        )
    uvs = []
    for p in parts:
        if p.image is None:
            uvs.append(np.tile([(offsets[-2] + 4) / width, 0.5], (len(p.vertices), 1)))
            continue
        k = keys.index(_image_key(p.image))
        u = (offsets[k] + p.uvs[:, 0] * (offsets[k + 1] - offsets[k])) / width
        uvs.append(np.stack([u, p.uvs[:, 1]], axis=1))
    return _stack(parts, atlas, uvs)


def _stack(parts: list[_Part], texture: np.ndarray, uvs: list[np.ndarray]) -> Mesh:
    """Concatenate parts into one textured mesh; ``uvs`` [V_i,2] are trimesh's (u, v)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
    st = np.concatenate(uvs).astype(np.float64)  # [V,2]
    st[:, 1] = 1.0 - st[:, 1]  # bottom-up v -> top-down t
    return Mesh(
        np.concatenate([p.vertices for p in parts]),
        np.concatenate([p.faces + o for p, o in zip(parts, offsets)]),
        np.concatenate([p.colors for p in parts]),
        np.concatenate([np.tile(p.emissive, (len(p.vertices), 1)) for p in parts]),
        uvs=st.astype(np.float32),
        texture=np.ascontiguousarray(texture),
    )


def _read(path: Path) -> Mesh:
    """Load a file's scene, bake node transforms and merge its triangle meshes."""
    import trimesh  # the optional "synth" extra

    try:
        scene = trimesh.load(str(path), force="scene")
        geoms = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    except Exception as exc:  # trimesh raises many types for corrupt files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise Gina3dError(f"cannot read mesh file {path}: {reason}") from exc
    if not geoms:
        raise Gina3dError(f"mesh file has no triangles: {path}")
    return _merge([_to_part(g) for g in geoms], geoms)


def _normalise(mesh: Mesh, suffix: str, cls: str, subtype: str) -> Mesh:
    """Apply the axis rule and the scale rule, then centre (see module docstring)."""
    v = mesh.vertices.astype(np.float64)
    if suffix in (".glb", ".gltf"):
        v = v @ GINA_FROM_GLTF.T  # a proper rotation: face winding is preserved
    extents = v.max(0) - v.min(0)
    longest = float(extents.max())
    lo, hi = PEDESTRIAN_SIZE_RANGE if cls == "pedestrian" else VEHICLE_LENGTH_RANGE
    if longest > 0 and not lo <= longest <= hi:
        if cls == "pedestrian":
            v = v * (PEDESTRIAN_HEIGHT / (extents[2] if extents[2] > 0 else longest))
        else:
            v = v * (typical_vehicle_length(subtype) / longest)
    return centred(Mesh(v, mesh.faces, mesh.colors, mesh.emissive, mesh.uvs, mesh.texture))


def load_user_asset(path: str | Path, cls: str, subtype: str) -> Asset:
    """Load one mesh file as an :class:`Asset` of class ``cls`` ("vehicle" or "pedestrian")."""
    path = Path(path)
    mesh = _normalise(_read(path), path.suffix.lower(), cls, subtype)
    return Asset(mesh, cls, subtype, source=str(path))


def load_user_assets(directory: str | Path) -> list[Asset]:
    """Load every mesh file in the class subfolders of ``directory`` (layout, axes and scale
    rules in the module docstring), in sorted folder and file order.

    Raises Gina3dError when the directory is missing, holds no mesh files, or a file cannot be
    read or has no triangles.
    """
    root = Path(directory)
    if not root.is_dir():
        raise Gina3dError(f"assets directory not found: {root}")
    assets = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subtype = folder.name.lower()
        cls = "pedestrian" if subtype in PEDESTRIAN_FOLDERS else "vehicle"
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in MESH_SUFFIXES:
                assets.append(load_user_asset(path, cls, subtype))
    if not assets:
        raise Gina3dError(
            f"no mesh files ({' '.join(MESH_SUFFIXES)}) in the class subfolders "
            f"of {root} (expected e.g. {root / 'sedan' / 'car.glb'})"
        )
    return assets
