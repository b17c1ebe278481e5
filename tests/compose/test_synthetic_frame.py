"""The acceptance check on a real synthetic frame (``gina3d synth --save-frames``): an
analytic sphere placed behind one of the frame's cars is hidden where the car is nearer and
shows elsewhere; its LiDAR returns from the rig's own beams lie on its surface within 5 cm."""

import numpy as np
import pytest
from compose.conftest import RADIUS, SPHERE_SIZE, sphere_fn

from gina3d.assets.asset_field import FunctionField
from gina3d.assets.compose import ComposeConfig, compose_frame
from gina3d.assets.frame_camera import find_frame, lidar_spec_for, scene_distance
from gina3d.assets.lidar_sim import simulate_lidar
from gina3d.cli.synth import main as synth_main
from gina3d.geometry.boxes import points_in_box
from gina3d.geometry.cameras import camera_rays, pixel_centres
from gina3d.geometry.transforms import apply, invert, pose_from_xyz_yaw

TINY = ["--scenes", "1", "--frames", "1", "--camera-scale", "0.25", "--resolution", "32"]
TINY += ["--workers", "1", "--save-frames", "--seed", "0"]
TINY += ["--rig", "waymo", "--ego-speed", "3", "12", "--ego-stopped-share", "0.2"]  # counts below


@pytest.fixture(scope="module")
def synth_frame(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "data"
    assert synth_main(["--out", str(root), *TINY]) == 0
    return find_frame(root, "scene-00000:0")


def ray_sphere(cam, centre) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: distance of the sphere's centre from the ray in radii, and the distance
    along the ray to the sphere's near side (inf where the ray misses)."""
    o, d = camera_rays(cam.K, invert(cam.vehicle_from_cam), pixel_centres(cam.height, cam.width))
    rel = np.asarray(centre) - o
    along = (rel * d).sum(-1)
    miss = np.linalg.norm(rel - along[..., None] * d, axis=-1)
    near = along - np.sqrt(np.maximum(RADIUS**2 - miss**2, 0.0))
    return miss / RADIUS, np.where(miss < RADIUS, near, np.inf)


def placements(frame, cam):
    """Sphere poses 5 m behind a car in view, a little to either side, clear of every box."""
    eye = cam.vehicle_from_cam[:3, 3]
    for b in sorted(frame.boxes, key=lambda b: np.linalg.norm(b.vehicle_from_obj[:3, 3] - eye)):
        if b.cls != "vehicle" or (cam.instance == b.instance_id).sum() < 100:
            continue
        ahead = b.vehicle_from_obj[:3, 3] - eye
        ahead[2] = 0.0
        ahead /= np.linalg.norm(ahead)
        side = np.array([-ahead[1], ahead[0], 0.0])
        for offset in (1.0, -1.0, 1.6, -1.6):
            centre = b.vehicle_from_obj[:3, 3] + 5.0 * ahead + offset * side
            centre[2] = 1.0
            clear = all(
                not points_in_box(apply(invert(o.vehicle_from_obj), centre[None]), o.size, RADIUS)[
                    0
                ]
                for o in frame.boxes
            )
            if clear:
                yield b, pose_from_xyz_yaw(centre, 0.0)


def test_car_in_front_hides_the_sphere_and_lidar_hits_its_surface(synth_frame):
    frame, path = synth_frame
    cam = next(c for c in frame.cameras if c.name == "FRONT")
    sphere = FunctionField(sphere_fn, SPHERE_SIZE, samples=48, importance=48)
    for car, pose in placements(frame, cam):
        miss, near = ray_sphere(cam, pose[:3, 3])
        behind_car = (miss < 1.0) & (cam.instance == car.instance_id)
        res = compose_frame(frame, "FRONT", [(sphere, pose, None)], cfg=ComposeConfig())
        new_id = res.inserted[0]["instance_id"]
        if behind_car.sum() >= 20 and (res.instance == new_id).sum() >= 20:
            break
    else:
        pytest.fail("no spot behind a car in this frame")
    # hidden where the car is nearer: its id stays on every such pixel
    assert (res.instance[behind_car] == car.instance_id).all()
    assert (res.image[behind_car] == cam.image[behind_car]).all()
    # shown only where the scene is farther than the sphere's near side
    shown = res.instance == new_id
    assert (scene_distance(frame, cam)[shown] > near[shown] - 0.05).all()
    assert res.inserted[0]["pixels"]["occluded"] >= behind_car.sum() * 0.9

    lidar = simulate_lidar(frame, [(sphere, pose, None)], spec=lidar_spec_for(frame, path))
    assert lidar.beams == "spec" and lidar.added >= 10 and lidar.removed >= 10
    pts = apply(invert(pose), lidar.points[lidar.inserted].astype(np.float64))
    err = np.abs(np.linalg.norm(pts, axis=1) - RADIUS)
    print(f"\nsynthetic frame: {lidar.added} returns, surface error max {err.max() * 100:.3f} cm")
    assert err.max() < 0.05
