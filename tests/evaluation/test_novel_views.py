"""Novel-view cameras orbit the object; ground-truth silhouettes from the rasteriser."""

import numpy as np
import pytest
import trimesh

from gina3d.errors import Gina3dError
from gina3d.evaluation.novel_views import (
    gt_silhouette,
    intrinsics_K,
    load_mesh,
    orbit_cameras,
    recentred_intrinsics,
)
from gina3d.geometry.boxes import ray_box_intersect
from gina3d.geometry.cameras import camera_rays, pixel_centres, project
from gina3d.geometry.mesh import Mesh
from gina3d.geometry.transforms import apply, invert

RES = 32


def look_at(position, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """OpenCV cam_from_obj of a camera at ``position`` looking at ``target`` (z up)."""
    p = np.asarray(position, float)
    f = np.asarray(target, float) - p
    f /= np.linalg.norm(f)
    right = np.cross(f, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(f, right)
    out = np.eye(4)
    out[:3, :3] = np.stack([right, down, f])
    out[:3, 3] = -out[:3, :3] @ p
    return out


def box_mask(K, cam_from_obj, size, res=RES, supersample=1) -> np.ndarray:
    """Analytic silhouette of a centred box: pixel coverage >= 0.5 from s x s ray samples."""
    s = supersample
    pix = pixel_centres(res * s, res * s) / s
    o, d = camera_rays(K, cam_from_obj, pix)
    _, _, hit = ray_box_intersect(o, d, np.asarray(size, float))
    return hit.reshape(res, s, res, s).mean(axis=(1, 3)) >= 0.5


def box_mesh(size) -> Mesh:
    tm = trimesh.creation.box(extents=size)
    return Mesh(tm.vertices, tm.faces, (0.5, 0.5, 0.5))


# an oblique patch camera: off to the side and above, principal point away from the centre
CAM = look_at([7.0, 3.0, 2.5], target=[0.3, -0.2, 0.1])
K = np.array([[40.0, 0.0, 13.0], [0.0, 42.0, 18.5], [0.0, 0.0, 1.0]])


def test_box_centre_projects_to_patch_centre_and_orbit_keeps_distance_and_elevation():
    cams, Ks = orbit_cameras(CAM, K, RES, RES, (90, 180, 270, 33.0))
    assert cams.shape == (4, 4, 4) and Ks.shape == (4, 3, 3)
    pos = invert(CAM)[:3, 3]
    for cam, k in zip(cams, Ks):
        uv, z = project(k, apply(cam, np.zeros(3)))
        np.testing.assert_allclose(uv, [RES / 2, RES / 2], atol=1e-9)
        assert z > 0
        assert k[0, 0] == K[0, 0] and k[1, 1] == K[1, 1]  # same focal lengths
        p = invert(cam)[:3, 3]
        assert np.linalg.norm(p) == pytest.approx(np.linalg.norm(pos))
        assert p[2] == pytest.approx(pos[2])  # same height: same elevation
    # +90 degrees moves a camera in front of the object (+x) to its left (+y)
    front = look_at([6.0, 0.0, 1.0])
    p90 = invert(orbit_cameras(front, K, RES, RES, (90,))[0][0])[:3, 3]
    np.testing.assert_allclose(p90, [0.0, 6.0, 1.0], atol=1e-12)
    # the box centre's camera coordinates do not change with azimuth
    np.testing.assert_allclose(cams[:, :3, 3], np.broadcast_to(CAM[:3, 3], (4, 3)), atol=1e-12)


def test_recentred_intrinsics_accepts_four_numbers_and_rejects_behind():
    k4 = np.array([K[0, 0], K[1, 1], K[0, 2], K[1, 2]])
    np.testing.assert_array_equal(intrinsics_K(k4), K)
    np.testing.assert_allclose(
        recentred_intrinsics(k4, CAM, 20, 30), recentred_intrinsics(K, CAM, 20, 30)
    )
    behind = look_at([5.0, 0.0, 0.0], target=[10.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        recentred_intrinsics(K, behind, RES, RES)


def test_180_view_of_a_unit_box_has_the_same_silhouette():
    front = look_at([4.0, 0.0, 1.5])
    cams, Ks = orbit_cameras(front, K, RES, RES, (180, 90))
    base = box_mask(Ks[0], front, (1, 1, 1))  # re-centred K, input pose
    back = box_mask(Ks[0], cams[0], (1, 1, 1))
    side = box_mask(Ks[1], cams[1], (1, 1, 1))
    assert base.sum() > 50
    assert back.sum() == base.sum() == side.sum()  # a cube looks the same from each side
    np.testing.assert_array_equal(back, base)


@pytest.fixture(scope="module")
def renderer():
    from gina3d.data.render.raster import Renderer

    r = Renderer()
    try:
        assert r.ctx is not None
    except Gina3dError as exc:
        pytest.skip(str(exc))
    yield r
    r.clear_cache()


def test_gt_silhouette_matches_analytic_box(renderer):
    size = (4.0, 2.0, 1.5)
    cam = look_at([9.0, 5.0, 3.0], target=[0.0, 0.0, 0.0])
    k = recentred_intrinsics(np.diag([70.0, 70.0, 1.0]), cam, RES, RES)
    got = gt_silhouette(box_mesh(size), k, cam, RES, RES, renderer=renderer)
    want = box_mask(k, cam, size, supersample=8)
    assert got.dtype == bool and got.shape == (RES, RES)
    assert want.sum() > 100
    diff = got != want
    # any disagreement is on the silhouette's edge: the pixel has a neighbour of each kind
    padded = np.pad(want, 1, mode="edge")
    shifts = [
        padded[1 + a : 1 + a + RES, 1 + b : 1 + b + RES] for a in (-1, 0, 1) for b in (-1, 0, 1)
    ]
    edge = np.any(shifts, axis=0) & ~np.all(shifts, axis=0)
    assert not np.any(diff & ~edge)
    assert diff.sum() <= 0.05 * want.sum()


def test_load_mesh_round_trip(tmp_path):
    tm = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    tm.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(tm.vertices), 1)).astype(np.uint8)
    path = tmp_path / "o1.ply"
    path.write_bytes(tm.export(file_type="ply"))
    mesh = load_mesh(path)
    np.testing.assert_allclose(mesh.bounds, [[-1.0, -0.5, -0.25], [1.0, 0.5, 0.25]], atol=1e-6)
    assert len(mesh.faces) == 12
    np.testing.assert_allclose(mesh.colors[0], [1.0, 0.0, 0.0])
    with pytest.raises(Gina3dError, match="no such mesh"):
        load_mesh(tmp_path / "missing.ply")
    (tmp_path / "bad.ply").write_bytes(b"not a mesh")
    with pytest.raises(Gina3dError):
        load_mesh(tmp_path / "bad.ply")
