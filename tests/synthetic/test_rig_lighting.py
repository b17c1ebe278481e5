"""The camera rig, the LiDAR spec, lighting sampling and the camera sensor model."""

import numpy as np
import pytest

from gina3d.data.render.lighting import TIMES_OF_DAY, apply_sensor, sample_lighting
from gina3d.data.sources.synthetic.rig import CAMERA_NAMES, LidarSpec, waymo_like_rig


def _cam(name):
    return {c.name: c for c in waymo_like_rig()}[name]


def test_rig_has_five_waymo_cameras():
    rig = waymo_like_rig()
    assert [c.name for c in rig] == list(CAMERA_NAMES)
    assert set(CAMERA_NAMES) == {"FRONT", "FRONT_LEFT", "FRONT_RIGHT", "SIDE_LEFT", "SIDE_RIGHT"}
    for cam in rig:
        assert 47.0 < cam.horizontal_fov_deg < 53.0
        r = cam.vehicle_from_cam[:3, :3]
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(r), 1.0)
        assert 1.9 < cam.vehicle_from_cam[2, 3] < 2.3
    assert (_cam("FRONT").width, _cam("FRONT").height) == (640, 427)
    assert (_cam("SIDE_LEFT").width, _cam("SIDE_LEFT").height) == (640, 295)
    full = {c.name: c for c in waymo_like_rig(scale=1.0)}
    assert (full["FRONT"].width, full["FRONT"].height) == (1920, 1280)
    assert (full["SIDE_RIGHT"].width, full["SIDE_RIGHT"].height) == (1920, 886)
    assert abs(full["FRONT"].K[0, 0] - 2060.0) < 1.0


def test_surround_rig_adds_two_cameras_looking_back():
    rig = {c.name: c for c in waymo_like_rig(rig="surround")}
    assert list(rig) == [*CAMERA_NAMES, "REAR_LEFT", "REAR_RIGHT"]
    for name, side in (("REAR_LEFT", 1.0), ("REAR_RIGHT", -1.0)):
        axis = rig[name].vehicle_from_cam[:3, 2]  # OpenCV z: the viewing direction
        assert axis[0] < -0.7 and side * axis[1] > 0.6  # backwards, to its side
        assert (rig[name].width, rig[name].height) == (640, 295)
    with pytest.raises(ValueError, match="unknown rig"):
        waymo_like_rig(rig="fisheye")


@pytest.mark.parametrize(
    "name, yaw_deg",
    [
        ("FRONT", 0),
        ("FRONT_LEFT", 45),
        ("FRONT_RIGHT", -45),
        ("SIDE_LEFT", 90),
        ("SIDE_RIGHT", -90),
    ],
)
def test_cameras_look_where_their_yaw_says(name, yaw_deg):
    cam = _cam(name)
    mount = cam.vehicle_from_cam[:3, 3]
    yaw = np.radians(yaw_deg)
    target = mount + 10.0 * np.array([np.cos(yaw), np.sin(yaw), 0.0])
    (u, v), z = cam.project(target[None])[0][0], cam.project(target[None])[1][0]
    assert z > 9.0
    assert abs(u - cam.width / 2) < 0.03 * cam.width
    assert 0 <= v < cam.height
    # A point 90 degrees further left is outside this camera's view.
    side = mount + 10.0 * np.array([np.cos(yaw + np.pi / 2), np.sin(yaw + np.pi / 2), 0.0])
    (u2, _), z2 = cam.project(side[None])[0][0], cam.project(side[None])[1][0]
    assert z2 < 1.0 or not 0 <= u2 < cam.width


def test_left_point_is_in_side_left_and_left_of_front_centre():
    p = np.array([[1.5, 10.0, 2.0]])
    uv, z = _cam("SIDE_LEFT").project(p)
    assert z[0] > 0 and 0 <= uv[0, 0] < 640 and 0 <= uv[0, 1] < 295
    uv, z = _cam("FRONT").project(np.array([[20.0, 3.0, 2.0]]))  # ahead and a bit left
    assert z[0] > 0 and uv[0, 0] < 320


def test_lidar_spec_rays():
    spec = LidarSpec()
    d = spec.ray_directions()
    assert d.shape == (64, 1024, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0)
    el = np.degrees(np.arcsin(d[:, 0, 2]))
    assert np.isclose(el[0], 2.4) and np.isclose(el[-1], -17.6) and np.all(np.diff(el) < 0)
    mid = d[0, spec.azimuth_samples // 2]  # the middle column looks forward
    assert mid[0] > 0.99
    assert d[0, spec.azimuth_samples // 2 + 10, 1] < 0  # azimuth decreases to the right
    assert spec.max_range == 75.0 and spec.beams == 64


@pytest.mark.parametrize("tod", TIMES_OF_DAY)
def test_sample_lighting(tod):
    lamps = np.array([[10.0, 5.0, 6.0], [30.0, -5.0, 6.0]])
    a = sample_lighting(np.random.default_rng(4), tod, lamps)
    b = sample_lighting(np.random.default_rng(4), tod, lamps)
    np.testing.assert_array_equal(a.sun_color, b.sun_color)
    assert np.isclose(np.linalg.norm(a.sun_direction), 1.0) and a.sun_direction[2] > 0
    elevation = np.degrees(np.arcsin(a.sun_direction[2]))
    if tod == "day":
        assert elevation > 30 and len(a.light_positions) == 0 and a.shadows
        assert a.emissive_gain < 0.5
    elif tod == "dusk":
        assert 2 <= elevation <= 12 and len(a.light_positions) == 2 and a.shadows
    else:
        assert len(a.light_positions) == 2 and not a.shadows
        assert a.sun_color.max() < 0.1 and a.emissive_gain > 1.0
        assert np.all(a.light_colors[:, 0] >= a.light_colors[:, 2])  # warm lamps
    with pytest.raises(ValueError):
        sample_lighting(np.random.default_rng(0), "noon", lamps)


def _linear_frame(lighting, seed=0):
    """A plausible linear radiance frame: sky on top, lit grey ground below."""
    rng = np.random.default_rng(seed)
    img = np.empty((60, 80, 3), np.float32)
    img[:20] = lighting.sky_horizon
    ground = 0.3 * (lighting.sun_color * 0.7 + lighting.sky_color)
    img[20:] = ground * rng.uniform(0.8, 1.2, size=(40, 80, 1))
    return img


def test_sensor_is_deterministic_and_night_is_darker():
    day = sample_lighting(np.random.default_rng(1), "day")
    night = sample_lighting(np.random.default_rng(1), "night")
    frame = _linear_frame(day)
    a = apply_sensor(frame, np.random.default_rng(7), day)
    b = apply_sensor(frame, np.random.default_rng(7), day)
    assert a.dtype == np.uint8 and a.shape == frame.shape
    np.testing.assert_array_equal(a, b)
    n = apply_sensor(_linear_frame(night), np.random.default_rng(7), night)
    assert n.mean() < 0.6 * a.mean()
    assert n.mean() > 3  # dark, not black
    assert not np.array_equal(a, apply_sensor(frame, np.random.default_rng(8), day))
