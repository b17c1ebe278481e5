"""Spinning-LiDAR simulation by ray casting (Embree through trimesh), plus a numpy reference.

One sweep casts ``beams x azimuth_samples`` rays from the LiDAR origin (a single instant: no
rolling-shutter motion), keeps the first hit of each ray, adds Gaussian range noise along the
ray, drops returns at random and beyond the maximum range, and reports an intensity from the
incidence angle (a constant, albedo-free reflectivity that fades with range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.geometry.lidar_spec import LidarSpec
from gina3d.geometry.mesh import Mesh

_REFLECTIVITY = 0.8


@dataclass
class LidarSweep:
    """The returns of one sweep, ordered by (beam, azimuth_index).

    points_world: [L,3] float32 hit points in the world frame (after range noise).
    instance: [L] int32 instance id of the hit triangle (0 = not an object).
    semantic: [L] uint8 semantic id of the hit triangle.
    intensity: [L] float32 in [0,1].
    range: [L] float32 distance from the LiDAR origin in metres.
    beam: [L] int16 laser row (0 = top).
    azimuth_index: [L] int16 column (see ``LidarSpec``).
    origin_world: [3] float64 LiDAR origin in the world frame.
    """

    points_world: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    intensity: np.ndarray
    range: np.ndarray
    beam: np.ndarray
    azimuth_index: np.ndarray
    origin_world: np.ndarray

    def __len__(self) -> int:
        return len(self.points_world)


def _rays(world_from_lidar: np.ndarray, spec: LidarSpec) -> tuple[np.ndarray, np.ndarray]:
    """Origin [3] and unit directions [B*A,3] in the world frame, beam-major."""
    dirs = spec.ray_directions().reshape(-1, 3) @ np.asarray(world_from_lidar)[:3, :3].T
    return np.asarray(world_from_lidar, dtype=np.float64)[:3, 3].copy(), dirs


def _face_normals(mesh: Mesh, tri: np.ndarray) -> np.ndarray:
    """Unit normals [K,3] of the triangles ``tri`` [K]."""
    v = mesh.vertices.astype(np.float64)[mesh.faces[tri]]  # [K,3,3]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _finish(
    mesh: Mesh,
    triangle_instance: np.ndarray,
    triangle_semantic: np.ndarray,
    origin: np.ndarray,
    dirs: np.ndarray,
    ray: np.ndarray,
    tri: np.ndarray,
    dist: np.ndarray,
    spec: LidarSpec,
    rng: np.random.Generator,
) -> LidarSweep:
    """Noise, dropout, range gating and labels for first hits (ray [K], tri [K], dist [K])."""
    n_rays = len(dirs)
    # Draw for every ray, hit or not, so the random stream does not depend on the hits.
    noise = rng.normal(0.0, max(spec.range_noise_std, 0.0), size=n_rays)
    keep_ray = rng.uniform(size=n_rays) >= spec.dropout
    order = np.argsort(ray, kind="stable")
    ray, tri, dist = ray[order], tri[order], dist[order]
    ranges = dist + noise[ray]
    keep = keep_ray[ray] & (dist <= spec.max_range) & (ranges > 0)
    ray, tri, ranges = ray[keep], tri[keep], ranges[keep]
    d = dirs[ray]
    cos = np.abs(np.sum(_face_normals(mesh, tri) * d, axis=1))
    intensity = _REFLECTIVITY * cos * np.exp(-ranges / (2.0 * spec.max_range))
    return LidarSweep(
        points_world=(origin + d * ranges[:, None]).astype(np.float32),
        instance=np.asarray(triangle_instance, dtype=np.int32)[tri],
        semantic=np.asarray(triangle_semantic, dtype=np.uint8)[tri],
        intensity=np.clip(intensity, 0.0, 1.0).astype(np.float32),
        range=ranges.astype(np.float32),
        beam=(ray // spec.azimuth_samples).astype(np.int16),
        azimuth_index=(ray % spec.azimuth_samples).astype(np.int16),
        origin_world=origin,
    )


def _check(mesh: Mesh, triangle_instance: np.ndarray, triangle_semantic: np.ndarray) -> None:
    n = len(mesh.faces)
    if len(triangle_instance) != n or len(triangle_semantic) != n:
        raise ValueError(
            f"need one instance and semantic id per triangle ({n}), got "
            f"{len(triangle_instance)} and {len(triangle_semantic)}"
        )


def simulate_lidar(
    mesh_world: Mesh,
    triangle_instance: np.ndarray,
    triangle_semantic: np.ndarray,
    world_from_lidar: np.ndarray,
    spec: LidarSpec,
    rng: np.random.Generator,
) -> LidarSweep:
    """Cast one sweep against ``mesh_world`` (the whole scene merged, world frame) with Embree.

    triangle_instance: [F] int32 instance id per triangle; triangle_semantic: [F] uint8.
    world_from_lidar: [4,4] pose of the LiDAR (``world_from_vehicle @ spec.vehicle_from_lidar``).
    """
    import trimesh
    from trimesh.ray.ray_pyembree import RayMeshIntersector

    _check(mesh_world, triangle_instance, triangle_semantic)
    origin, dirs = _rays(world_from_lidar, spec)
    if len(mesh_world.faces):
        tm = trimesh.Trimesh(mesh_world.vertices, mesh_world.faces, process=False, validate=False)
        # First-hit ids only (Embree's fast path); the hit distance is then solved exactly in
        # float64 against the hit triangle's plane, as ``intersects_location`` would do.
        tri, ray = RayMeshIntersector(tm).intersects_id(
            np.broadcast_to(origin, dirs.shape), dirs, multiple_hits=False
        )
        v0 = mesh_world.vertices[mesh_world.faces[tri, 0]].astype(np.float64)
        n = _face_normals(mesh_world, tri)
        denom = np.einsum("ij,ij->i", n, dirs[ray])
        ok = np.abs(denom) > 1e-9
        ray, tri = ray[ok], tri[ok]
        dist = np.einsum("ij,ij->i", n[ok], v0[ok] - origin) / denom[ok]
    else:
        ray = tri = np.zeros(0, dtype=np.int64)
        dist = np.zeros(0)
    return _finish(
        mesh_world,
        triangle_instance,
        triangle_semantic,
        origin,
        dirs,
        np.asarray(ray),
        np.asarray(tri),
        dist,
        spec,
        rng,
    )


def simulate_lidar_reference(
    mesh_world: Mesh,
    triangle_instance: np.ndarray,
    triangle_semantic: np.ndarray,
    world_from_lidar: np.ndarray,
    spec: LidarSpec,
    rng: np.random.Generator,
) -> LidarSweep:
    """Same as ``simulate_lidar`` by brute-force Moller-Trumbore in numpy (rays x triangles).

    Memory and time grow with rays x triangles: for tests on a few triangles only.
    """
    _check(mesh_world, triangle_instance, triangle_semantic)
    origin, dirs = _rays(world_from_lidar, spec)
    tri_v = mesh_world.vertices.astype(np.float64)[mesh_world.faces]  # [F,3,3]
    e1, e2 = tri_v[:, 1] - tri_v[:, 0], tri_v[:, 2] - tri_v[:, 0]  # [F,3]
    p = np.cross(dirs[:, None, :], e2[None])  # [R,F,3]
    det = np.einsum("rfk,fk->rf", p, e1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - tri_v[:, 0]  # [F,3]
    u = np.einsum("rfk,fk->rf", p, s) * inv
    q = np.cross(s, e1)  # [F,3]
    v = (dirs @ q.T) * inv  # [R,F]
    t = (q * e2).sum(1)[None] * inv  # [R,F]
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
    t = np.where(hit, t, np.inf)
    tri = np.argmin(t, axis=1) if len(tri_v) else np.zeros(len(dirs), dtype=np.int64)
    dist = t[np.arange(len(dirs)), tri] if len(tri_v) else np.full(len(dirs), np.inf)
    ray = np.flatnonzero(np.isfinite(dist))
    return _finish(
        mesh_world,
        triangle_instance,
        triangle_semantic,
        origin,
        dirs,
        ray,
        tri[ray],
        dist[ray],
        spec,
        rng,
    )
