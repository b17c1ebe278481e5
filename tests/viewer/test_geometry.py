"""The viewer's conventions: viser poses vs cam_from_obj, frustums, boxes, overlays."""

import math

import numpy as np
import pytest

from gina3d.assets.turntable import look_at_camera
from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.geometry.transforms import invert, rot_x, rot_z
from gina3d.viewer.geometry import (
    MASK_COLOURS,
    box_segments,
    cam_from_obj_of_view,
    frustum_of,
    mask_overlay,
    matrix_from_quat_wxyz,
    pose_of,
    quat_wxyz_from_matrix,
    render_shape,
    view_intrinsics,
)


@pytest.mark.parametrize("angles", [(0.0, 0.0), (0.3, 2.0), (3.1, -1.2), (math.pi, 0.5)])
def test_quaternion_round_trip(angles):
    rotation = (rot_z(angles[1]) @ rot_x(angles[0]))[:3, :3]
    q = quat_wxyz_from_matrix(rotation)
    assert np.isclose(np.linalg.norm(q), 1.0)
    np.testing.assert_allclose(matrix_from_quat_wxyz(q), rotation, atol=1e-12)


def test_viser_pose_is_obj_from_cam():
    """A viser camera pose (world = object frame, OpenCV axes) maps back to cam_from_obj."""
    cam_from_obj, _ = look_at_camera([4.0, 2.0, 1.5], 64, azimuth_deg=40.0, elevation_deg=25.0)
    wxyz, position = pose_of(invert(cam_from_obj))
    np.testing.assert_allclose(cam_from_obj_of_view(wxyz, position), cam_from_obj, atol=1e-9)
    # the box centre is in front of the camera (camera z > 0), on the optical axis
    centre = cam_from_obj @ np.array([0.0, 0.0, 0.0, 1.0])
    assert centre[2] > 0 and np.allclose(centre[:2], 0.0, atol=1e-9)
    # z up in the object frame is image-up (-y in OpenCV) for this camera
    up = cam_from_obj[:3, :3] @ np.array([0.0, 0.0, 1.0])
    assert up[1] < 0


def test_view_intrinsics_and_shape():
    K = view_intrinsics(math.radians(60.0), 96, 144)
    assert np.isclose(K[1, 1], 48.0 / math.tan(math.radians(30.0)))
    assert K[0, 0] == K[1, 1] and K[0, 2] == 72.0 and K[1, 2] == 48.0
    assert render_shape(1.5, 96) == (96, 144)
    assert render_shape(100.0, 96) == (96, 240)  # aspect capped
    assert render_shape(0.0, 96) == (96, 96)


def test_frustum_of_patch_camera():
    fov, aspect = frustum_of([100.0, 100.0, 32.0, 32.0], 64)
    assert np.isclose(fov, 2 * math.atan(0.32)) and aspect == 1.0


def test_box_segments_span_the_box():
    seg = box_segments([4.0, 2.0, 1.5])
    assert seg.shape == (12, 2, 3)
    np.testing.assert_allclose(seg.reshape(-1, 3).min(0), [-2.0, -1.0, -0.75])
    np.testing.assert_allclose(seg.reshape(-1, 3).max(0), [2.0, 1.0, 0.75])
    lengths = np.sort(np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1))
    np.testing.assert_allclose(lengths, [1.5] * 4 + [2.0] * 4 + [4.0] * 4)


def test_mask_overlay_colours_each_label():
    rgb = np.zeros((2, 3, 3), np.uint8)
    masks = np.array([[BACKGROUND, OBJECT, OCCLUDER], [OBJECT, OBJECT, BACKGROUND]], np.uint8)
    out = mask_overlay(rgb, masks, alpha=1.0)
    for label, colour in MASK_COLOURS.items():
        assert (out[masks == label] == colour).all()
