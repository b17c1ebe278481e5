"""Camera fit from rays, range images to points, undistortion: against generated answers."""

import numpy as np
from scipy.spatial import cKDTree
from waymo.wod_frames import INCLINATIONS, VEHICLE_FROM_LIDAR, render

from gina3d.data.sources.waymo.camera_fit import fit_pinhole
from gina3d.data.sources.waymo.camera_model import WaymoCamera, undistort
from gina3d.data.sources.waymo.range_image import (
    beam_inclinations,
    euler_rotation,
    range_image_to_points,
)
from gina3d.geometry.cameras import camera_rays, intrinsics_matrix, pixel_centres, project
from gina3d.geometry.transforms import apply, invert, make_transform, rot_x, rot_y, rot_z


def test_fit_recovers_a_pinhole_camera():
    K = intrinsics_matrix(85.0, 88.0, 30.5, 17.2)
    cam_from_obj = make_transform(rot_x(0.2) @ rot_y(-0.3) @ rot_z(0.1), [0.3, -0.2, 9.0])
    o, d = camera_rays(K, cam_from_obj, pixel_centres(36, 58))
    fit = fit_pinhole(o, d)
    assert fit.ok and fit.rms_px < 1e-4
    np.testing.assert_allclose(fit.K, K, atol=1e-4)
    np.testing.assert_allclose(fit.cam_from_obj, cam_from_obj, atol=1e-5)
    # rolling shutter: origins drift by row; the fit stays a close camera
    o2 = o + np.arange(36)[:, None, None] * np.array([0.002, 0.0, 0.0])
    fit2 = fit_pinhole(o2, d)
    assert fit2.ok and fit2.rms_px < 1e-3
    np.testing.assert_allclose(fit2.K, K, atol=1e-3)
    # a mirrored ray field is not a camera
    assert not fit_pinhole(o, d * np.array([-1.0, 1.0, 1.0])).ok


def test_range_image_points_match_the_generated_ones():
    r = render(0)
    pts, rc = range_image_to_points(r["range_image"], VEHICLE_FROM_LIDAR, INCLINATIONS)
    assert len(pts) == len(r["points"]) and rc.shape == (len(pts), 2)
    dist, _ = cKDTree(r["points"]).query(pts)
    assert dist.max() < 1e-4


def test_range_image_columns_follow_the_vehicle_azimuth():
    # a LiDAR turned 90 degrees left: the column at vehicle azimuth +90 deg (W/4) still sees
    # the vehicle's left side, the middle column sees ahead
    vehicle_from_lidar = make_transform(rot_z(np.pi / 2), [1.0, 0.0, 2.0])
    ri = np.zeros((3, 8), np.float32)
    ri[1, 1] = 10.0  # column 1 of 8: azimuth pi (1 - 3/8) = 112.5 deg
    ri[1, 3] = 5.0  # column 3: azimuth pi/8 = 22.5 deg
    incl = beam_inclinations(3, -0.1, 0.1)
    np.testing.assert_allclose(incl, [-0.1 + 0.2 / 6, 0.0, 0.1 - 0.2 / 6])
    pts, _ = range_image_to_points(ri, vehicle_from_lidar, incl)
    rel = pts - [1.0, 0.0, 2.0]
    az = np.degrees(np.arctan2(rel[:, 1], rel[:, 0]))
    np.testing.assert_allclose(sorted(az), [22.5, 112.5], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(rel, axis=1), [10.0, 5.0], rtol=1e-6)
    # row 0 is the highest beam
    ri2 = np.zeros((3, 8), np.float32)
    ri2[0, 4] = 10.0
    top, _ = range_image_to_points(ri2, vehicle_from_lidar, incl)
    assert top[0, 2] - 2.0 > 0.5


def test_pixel_poses_undo_ego_motion():
    r = render(0)
    ri = r["range_image"]
    world_from_vehicle = make_transform(rot_z(0.2), [50.0, 3.0, 0.0])
    pose = np.zeros((*ri.shape[:2], 6))
    pose[..., 2], pose[..., 3:] = 0.2, [50.0, 3.0, 0.0]
    same, _ = range_image_to_points(ri, VEHICLE_FROM_LIDAR, INCLINATIONS, pose, world_from_vehicle)
    plain, _ = range_image_to_points(ri, VEHICLE_FROM_LIDAR, INCLINATIONS)
    np.testing.assert_allclose(same, plain, atol=1e-4)
    pose[..., 3] += 0.5  # the vehicle was 0.5 m further along world x when these were taken
    moved, _ = range_image_to_points(ri, VEHICLE_FROM_LIDAR, INCLINATIONS, pose, world_from_vehicle)
    shift = apply(invert(world_from_vehicle), np.array([50.5, 3.0, 0.0]))
    np.testing.assert_allclose(moved - plain, np.broadcast_to(shift, plain.shape), atol=1e-4)
    R = euler_rotation(np.array(0.1), np.array(0.2), np.array(0.3))
    np.testing.assert_allclose(R, rot_z(0.3) @ rot_y(0.2) @ rot_x(0.1), atol=1e-12)


def test_undistortion_moves_content_to_the_pinhole_projection():
    intrinsic = {"f_u": 200.0, "f_v": 200.0, "c_u": 160.0, "c_v": 120.0, "k1": -0.3, "k2": 0.05}
    intrinsic.update(p1=0.001, p2=-0.002, k3=0.0)
    extrinsic = make_transform(np.eye(3), [0.0, 0.0, 1.5])
    cam = WaymoCamera.from_calibration("FRONT", intrinsic, extrinsic, 320, 240)
    # a vehicle-frame point ahead and to the left, above: OpenCV x < 0, y < 0
    p_vehicle = np.array([10.0, 5.0, 4.5])
    p_cam = apply(invert(cam.vehicle_from_cam), p_vehicle)
    assert p_cam[0] < 0 and p_cam[1] < 0 and p_cam[2] > 9.9
    ideal, _ = project(cam.K, p_cam)
    n = np.array([p_cam[0] / p_cam[2], p_cam[1] / p_cam[2]])
    recorded = cam.distort(n) * [cam.K[0, 0], cam.K[1, 1]] + cam.K[:2, 2]
    image = np.zeros((240, 320), np.uint8)
    image[
        int(recorded[1]) - 1 : int(recorded[1]) + 2, int(recorded[0]) - 1 : int(recorded[0]) + 2
    ] = 255
    out = undistort(image, cam.source_pixels(240, 320))
    row, col = np.unravel_index(np.argmax(out), out.shape)
    assert abs(col + 0.5 - ideal[0]) <= 1.5 and abs(row + 0.5 - ideal[1]) <= 1.5
    assert np.hypot(*(recorded - ideal)) > 5  # the distortion did move it
