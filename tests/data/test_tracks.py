"""Tracks: grouping, viewing directions and spreads, on the box world and Waymo assets."""

import numpy as np
import pytest
import torch
from boxworld import TrackedBoxWorld

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig
from gina3d.data.stats import dataset_stats
from gina3d.data.track_views import CrossViewDataset, frame_seconds
from gina3d.data.tracks import (
    group_tracks,
    track_keys,
    track_stats,
    view_direction,
    view_spread_deg,
)
from gina3d.geometry.transforms import invert, pose_from_xyz_yaw

LOOSE = FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    cfg = BuildConfig(
        patches=PatchConfig(resolution=24),
        filters=LOOSE,
        scenes_per_shard=2,
        workers=1,
        split_fractions=(1.0, 0.0, 0.0),
    )
    build_dataset(TrackedBoxWorld(4, frames=4, turn_deg=20.0), root, cfg, seed=0)
    return root


def test_view_direction_and_spread():
    # a camera 10 m out along +x of the object, looking back at it
    obj_from_cam = pose_from_xyz_yaw([10.0, 0.0, 0.0], np.pi)
    d = view_direction(invert(obj_from_cam))
    np.testing.assert_allclose(d, [1.0, 0.0, 0.0], atol=1e-12)
    dirs = np.array([[1.0, 0, 0], [0, 1.0, 0], [np.cos(0.5), np.sin(0.5), 0]])
    assert view_spread_deg(dirs) == pytest.approx(90.0)
    assert view_spread_deg(dirs[:1]) == 0.0
    # batch form [N,4,4]
    many = np.stack(
        [invert(pose_from_xyz_yaw([5 * np.cos(a), 5 * np.sin(a), 0], 0)) for a in (0, 1)]
    )
    np.testing.assert_allclose(view_direction(many)[1], [np.cos(1), np.sin(1), 0], atol=1e-12)


def test_track_stats_counts_wide_patches():
    keys = [("s0", "a")] * 3 + [("s0", "b")] * 2 + [("s1", "a")]  # same object id, other scene
    yaws = [0, 10, 40, 0, 5, 0]  # degrees around the object: track a spans 40, b 5
    cams = np.stack(
        [
            invert(pose_from_xyz_yaw([np.cos(np.radians(y)), np.sin(np.radians(y)), 0], 0))
            for y in yaws
        ]
    )
    stats = track_stats(["vehicle"] * 6, keys, cams)["vehicle"]
    assert stats["num_tracks"] == 3
    assert stats["patches_in_wide_tracks"] == pytest.approx(3 / 6)
    assert stats["view_spread_deg"]["p50"] == pytest.approx(5.0)
    assert group_tracks(keys)[("s1", "a")] == [5]


def test_box_world_tracks_group_one_object_per_scene(tracked):
    ds = PatchDataset(tracked, split="train")
    recs = [ds.record(i) for i in range(len(ds))]
    tracks = group_tracks(track_keys([r.scene_id for r in recs], [r.object_id for r in recs]))
    # 4 scenes with a car, 2 of them with a pedestrian too; every frame sees them
    assert len(tracks) == 6
    for (scene, _obj), members in tracks.items():
        assert {recs[i].scene_id for i in members} == {scene}
        assert sorted(recs[i].frame_index for i in members) == [0, 1, 2, 3]
    # the car turns 20 degrees per frame: its views span 60 degrees about z
    car = tracks[("scene-00000", "o1")]
    spread = view_spread_deg(view_direction(np.stack([recs[i].cam_from_obj for i in car])))
    assert spread == pytest.approx(60.0, abs=1.5)
    stats = dataset_stats(tracked)["tracks"]
    assert stats["vehicle"]["patches_in_wide_tracks"] == 1.0
    assert stats["vehicle"]["observations_per_object"]["p50"] == 4


def test_cross_view_items(tracked):
    base = PatchDataset(tracked, split="train")
    assert frame_seconds(base.manifest) == 0.5
    ds = CrossViewDataset(base, k=2, max_gap_s=0.5, seed=0)
    recs = [base.record(i) for i in range(len(base))]
    for i in range(len(ds)):
        item = ds[i]
        src = recs[i]
        picked = [int(j) for j in item["view_index"] if j >= 0]
        assert len(picked) == int(item["view_valid"].sum())
        assert i not in picked
        for v, j in enumerate(picked):
            assert (recs[j].scene_id, recs[j].object_id) == (src.scene_id, src.object_id)
            torch.testing.assert_close(item["view_rgb"][v], base[j]["rgb"])
            torch.testing.assert_close(item["view_ray_origin"][v], base[j]["ray_origin"])
        if src.cls == "pedestrian":  # within 0.5 s: only the neighbouring frames
            assert all(abs(recs[j].frame_index - src.frame_index) <= 1 for j in picked)
        else:
            assert len(picked) == 2
        # the source keys are the plain dataset's item
        for key, value in base[i].items():
            torch.testing.assert_close(item[key], value)
    # padding: a pedestrian at frame 0 has one neighbour within 0.5 s
    ped0 = next(i for i, r in enumerate(recs) if r.cls == "pedestrian" and r.frame_index == 0)
    item = ds[ped0]
    assert item["view_valid"].tolist() == [True, False]
    assert item["view_index"][1] == -1 and float(item["view_rgb"][1].abs().sum()) == 0.0
    # epochs draw other views, the same epoch draws the same
    car = next(i for i, r in enumerate(recs) if r.cls == "vehicle")
    draws = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        first = ds.chosen(car).tolist()
        assert ds.chosen(car).tolist() == first
        draws.add(tuple(first))
    assert len(draws) > 1
    with pytest.raises(ValueError):
        CrossViewDataset(base, k=0)
