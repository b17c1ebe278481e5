"""Meshes from a radiance field: density grid, marching cubes, vertex colours, floaters.

Everything happens in the object frame (docs/conventions.md: box centre, x forward, y left,
z up, metres). A *density function* maps points [N,3] in metres to ``(sigma [N], rgb [N,3])``;
a stage-1 model with a tri-plane is turned into one by ``field_density_fn``, and analytic
fields (tests) go through exactly the same grid, threshold and cleaning code.

Grid: ``resolution`` nodes per axis at ``linspace(-size/2, size/2)``, i.e. the same count
along every axis of the box (isotropic in the box-normalised frame the tri-plane lives in,
so a 4.6 m car gets longer voxels along x than along z). The grid is padded with one layer
(outside, empty) so surfaces that reach the box close there, and vertices are clipped to
the box (the renderer composites nothing outside it).

Surface: ``surface.py`` turns the density grid into an iso-field and level. For a field
that predicts a signed distance (``model.field_type = "sdf"``) the surface is its zero
level (rule "sdf", the default for such fields: ``surface.resolve_rule``); otherwise (rule
"opacity") it is where light from outside the box, along every axis direction, has reached
the class's opacity, independent of the density's scale; rule "density" (or giving
``level``) takes the iso-density ``sigma = level``. A density function may carry its
field's signed distance as an attribute ``sdf`` (points [N,3] m -> distances [N]), as
``field_density_fn`` does for sdf models.

Orientation: scikit-image's marching cubes winds faces clockwise seen from outside for
a field that is high inside (on an ``ij``-indexed grid); faces are flipped so that normals
point outward and the volume is positive (tested on an analytic sphere).

Floaters: connected components whose area is below ``min_component`` times the largest
component's area are dropped. Vertex colours are the field's colour at each vertex.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from gina3d.assets.surface import OPACITY, resolve_rule, surface_field
from gina3d.errors import Gina3dError

DensityFn = Callable[[Tensor], tuple[Tensor, Tensor]]  # points [N,3] m -> sigma [N], rgb [N,3]

DEFAULT_RESOLUTION = 128
MIN_COMPONENT = 0.05
DEFAULT_CHUNK = 1 << 18


def check_size(box_size: Sequence[float] | np.ndarray | Tensor) -> np.ndarray:
    """Box size (3,) as float64 metres; Gina3dError unless three finite positive numbers."""
    size = np.asarray(
        box_size.detach().cpu() if isinstance(box_size, Tensor) else box_size, dtype=np.float64
    ).reshape(-1)
    if size.shape != (3,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise Gina3dError(f"size must be three positive lengths in metres, got {size.tolist()}")
    return size


def field_density_fn(model, triplane: Tensor, box_size) -> DensityFn:
    """The field of ``model`` (a Stage1Model) on ``triplane`` [3,F,R,R] as a density function."""
    planes = triplane[None].float()  # [1,3,F,R,R]
    half = torch.as_tensor(check_size(box_size) / 2.0, dtype=torch.float32, device=planes.device)

    def fn(points: Tensor) -> tuple[Tensor, Tensor]:
        p = (points.to(planes.device).float() / half)[None]  # [1,N,3] normalised
        out = model.field(planes, p)
        return out["sigma"][0], out["rgb"][0]  # [N], [N,3]

    def sdf(points: Tensor) -> Tensor:
        p = (points.to(planes.device).float() / half)[None]  # [1,N,3] normalised
        return model.field.sdf(planes, p)[0]  # [N] normalised units

    fn.sdf = sdf if getattr(model.field, "is_sdf", False) else None
    return fn


def sdf_of(fn: DensityFn) -> Callable[[Tensor], Tensor] | None:
    """The signed distance a density function carries (``fn.sdf``), or None."""
    return getattr(fn, "sdf", None)


def as_density_fn(source, triplane: Tensor | None, box_size) -> DensityFn:
    """A density function from a model (needs ``triplane``) or a callable (used as is)."""
    if hasattr(source, "field"):
        if triplane is None:
            raise Gina3dError("mesh: a model needs a tri-plane [3,F,R,R]")
        if triplane.dim() != 4 or triplane.shape[0] != 3:
            raise Gina3dError(f"mesh: tri-plane must be [3,F,R,R], got {list(triplane.shape)}")
        return field_density_fn(source, triplane, box_size)
    if callable(source):
        return source
    raise Gina3dError(f"mesh: expected a stage-1 model or a density function, got {type(source)}")


def grid_axes(box_size, resolution: int) -> list[np.ndarray]:
    """Node coordinates along x, y, z: ``resolution`` values spanning ``[-s/2, s/2]``."""
    if resolution < 2:
        raise Gina3dError(f"mesh resolution must be at least 2, got {resolution}")
    size = check_size(box_size)
    return [np.linspace(-s / 2.0, s / 2.0, resolution) for s in size]


@torch.no_grad()
def evaluate(fn: DensityFn, points: np.ndarray, chunk: int = DEFAULT_CHUNK):
    """Density and colour at points [N,3] (metres) in chunks -> sigma [N], rgb [N,3] (numpy)."""
    sigmas, colours = [], []
    pts = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
    for start in range(0, len(pts), chunk):
        sigma, rgb = fn(pts[start : start + chunk])
        sigmas.append(sigma.float().cpu())
        colours.append(rgb.float().cpu())
    if not sigmas:
        return np.zeros(0, np.float32), np.zeros((0, 3), np.float32)
    return torch.cat(sigmas).numpy(), torch.cat(colours).numpy()


@torch.no_grad()
def density_grid(
    source,
    triplane: Tensor | None,
    box_size,
    resolution: int = DEFAULT_RESOLUTION,
    chunk: int = DEFAULT_CHUNK,
    quantity: str = "sigma",
) -> np.ndarray:
    """Density sigma [Rx,Ry,Rz] (float32, ``ij`` order: index [i,j,k] = (x_i, y_j, z_k)),
    or the signed distance with ``quantity="sdf"``.

    ``source`` is a Stage1Model (with ``triplane`` [3,F,R,R]) or a density function.
    Evaluated ``chunk`` points at a time, one x-slab block after another.
    """
    fn = as_density_fn(source, triplane, box_size)
    if quantity == "sdf":
        sdf = sdf_of(fn)
        if sdf is None:
            raise Gina3dError("this field predicts a density, not a signed distance")
        fn = _values_only(sdf)
    xs, ys, zs = grid_axes(box_size, resolution)
    yz = np.stack(np.meshgrid(ys, zs, indexing="ij"), axis=-1).reshape(-1, 2)  # [Ry*Rz,2]
    per_slab = len(yz)
    slabs = max(1, chunk // per_slab)
    out = np.empty((len(xs), len(ys), len(zs)), dtype=np.float32)
    for start in range(0, len(xs), slabs):
        x = xs[start : start + slabs]  # [n]
        pts = np.concatenate(
            [np.repeat(x, per_slab)[:, None], np.tile(yz, (len(x), 1))], axis=1
        )  # [n*Ry*Rz,3]
        sigma, _ = evaluate(fn, pts, chunk)
        out[start : start + len(x)] = sigma.reshape(len(x), len(ys), len(zs))
    return out


def _values_only(values: Callable[[Tensor], Tensor]) -> DensityFn:
    """A values function as a density function (its colour unused: zeros)."""

    def fn(points: Tensor) -> tuple[Tensor, Tensor]:
        v = values(points)
        return v, v.new_zeros(len(v), 3)

    return fn


def empty_mesh():
    import trimesh

    return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), process=False)


def marching_cubes(field: np.ndarray, box_size, level: float):
    """Outward-facing surface ``field = level`` (field high inside) in metres -> trimesh.

    ``field`` [Rx,Ry,Rz] on the node grid of ``grid_axes``; no colours.
    """
    import trimesh

    try:
        from skimage.measure import marching_cubes as skimage_mc
    except ImportError:
        raise Gina3dError("meshes need scikit-image: pip install 'gina3d[assets]'") from None
    size = check_size(box_size)
    outside = min(0.0, level - 1.0)  # below the level: the box's outside is empty
    padded = np.pad(field, 1, mode="constant", constant_values=outside)  # [Rx+2,Ry+2,Rz+2]
    if not (np.nanmax(padded) > level):
        return empty_mesh()
    spacing = size / (np.asarray(field.shape) - 1)  # metres per voxel along x, y, z
    verts, faces, _, _ = skimage_mc(padded, level=level, spacing=tuple(spacing))
    verts = verts - spacing - size / 2.0  # undo the padding, centre on the box
    verts = np.clip(verts, -size / 2.0, size / 2.0)
    faces = faces[:, ::-1]  # outward normals (see module docstring)
    mesh = trimesh.Trimesh(verts, faces, process=False)
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    return mesh


def remove_floaters(mesh, min_component: float = MIN_COMPONENT):
    """Keep connected components with area >= ``min_component`` x the largest one's."""
    import trimesh

    if len(mesh.faces) == 0 or min_component <= 0:
        return mesh
    parts = mesh.split(only_watertight=False)
    if len(parts) <= 1:
        return mesh
    areas = np.array([p.area for p in parts])
    keep = [p for p, a in zip(parts, areas) if a >= min_component * areas.max()]
    return trimesh.util.concatenate(keep)


def colour_vertices(mesh, fn: DensityFn, chunk: int = DEFAULT_CHUNK):
    """Set RGBA uint8 vertex colours from the field's colour at each vertex."""
    import trimesh

    if len(mesh.vertices) == 0:
        return mesh
    _, rgb = evaluate(fn, np.asarray(mesh.vertices), chunk)  # [V,3] in (0,1)
    rgba = np.concatenate([np.clip(rgb, 0, 1) * 255.0, np.full((len(rgb), 1), 255.0)], axis=1)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=np.round(rgba).astype(np.uint8))
    return mesh


def extract_mesh(
    source,
    triplane: Tensor | None,
    box_size,
    resolution: int = DEFAULT_RESOLUTION,
    rule: str = "auto",
    opacity: float | None = None,
    level: float | None = None,
    min_component: float = MIN_COMPONENT,
    chunk: int = DEFAULT_CHUNK,
    class_name: str | None = None,
):
    """Coloured, cleaned, outward-facing trimesh.Trimesh of the asset in metres.

    ``source``: a Stage1Model with ``triplane`` [3,F,R,R], or a density function.
    ``rule``/``opacity``/``level``: where the surface is (surface.py); giving ``level``
    selects the "density" rule; "auto" (``surface.resolve_rule``) is the zero level of a
    signed-distance field unless an ``opacity`` is given, else the "opacity" rule at
    ``opacity`` or ``class_name``'s default. An empty field gives a mesh with no faces.
    """
    fn = as_density_fn(source, triplane, box_size)
    rule, opacity = resolve_rule(sdf_of(fn) is not None, class_name, opacity, level, rule)
    quantity = "sdf" if rule == "sdf" else "sigma"
    values = density_grid(fn, None, box_size, resolution, chunk, quantity)  # [R,R,R]
    field, iso = surface_field(values, rule, OPACITY if opacity is None else opacity, level)
    mesh = marching_cubes(field, box_size, iso)
    mesh = remove_floaters(mesh, min_component)
    return colour_vertices(mesh, fn, chunk)
