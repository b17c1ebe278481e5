import numpy as np
from boxworld import VEHICLE_FROM_CAM, K, box, make_frame

from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig, extract_frame_patches
from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.geometry.boxes import points_in_box, ray_box_intersect
from gina3d.geometry.cameras import points_to_pixels
from gina3d.geometry.transforms import apply, invert

CFG = PatchConfig(resolution=32)
LOOSE = FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1, max_truncation=0.9)


def patches_by_object(frame):
    recs, counts = extract_frame_patches(frame, CFG, LOOSE)
    return {r.object_id: r for r in recs}, counts


def test_unoccluded_car_masks_match_amodal_and_have_no_occluder():
    frame = make_frame([box(1, 12.0, 0.0, yaw=0.4)])
    recs, counts = patches_by_object(frame)
    rec = recs["o1"]
    assert counts.kept == 1 and counts.candidates == 1
    assert rec.occluded_pixels == 0 and not (rec.masks == OCCLUDER).any()
    assert rec.visibility > 0.95
    agree = (rec.amodal_mask == (rec.masks == OBJECT)).mean()
    assert agree > 0.97


def test_rays_follow_the_patch_camera_and_hit_the_box_on_object_pixels():
    frame = make_frame([box(1, 10.0, 1.0, yaw=-0.7)])
    rec = patches_by_object(frame)[0]["o1"]
    fx, fy, cx, cy = rec.intrinsics
    Kp = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    # every ray, followed for any distance, projects back to its own pixel centre
    pts = rec.ray_origin + 5.0 * rec.ray_direction
    uv, _z = points_to_pixels(Kp, rec.cam_from_obj, pts.reshape(-1, 3).astype(np.float64))
    rows, cols = np.mgrid[0:32, 0:32]
    np.testing.assert_allclose(uv[:, 0], cols.ravel() + 0.5, atol=1e-3)
    np.testing.assert_allclose(uv[:, 1], rows.ravel() + 0.5, atol=1e-3)
    # ray origins are the camera centre in the object frame
    cam_centre = invert(rec.cam_from_obj)[:3, 3]
    np.testing.assert_allclose(
        rec.ray_origin.reshape(-1, 3), cam_centre[None].repeat(1024, 0), atol=1e-4
    )
    _, _, hit = ray_box_intersect(
        rec.ray_origin.astype(float), rec.ray_direction.astype(float), rec.box_size
    )
    # object pixels are >= half covered: their centre ray meets the box for all but edge pixels
    assert hit[rec.masks == OBJECT].mean() > 0.95


def test_nearer_object_makes_occluder_pixels_and_lowers_visibility():
    car = box(1, 12.0, 0.0)
    ped = box(2, 6.0, 0.0, size=(0.6, 0.8, 1.8), cls="pedestrian")
    recs, _ = patches_by_object(make_frame([car, ped]))
    rec = recs["o1"]
    assert rec.occluded_pixels > 0 and (rec.masks == OCCLUDER).any()
    assert 0.3 < rec.visibility < 0.97
    # occluder pixels are where the amodal car is hidden (plus never on visible car pixels)
    assert not ((rec.masks == OCCLUDER) & (rec.masks == OBJECT)).any()
    assert (rec.amodal_mask & (rec.masks == OCCLUDER)).sum() == rec.occluded_pixels
    # the occluding pedestrian is itself unoccluded
    assert recs["o2"].occluded_pixels == 0


def test_object_behind_the_car_is_not_an_occluder_of_the_car():
    car = box(1, 8.0, 0.0)
    far = box(2, 20.0, 0.0, size=(4.0, 6.0, 3.0))
    rec = patches_by_object(make_frame([car, far]))[0]["o1"]
    assert rec.occluded_pixels == 0
    assert (rec.masks == BACKGROUND).any()


def test_truncated_object_marks_out_of_frame_pixels_unseen():
    car = box(1, 6.0, -3.2, yaw=0.0)  # far to the right: cut by the image border
    recs, _ = patches_by_object(make_frame([car]))
    rec = recs["o1"]
    assert rec.truncation > 0.05
    assert (rec.masks == OCCLUDER).any()  # outside the image counts as unobserved
    assert rec.visibility < 0.99


def test_lidar_points_lie_inside_their_box_and_depth_matches_rays():
    car = box(1, 10.0, 0.5, yaw=0.5)
    rec = patches_by_object(make_frame([car]))[0]["o1"]
    assert len(rec.lidar_points) > 20
    assert points_in_box(rec.lidar_points, rec.box_size, margin=1e-4).all()
    hit = rec.lidar_depth > 0
    assert hit.sum() > 5 and (rec.masks[hit] == OBJECT).all()
    # depth is the distance along the pixel ray: the point lies (nearly) inside the box surface
    pts = rec.ray_origin[hit] + rec.ray_direction[hit] * rec.lidar_depth[hit][:, None]
    assert points_in_box(pts, rec.box_size, margin=0.15).all()


def test_filters_count_what_they_remove():
    boxes = [box(1, 12.0, 0.0), box(2, 80.0, 0.0), box(3, 40.0, 0.0, size=(0.3, 0.3, 0.3))]
    recs, counts = extract_frame_patches(make_frame(boxes), CFG, FilterConfig(max_distance=60))
    assert [r.object_id for r in recs] == ["o1"]
    assert counts.candidates == 3 and counts.kept == 1
    assert counts.removed["distance"] == 1 and counts.removed["min_size"] == 1


def test_objects_behind_the_camera_are_not_candidates():
    recs, counts = patches_by_object(make_frame([box(1, -10.0, 0.0), box(2, 12.0, 0.0)]))
    assert set(recs) == {"o2"} and counts.candidates == 1


def test_patch_camera_is_the_frame_camera_cropped():
    rec = patches_by_object(make_frame([box(1, 9.0, 0.0)]))[0]["o1"]
    np.testing.assert_allclose(rec.cam_from_obj, invert(VEHICLE_FROM_CAM) @ rec.vehicle_from_obj)
    x0, _y0, side = rec.crop
    fx, _, cx, _ = rec.intrinsics
    np.testing.assert_allclose(fx, K[0, 0] * 32 / side)
    np.testing.assert_allclose(cx, (K[0, 2] - x0) * 32 / side)
    centre = apply(rec.cam_from_obj, np.zeros(3))
    assert centre[2] > 0


def test_ground_under_the_object_is_never_an_occluder():
    # a car body raised 0.3 m above a slab whose top is 2 cm above the box floor (road
    # markings, a low curb): rays under the body meet the slab inside the box, short of its
    # far side, yet the ground cannot hide the car
    ground = box(0, 20.0, 0.0, size=(80.0, 40.0, 0.12))
    ground.vehicle_from_obj[2, 3] = -0.04  # top at z = 0.02
    car = box(1, 16.0, 0.0, size=(4.0, 2.0, 1.5))
    body = box(1, 16.0, 0.0, size=(4.0, 2.0, 1.2))
    body.vehicle_from_obj[2, 3] = 0.3 + 0.6
    frame = make_frame([ground, car], geometry=[ground, body])
    rec = next(r for r in extract_frame_patches(frame, CFG, LOOSE)[0] if r.object_id == "o1")
    assert not (rec.masks == OCCLUDER).any()
    assert (rec.masks == BACKGROUND).sum() > 100
    no_floor = PatchConfig(resolution=32, floor_tolerance=0.0)
    recs, _ = extract_frame_patches(frame, no_floor, LOOSE)
    assert (next(r for r in recs if r.object_id == "o1").masks == OCCLUDER).any()
