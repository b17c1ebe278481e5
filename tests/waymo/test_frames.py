"""Raw v2 logs -> frames -> patches with the shared extraction code, against the scene written."""

import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.spatial import cKDTree
from waymo.wod_frames import VEHICLE_FROM_CAMERA, write_frames

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.filters import FilterConfig, FilterCounts
from gina3d.data.patches import PatchConfig
from gina3d.data.schema import OBJECT
from gina3d.data.sources.waymo.frames import FrameConfig, WaymoFrameSource, frame_records
from gina3d.data.sources.waymo.instances import UNMATCHED
from gina3d.data.sources.waymo.layout import scan_frames
from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import project
from gina3d.geometry.transforms import OPENCV_FROM_FLU, apply, invert

CFG = FrameConfig(
    patches=PatchConfig(resolution=32),
    filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw") / "wod"
    renders = write_frames(root, frames=3, labelled=(0, 2))
    return root, renders


def test_frames_carry_the_scene_in_gina3d_conventions(logs):
    root, renders = logs
    layout = scan_frames(root)
    source = WaymoFrameSource(layout, CFG)
    frames = list(source.frames(layout.segments[0]))
    assert [f.frame_index for f in frames] == [0, 2]  # frame 1 has no segmentation
    frame, r = frames[0], renders[0]
    assert frame.time_of_day == "night" and [b.object_id[:3] for b in frame.boxes] == ["car", "ped"]
    np.testing.assert_allclose(frame.world_from_vehicle[:3, 3], [100.0, 5.0, 0.0])
    # LiDAR: every generated point, in the vehicle frame
    assert len(frame.lidar_points) == len(r["points"])
    assert cKDTree(r["points"]).query(frame.lidar_points)[0].max() < 1e-4
    # camera: OpenCV frame; the car's centre projects onto the car's pixels
    (cam,) = frame.cameras
    np.testing.assert_allclose(cam.vehicle_from_cam, VEHICLE_FROM_CAMERA @ invert(OPENCV_FROM_FLU))
    car = frame.boxes[0]
    p_cam = apply(invert(cam.vehicle_from_cam), car.vehicle_from_obj[:3, 3])
    assert p_cam[2] > 5
    (u, v), _ = project(cam.K, p_cam)
    assert r["instance"][int(v), int(u)] == 1
    # instances: segments tied to their boxes by LiDAR votes; the unlabelled car stays apart
    for box in frame.boxes:
        np.testing.assert_array_equal(
            cam.instance == box.instance_id, r["instance"] == box.instance_id
        )
    assert (cam.instance[r["instance"] == 3] >= UNMATCHED).all()
    assert (cam.instance[r["instance"] == 9] == 0).all()  # the road is stuff


def test_patches_from_frames(logs, tmp_path):
    root, _ = logs
    layout = scan_frames(root)
    report, filters = {}, FilterCounts()
    recs = list(frame_records(layout, layout.segments[0], CFG, report, filters))
    assert filters.kept == len(recs) == 4
    assert report["counts"]["frames_without_segmentation"] == 1
    car = [r for r in recs if r.cls == "vehicle"]
    assert all(r.occluded_pixels > 20 for r in car)  # the pedestrian stands in front of it
    for r in recs:
        assert r.source == "waymo_frames" and r.time_of_day == "night"
        assert r.object_pixels > 50 and len(r.lidar_points) > 50
        assert (r.lidar_depth[r.masks == OBJECT] > 0).sum() > 5
    # without projected_lidar_box and lidar_box speed columns: still patches, and reported
    partial = tmp_path / "partial"
    shutil.copytree(root, partial)
    shutil.rmtree(partial / "projected_lidar_box")
    boxes = next((partial / "lidar_box").glob("*.parquet"))
    table = pq.read_table(boxes)
    pq.write_table(table.drop([c for c in table.column_names if ".speed." in c]), boxes)
    layout = scan_frames(partial)
    assert "projected_lidar_box" in layout.missing
    report = {}
    again = list(frame_records(layout, layout.segments[0], CFG, report, FilterCounts()))
    assert len(again) == 4
    assert "[LiDARBoxComponent].speed.x" in report["missing_columns"]["lidar_box"]
    assert report["counts"]["range_images_null"] == 2  # return 2 is null in these files


def test_source_plugs_into_the_generic_builder(logs, tmp_path):
    root, _ = logs
    source = WaymoFrameSource(scan_frames(root), CFG)
    cfg = BuildConfig(
        workers=1, patches=CFG.patches, filters=CFG.filters, split_fractions=(1, 0, 0)
    )
    manifest = build_dataset(source, tmp_path / "d", cfg, seed=0)
    assert manifest["num_patches"] == 4 and manifest["source"] == "waymo_frames"
    assert (tmp_path / "d" / "waymo_reports" / f"{source.scene_ids()[0]}.json").exists()


def test_bad_roots(tmp_path):
    with pytest.raises(Gina3dError, match="no such directory"):
        scan_frames(tmp_path / "nothing")
    (tmp_path / "camera_image").mkdir()
    with pytest.raises(Gina3dError, match="missing component folders: camera_calibration"):
        scan_frames(tmp_path)
