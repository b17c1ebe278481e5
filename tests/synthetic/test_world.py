"""The synthetic world end to end through the real rasteriser and LiDAR, on tiny settings."""

import json

import numpy as np
import pytest
import trimesh

from gina3d.cli.inspect import main as inspect_main
from gina3d.cli.synth import main as synth_main
from gina3d.data.dataset import PatchDataset
from gina3d.data.shards import read_columns
from gina3d.geometry.boxes import points_in_box

TINY = ["--scenes", "3", "--frames", "1", "--camera-scale", "0.25", "--resolution", "32"]
TINY += ["--workers", "1", "--min-crop-px", "12", "--min-object-pixels", "10"]
TINY += ["--rig", "waymo", "--ego-speed", "3", "12", "--ego-stopped-share", "0.2"]  # counts below


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    assert synth_main(["--out", str(root / "a"), "--seed", "5", *TINY]) == 0
    return root


def test_patches_have_vehicles_pedestrians_masks_and_lidar(built):
    ds = PatchDataset(built / "a", split=None, include_amodal=True)
    t = read_columns(built / "a", ["cls", "num_lidar_points", "visibility"]).to_pydict()
    assert {"vehicle", "pedestrian"} <= set(t["cls"])
    assert np.mean(np.asarray(t["num_lidar_points"]) > 0) > 0.5
    for i in range(0, len(ds), max(1, len(ds) // 10)):
        rec = ds.record(i)
        assert rec.object_mask.sum() >= 10
        # the visible object lies within its amodal silhouette (up to edge pixels)
        assert (rec.object_mask & ~rec.amodal_mask).sum() <= 0.1 * rec.object_mask.sum() + 2
        assert points_in_box(rec.lidar_points, rec.box_size, margin=1e-4).all()


def test_ground_truth_meshes_fit_their_boxes(built):
    ds = PatchDataset(built / "a", split=None)
    for i in range(0, len(ds), max(1, len(ds) // 5)):
        rec = ds.record(i)
        mesh = trimesh.load(built / "a" / "meshes" / f"{rec.object_id}.ply", process=False)
        np.testing.assert_allclose(mesh.extents, rec.box_size, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(mesh.bounds.mean(0), 0.0, atol=1e-4)


def test_same_seed_same_dataset_other_seed_differs(built):
    assert synth_main(["--out", str(built / "b"), "--seed", "5", *TINY]) == 0
    assert synth_main(["--out", str(built / "c"), "--seed", "6", *TINY]) == 0
    cols = ["patch_id", "rgb", "masks", "lidar_points", "split"]
    a, b = read_columns(built / "a", cols), read_columns(built / "b", cols)
    assert a.equals(b)
    assert not a.equals(read_columns(built / "c", cols))


def test_rerun_resumes_and_inspect_reports(built, capsys):
    before = (built / "a" / "manifest.json").read_text()
    assert synth_main(["--out", str(built / "a"), "--seed", "5", *TINY]) == 0
    after = json.loads((built / "a" / "manifest.json").read_text())
    assert after["shards"] == json.loads(before)["shards"]  # nothing rebuilt
    capsys.readouterr()
    assert inspect_main([str(built / "a"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["num_patches"] == after["num_patches"] > 0
    assert sum(stats["vehicle_types"].values()) == stats["per_class"]["vehicle"]


def test_user_assets_join_the_world(tmp_path):
    folder = tmp_path / "assets" / "sedan"
    folder.mkdir(parents=True)
    box = trimesh.creation.box(extents=(4.2, 1.7, 1.3))
    box.visual.vertex_colors = np.tile([200, 30, 30, 255], (len(box.vertices), 1))
    box.export(str(folder / "red_block.ply"))
    args = ["--out", str(tmp_path / "ds"), "--seed", "1", *TINY]
    args += ["--assets", str(tmp_path / "assets"), "--user-asset-fraction", "1.0"]
    assert synth_main(args) == 0
    t = read_columns(tmp_path / "ds", ["cls", "subtype", "box_size"]).to_pydict()
    sizes = [s for c, s in zip(t["cls"], t["box_size"]) if c == "vehicle"]
    assert sizes and all(st == "sedan" for c, st in zip(t["cls"], t["subtype"]) if c == "vehicle")
    np.testing.assert_allclose(sizes, [[4.2, 1.7, 1.3]] * len(sizes), atol=1e-4)


def test_saved_frames_round_trip_and_worker_count_does_not_change_data(tmp_path):
    from gina3d.data.build import BuildConfig, build_dataset
    from gina3d.data.frame_io import frame_path, load_frame
    from gina3d.data.patches import PatchConfig
    from gina3d.data.sources.synthetic.world import SynthConfig, SyntheticSource

    cfg = SynthConfig(scenes=2, frames_per_scene=1, camera_scale=0.2)
    patches = PatchConfig(resolution=16)
    one = BuildConfig(workers=1, scenes_per_shard=1, save_frames=True, patches=patches)
    two = BuildConfig(workers=2, scenes_per_shard=1, patches=patches)
    build_dataset(SyntheticSource(cfg, 2), tmp_path / "one", one, seed=2)
    build_dataset(SyntheticSource(cfg, 2), tmp_path / "two", two, seed=2)
    cols = ["patch_id", "rgb", "masks"]
    assert read_columns(tmp_path / "one", cols).equals(read_columns(tmp_path / "two", cols))

    frame = load_frame(frame_path(tmp_path / "one", "scene-00000", 0))
    fresh = SyntheticSource(cfg, 2).frames("scene-00000")[0]
    assert [c.name for c in frame.cameras] == [c.name for c in fresh.cameras]
    for a, b in zip(frame.cameras, fresh.cameras):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.instance, b.instance)
        np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(frame.lidar_points, fresh.lidar_points)
    assert [b.object_id for b in frame.boxes] == [b.object_id for b in fresh.boxes]
