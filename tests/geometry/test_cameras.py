import numpy as np

from gina3d.geometry.boxes import box_corners, points_in_box, ray_box_intersect
from gina3d.geometry.cameras import (
    camera_rays,
    crop_intrinsics,
    intrinsics_matrix,
    pixel_centres,
    points_to_pixels,
    project,
    unproject_directions,
)
from gina3d.geometry.transforms import (
    OPENCV_FROM_FLU,
    apply,
    invert,
    make_transform,
    pose_from_xyz_yaw,
    rot_x,
    rot_z,
)

K = intrinsics_matrix(500.0, 480.0, 320.0, 240.0)


def random_pose(rng):
    return make_transform(rot_z(rng.uniform(-3, 3)) @ rot_x(rng.uniform(-1, 1)), rng.normal(size=3))


def test_invert_is_exact_inverse():
    rng = np.random.default_rng(0)
    for _ in range(10):
        t = random_pose(rng)
        np.testing.assert_allclose(invert(t) @ t, np.eye(4), atol=1e-12)


def test_projection_round_trip():
    rng = np.random.default_rng(1)
    pts = rng.uniform([-5, -3, 2], [5, 3, 40], size=(100, 3))
    uv, z = project(K, pts)
    back = unproject_directions(K, uv) * z[:, None]
    np.testing.assert_allclose(back, pts, rtol=1e-10)


def test_rays_through_pixels_reproject_to_the_same_pixels():
    rng = np.random.default_rng(2)
    cam_from_obj = random_pose(rng)
    cam_from_obj[:3, 3] = [0.2, -0.1, 8.0]
    pix = pixel_centres(6, 8)
    origins, dirs = camera_rays(K, cam_from_obj, pix)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=-1), 1.0, rtol=1e-12)
    for t in (1.0, 7.5):
        uv, z = points_to_pixels(K, cam_from_obj, origins + t * dirs)
        np.testing.assert_allclose(uv, pix, atol=1e-9)
        np.testing.assert_allclose(z > 0, True)


def test_pixel_centre_convention():
    # a point on the optical axis lands at (cx, cy), i.e. the corner between four pixels
    uv, _ = project(K, np.array([0.0, 0.0, 5.0]))
    np.testing.assert_allclose(uv, [320.0, 240.0])
    assert pixel_centres(2, 3)[1, 2].tolist() == [2.5, 1.5]


def test_crop_intrinsics_maps_frame_pixels_into_the_patch():
    x0, y0, side, res = 100.0, 50.0, 128.0, 64
    Kc = crop_intrinsics(K, x0, y0, side, res)
    pts = np.array([[1.0, 0.5, 10.0], [-0.3, 0.2, 4.0]])
    uv, _ = project(K, pts)
    uvc, _ = project(Kc, pts)
    np.testing.assert_allclose(uvc, (uv - [x0, y0]) * res / side, atol=1e-9)


def test_opencv_from_flu_axes():
    # x forward (FLU) is z forward (OpenCV); y left is -x; z up is -y
    np.testing.assert_allclose(apply(OPENCV_FROM_FLU, np.array([1.0, 0, 0])), [0, 0, 1])
    np.testing.assert_allclose(apply(OPENCV_FROM_FLU, np.array([0, 1.0, 0])), [-1, 0, 0])
    np.testing.assert_allclose(apply(OPENCV_FROM_FLU, np.array([0, 0, 1.0])), [0, -1, 0])


def test_ray_box_intersection_against_sampling():
    rng = np.random.default_rng(3)
    size = np.array([4.0, 2.0, 1.5])
    origins = rng.uniform(-8, 8, size=(400, 3))
    dirs = rng.normal(size=(400, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    t_near, t_far, hit = ray_box_intersect(origins, dirs, size)
    ts = np.linspace(0, 30, 6001)
    pts = origins[:, None] + ts[None, :, None] * dirs[:, None]
    inside = points_in_box(pts, size)
    assert np.array_equal(inside.any(1), hit)
    first = np.where(hit, ts[np.argmax(inside, axis=1)], 0)
    last = np.where(hit, ts[inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)], 0)
    np.testing.assert_allclose(t_near[hit], first[hit], atol=0.01)
    np.testing.assert_allclose(t_far[hit], last[hit], atol=0.01)


def test_box_corners_and_pose():
    size = np.array([4.0, 2.0, 1.5])
    c = box_corners(size)
    assert c.shape == (8, 3) and np.allclose(c.max(0), size / 2)
    pose = pose_from_xyz_yaw([10, 0, 0.75], np.pi / 2)  # facing +y (left)
    np.testing.assert_allclose(apply(pose, np.array([2.0, 0, 0])), [10, 2, 0.75], atol=1e-12)
