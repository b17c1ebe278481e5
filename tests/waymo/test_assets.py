"""Object-asset conversion against the values written: pixels, masks, rays, LiDAR, reports."""

import json

import numpy as np
import pytest
from waymo.wod_writer import OCCLUDER_INSTANCE, Asset, scene, write_assets

from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.data.sources.waymo.asset_record import AssetConfig
from gina3d.data.sources.waymo.convert import ConvertConfig, convert_dataset
from gina3d.data.sources.waymo.layout import scan_assets
from gina3d.geometry.boxes import points_in_box, ray_box_intersect
from gina3d.geometry.cameras import camera_rays, intrinsics_matrix, pixel_centres
from gina3d.geometry.transforms import invert, pose_from_xyz_yaw

LOOSE = FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1)
REFINED_FROM_BOX = pose_from_xyz_yaw([0.05, -0.02, 0.0], 0.01)  # as wod_writer writes it


def convert(root, out, resolution=32, **kw):
    cfg = AssetConfig(resolution=resolution, filters=LOOSE, **kw)
    convert_dataset("assets", scan_assets(root), out, cfg, ConvertConfig(split="train"))
    ds = PatchDataset(out, split="train")
    return {ds.record(i).patch_id: ds.record(i) for i in range(len(ds))}


def segment_report(out, segment):
    return json.loads((out / "waymo_reports" / f"{segment}.json").read_text())


def test_square_patch_passes_through_unchanged(tmp_path):
    a = Asset(
        category="ped", size=(0.9, 0.8, 1.8), height=40, width=40, distance=6.0, occluder=True
    )
    r = write_assets(tmp_path / "wod", [a])[(a.segment, a.timestamp, a.object_id, a.camera)]
    recs = convert(tmp_path / "wod", tmp_path / "out", resolution=40)
    (rec,) = recs.values()
    assert rec.patch_id == f"{a.segment}/000/FRONT/{a.object_id}"
    assert (rec.cls, rec.time_of_day, rec.source) == ("pedestrian", "dusk", "waymo_assets")
    np.testing.assert_array_equal(rec.rgb, r["rgb"])
    np.testing.assert_array_equal(rec.ray_origin, r["origins"])
    np.testing.assert_array_equal(rec.ray_direction, r["directions"])
    # masks: the object from object_mask; the post in front is an occluder where it hides
    # the box, with or without a LiDAR return at the pixel; the rest is background
    _, _, hit = ray_box_intersect(r["origins"].astype(np.float64), r["directions"], a.size)
    post = r["instance"] == OCCLUDER_INSTANCE
    assert (post & hit).sum() > 20
    expected = np.where(r["object_mask"], OBJECT, np.where(post & hit, OCCLUDER, BACKGROUND))
    np.testing.assert_array_equal(rec.masks, expected)
    assert rec.occluded_pixels == int((post & hit).sum())
    np.testing.assert_allclose(rec.lidar_depth, np.where(r["object_mask"], r["dist"], 0.0))
    np.testing.assert_allclose(rec.lidar_points, r["points"][:-1], atol=1e-6)  # no ground point
    np.testing.assert_allclose(rec.box_size, a.size)
    np.testing.assert_allclose(rec.vehicle_from_obj, a.vehicle_from_box, atol=1e-9)
    K, cam_from_box = a.camera_pose()
    np.testing.assert_allclose(rec.intrinsics, [K[0, 0], K[1, 1], K[0, 2], K[1, 2]], atol=1e-3)
    np.testing.assert_allclose(rec.cam_from_obj, cam_from_box, atol=1e-5)
    np.testing.assert_allclose(rec.crop, [a.region_corner[0], a.region_corner[1], 40.0])
    # origin + distance x direction lands inside the box for every LiDAR-hit object pixel
    hits = rec.lidar_depth > 0
    assert hits.sum() > 20
    pts = rec.ray_origin[hits] + rec.lidar_depth[hits][:, None] * rec.ray_direction[hits]
    assert points_in_box(pts.astype(np.float64), a.size, margin=1e-3).all()


@pytest.mark.parametrize("old,compressed", [(False, False), (True, True)])
def test_resampled_vehicles_in_the_refined_frame(tmp_path, old, compressed):
    assets = scene(1, 4)
    rendered = write_assets(tmp_path / "wod", assets, old=old, compressed=compressed)
    recs = convert(tmp_path / "wod", tmp_path / "out", resolution=32)
    assert len(recs) == 4
    for a in assets:
        r = rendered[(a.segment, a.timestamp, a.object_id, a.camera)]
        rec = next(v for k, v in recs.items() if k.endswith(a.object_id))
        assert rec.resolution == 32 and rec.rgb.shape == (32, 32, 3)
        share = (rec.masks == OBJECT).mean()
        side = max(a.height, a.width)
        assert abs(share - r["object_mask"].sum() / side**2) < 0.05
        refined = REFINED_FROM_BOX if a.category == "veh" else np.eye(4)
        _, cam_from_box = a.camera_pose()
        np.testing.assert_allclose(rec.cam_from_obj, cam_from_box @ invert(refined), atol=1e-3)
        # the record's pinhole reproduces the (interpolated exact) rays inside the patch
        o, d = camera_rays(
            intrinsics_matrix(*rec.intrinsics), rec.cam_from_obj, pixel_centres(32, 32)
        )
        inside = np.ones((32, 32), bool)
        if a.height < a.width:  # padded rows come from the fitted camera anyway
            pad = int(np.ceil((a.width - a.height) / 2 * 32 / a.width)) + 1
            inside[:pad], inside[-pad:] = False, False
        assert np.abs(rec.ray_direction - d)[inside].max() < 2e-3
        assert np.abs(rec.ray_origin - o)[inside].max() < 2e-3
        hits = (rec.lidar_depth > 0) & (rec.masks == OBJECT)
        pts = rec.ray_origin[hits] + rec.lidar_depth[hits][:, None] * rec.ray_direction[hits]
        local = pts @ invert(refined)[:3, :3].T + invert(refined)[:3, 3]  # back to the label box
        assert points_in_box(local.astype(np.float64), a.size, margin=0.15).mean() > 0.95
        if a.category == "veh":
            box_from_vehicle = REFINED_FROM_BOX @ invert(a.vehicle_from_box)
            np.testing.assert_allclose(rec.vehicle_from_obj, invert(box_from_vehicle), atol=1e-6)


def test_old_compressed_layout_gives_the_same_records(tmp_path):
    assets = scene(1, 3)
    write_assets(tmp_path / "new", assets)
    write_assets(tmp_path / "old", assets, old=True, compressed=True)
    new = convert(tmp_path / "new", tmp_path / "out_new")
    old = convert(tmp_path / "old", tmp_path / "out_old")
    assert sorted(new) == sorted(old)
    for pid, a in new.items():
        b = old[pid]
        np.testing.assert_array_equal(a.rgb, b.rgb)
        assert (a.masks != b.masks).sum() <= 2
        assert np.abs(a.ray_direction - b.ray_direction).max() < 1e-4
        assert np.abs(a.ray_origin - b.ray_origin).max() < 1e-4
        np.testing.assert_allclose(a.intrinsics, b.intrinsics, rtol=1e-4)


def test_missing_parts_are_reported_with_counts(tmp_path):
    seg_a, seg_b = "3000_a", "3001_b"
    veh_a = Asset(segment=seg_a, object_id="va" * 11)
    ped_a = Asset(segment=seg_a, object_id="pa" * 11, category="ped", size=(0.8, 0.8, 1.8))
    veh_b = Asset(segment=seg_b, object_id="vb" * 11, camera=3)
    orphan_cs = Asset(segment=seg_a, object_id="oc" * 11, timestamp=1_100_000)
    orphan_al = Asset(segment=seg_a, object_id="oa" * 11, timestamp=1_200_000)
    write_assets(
        tmp_path / "wod",
        [veh_a, ped_a, veh_b],
        drop={"veh_asset_auto_label": ("[ObjectAssetAutoLabelComponent].instance_mask",)},
        skip=("lidar_sensor", "lidar_box"),
        extra_rows={"camera_sensor": [orphan_cs], "auto_label": [orphan_al]},
    )
    out = tmp_path / "out"
    recs = convert(tmp_path / "wod", out)
    assert len(recs) == 3
    m = json.loads((out / "manifest.json").read_text())["waymo"]
    assert "veh_asset_lidar_sensor" in m["missing_folders"] and "lidar_box" in m["missing_folders"]
    assert m["unmatched_rows"] == {"veh/camera_sensor": 1, "veh/auto_label": 1}
    assert m["missing_files"] == {"ped_asset_camera_sensor": 1}  # segment b has no pedestrians
    rep = segment_report(out, seg_a)["categories"]["veh"]
    assert rep["missing_columns"]["veh_asset_auto_label"] == [
        "[ObjectAssetAutoLabelComponent].instance_mask"
    ]
    assert rep["join"]["rows"] == {"camera_sensor": 2, "ray": 1, "auto_label": 2, "refined_pose": 1}
    assert rep["refined_pose_without_lidar_box"] == 1  # cannot relate the two box frames
    assert rep["box_size_from"] == {"class_prior": 1}  # no lidar_box, no LiDAR points
    report = json.loads((out / "waymo_report.json").read_text())
    assert report["rows"]["veh/camera_sensor"] == 3 and not report["failed_segments"]


def test_box_size_from_points_without_lidar_box(tmp_path):
    a = Asset(size=(4.0, 2.0, 1.6), azimuth=0.8)
    write_assets(tmp_path / "wod", [a], skip=("lidar_box",))
    (rec,) = convert(tmp_path / "wod", tmp_path / "out").values()
    rep = segment_report(tmp_path / "out", a.segment)["categories"]["veh"]
    assert rep["box_size_from"] == {"lidar_points": 1}
    assert np.all(rec.box_size <= np.array(a.size) + 1e-3)
    assert np.all(rec.box_size >= 0.7 * np.array(a.size))
    np.testing.assert_allclose(rec.vehicle_from_obj, np.eye(4))  # unknown without lidar_box


def test_two_cameras_share_one_lidar_row(tmp_path):
    a = Asset(camera=1, azimuth=0.5)
    b = Asset(camera=2, azimuth=0.9)  # same object and frame, another camera
    write_assets(tmp_path / "wod", [a, b])
    recs = convert(tmp_path / "wod", tmp_path / "out")
    assert sorted(r.camera for r in recs.values()) == ["FRONT", "FRONT_LEFT"]
    assert all(len(r.lidar_points) > 10 for r in recs.values())
    rep = segment_report(tmp_path / "out", a.segment)["categories"]["veh"]
    assert rep["join"]["rows"]["lidar_sensor"] == 1 and rep["join"]["rows"]["camera_sensor"] == 2


def test_tracks_group_one_object_across_frames_and_cameras(tmp_path):
    """Waymo object assets: segment + object id across frames and cameras form a track; the
    viewing directions in the box frame follow the cameras' azimuths."""
    from gina3d.data.stats import dataset_stats
    from gina3d.data.track_views import CrossViewDataset, frame_seconds
    from gina3d.data.tracks import group_tracks, track_keys, view_direction, view_spread_deg

    car = "car" + "c" * 19
    assets = [
        Asset(
            segment="seg-a",
            timestamp=1_000_000 + 100_000 * k,
            object_id=car,
            camera=1 + k % 2,
            azimuth=0.2 + 0.3 * k,
        )
        for k in range(4)
    ]
    assets.append(Asset(segment="seg-b", object_id=car, azimuth=1.0))  # same id, other segment
    write_assets(tmp_path / "wod", assets)
    recs = list(convert(tmp_path / "wod", tmp_path / "out").values())
    tracks = group_tracks(track_keys([r.scene_id for r in recs], [r.object_id for r in recs]))
    assert sorted(len(m) for m in tracks.values()) == [1, 4]
    (long,) = [m for m in tracks.values() if len(m) == 4]
    assert {recs[i].camera for i in long} == {"FRONT", "FRONT_LEFT"}
    dirs = view_direction(np.stack([recs[i].cam_from_obj for i in long]))
    # the cameras circle the box by 0.3 rad per frame, 15 degrees above the horizon
    assert view_spread_deg(dirs) == pytest.approx(np.degrees(0.9), abs=2.0)
    stats = dataset_stats(tmp_path / "out")["tracks"]["vehicle"]
    assert stats["num_tracks"] == 2 and stats["patches_in_wide_tracks"] == pytest.approx(0.8)
    ds = CrossViewDataset(PatchDataset(tmp_path / "out", split="train"), k=3)
    assert frame_seconds(ds.base.manifest) == 0.1
    for i in range(len(ds)):
        others = set(ds.candidates(i).tolist())
        key = (recs[i].scene_id, recs[i].object_id)
        assert others == {
            j for j in range(len(recs)) if j != i and (recs[j].scene_id, recs[j].object_id) == key
        }
