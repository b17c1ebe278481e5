"""compose_frame on an analytic frame: a nearer object occludes the asset, the asset shows
elsewhere with the brightness rule applied, and boxes / ids are updated."""

import dataclasses

import numpy as np
from compose.conftest import COLOUR, OCCLUDER_ID, RADIUS, SPHERE_CENTRE
from scipy.ndimage import binary_dilation

from gina3d.assets.compose import ComposeConfig, compose_frame
from gina3d.assets.frame_camera import luminance
from gina3d.geometry.cameras import camera_rays, pixel_centres
from gina3d.geometry.transforms import invert, pose_from_xyz_yaw

NEW_ID = 4  # one more than the frame's largest id (the wall, 3)


def sphere_miss(cam, centre) -> np.ndarray:
    """[H,W] distance from the sphere's centre to each pixel's ray, in radii."""
    o, d = camera_rays(cam.K, invert(cam.vehicle_from_cam), pixel_centres(cam.height, cam.width))
    rel = np.asarray(centre) - o
    along = (rel * d).sum(-1, keepdims=True)
    return np.linalg.norm(rel - along * d, axis=-1) / RADIUS


def test_nearer_object_occludes_the_asset(occluded_frame, sphere, sphere_pose):
    cam = occluded_frame.cameras[0]
    plain = ComposeConfig(brightness="none")
    res = compose_frame(occluded_frame, "FRONT", [(sphere, sphere_pose, None)], cfg=plain)
    miss = sphere_miss(cam, SPHERE_CENTRE)
    behind_pole = (miss < 1.0) & (cam.instance == OCCLUDER_ID)
    core = (miss < 0.9) & (cam.instance != OCCLUDER_ID)
    assert behind_pole.sum() > 20 and core.sum() > 50  # both parts are substantial
    # hidden where the nearer pole is: its id and its colour stay
    assert (res.instance[behind_pole] == OCCLUDER_ID).all()
    assert (res.image[behind_pole] == cam.image[behind_pole]).all()
    # visible elsewhere: the new id and the asset's own colour (gain 1)
    assert (res.instance[core] == NEW_ID).all()
    expected = np.round(np.array(COLOUR) * 255)
    assert np.abs(res.image[core].astype(float) - expected).max() <= 2
    # nothing changes outside the silhouette (up to its soft rim)
    far = miss > 1.2
    assert (res.image[far] == cam.image[far]).all() and (
        res.instance[far] == cam.instance[far]
    ).all()
    (rep,) = res.inserted
    assert rep["status"] == "ok" and rep["instance_id"] == NEW_ID
    assert rep["pixels"]["occluded"] >= behind_pole.sum() - 10
    assert rep["pixels"]["visible"] == int((res.instance == NEW_ID).sum())
    # depth: the sphere's front surface where it shows (camera z of the nearest point)
    assert np.all(res.depth[core] < cam.depth[core]) and np.all(res.depth[core] > 8.5)
    new = res.boxes[-1]
    assert len(res.boxes) == len(occluded_frame.boxes) + 1
    assert new.instance_id == NEW_ID and np.allclose(new.size, 2.0)
    assert np.allclose(new.vehicle_from_obj, sphere_pose)


def test_brightness_matches_same_class_objects_and_stays_in_range(
    occluded_frame, sphere, sphere_pose
):
    cam = occluded_frame.cameras[0]
    res = compose_frame(occluded_frame, "FRONT", [(sphere, sphere_pose, None)])
    bright = res.inserted[0]["brightness"]
    ids = [b.instance_id for b in occluded_frame.boxes if b.cls == "vehicle"]
    target = luminance(cam.image[np.isin(cam.instance, ids)] / 255.0).mean()
    gain = np.clip(target / luminance(np.array(COLOUR)), 0.33, 3.0)
    assert bright["rule"] == "objects" and np.isclose(bright["gain"], gain)
    core = (sphere_miss(cam, SPHERE_CENTRE) < 0.9) & (cam.instance != OCCLUDER_ID)
    expected = np.round(np.clip(np.array(COLOUR) * gain, 0, 1) * 255)
    assert np.abs(res.image[core].astype(float) - expected).max() <= 2
    # too few same-class pixels: the frame around the box decides
    cfg = ComposeConfig(min_class_pixels=10**9)
    res = compose_frame(occluded_frame, "FRONT", [(sphere, sphere_pose, None)], cfg=cfg)
    assert res.inserted[0]["brightness"]["rule"] == "surround"


def test_lidar_depth_stands_in_for_missing_dense_depth(occluded_frame, sphere, sphere_pose):
    cam = dataclasses.replace(occluded_frame.cameras[0], depth=None)
    frame = dataclasses.replace(occluded_frame, cameras=[cam])
    res = compose_frame(frame, "FRONT", [(sphere, sphere_pose, None)])
    miss = sphere_miss(cam, SPHERE_CENTRE)
    pole = cam.instance == OCCLUDER_ID
    behind_pole = (miss < 1.0) & pole
    # LiDAR points cover a few pixels around them: stay clear of the pole's edges
    core = (miss < 0.9) & ~binary_dilation(pole, iterations=3)
    assert (res.instance[behind_pole] == OCCLUDER_ID).mean() > 0.9
    assert core.sum() > 50 and (res.instance[core] == NEW_ID).all()
    assert res.depth is None


def test_nearer_asset_hides_farther_one_and_off_screen_boxes(occluded_frame, sphere, sphere_pose):
    cam = occluded_frame.cameras[0]
    near = pose_from_xyz_yaw(np.array([8.0, -0.8, 1.0]), 0.0)
    behind = pose_from_xyz_yaw(np.array([-10.0, 0.0, 1.0]), 0.0)
    aside = pose_from_xyz_yaw(np.array([5.0, 40.0, 1.0]), 0.0)
    assets = [(sphere, pose, None) for pose in (sphere_pose, near, behind, aside)]
    res = compose_frame(occluded_frame, "FRONT", assets, cfg=ComposeConfig(brightness="none"))
    both = (sphere_miss(cam, SPHERE_CENTRE) < 0.9) & (sphere_miss(cam, near[:3, 3]) < 0.9)
    assert both.sum() > 20 and (res.instance[both] == NEW_ID + 1).all()
    assert [r["status"] for r in res.inserted] == ["ok", "ok", "behind_camera", "out_of_view"]
    assert [b.instance_id for b in res.boxes[-4:]] == [NEW_ID + k for k in range(4)]


def test_sdf_asset_composites_at_its_surface_depth(occluded_frame, sphere_pose):
    """An sdf asset's depth is its zero level's: camera z of the sphere's front surface
    within 1 cm, where the expected depth of a soft render would sit behind it."""
    from compose.test_lidar_sim import sdf_sphere_field

    cam = occluded_frame.cameras[0]
    res = compose_frame(
        occluded_frame, "FRONT", [(sdf_sphere_field(), sphere_pose, None)],
        cfg=ComposeConfig(brightness="none"),
    )  # fmt: skip
    o, d = camera_rays(cam.K, invert(cam.vehicle_from_cam), pixel_centres(cam.height, cam.width))
    rel = np.asarray(SPHERE_CENTRE) - o
    along = (rel * d).sum(-1)
    disc = along**2 - ((rel * rel).sum(-1) - RADIUS**2)
    hit = along - np.sqrt(np.maximum(disc, 0))  # [H,W] ray distance to the front surface
    z = hit * (d @ cam.vehicle_from_cam[:3, 2])  # camera z of the hit
    core = (sphere_miss(cam, SPHERE_CENTRE) < 0.9) & (cam.instance != OCCLUDER_ID)
    assert core.sum() > 50 and (res.instance[core] == NEW_ID).all()
    assert np.abs(res.depth[core] - z[core]).max() < 0.01
