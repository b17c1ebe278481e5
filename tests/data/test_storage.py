import json
import os
from typing import ClassVar

import numpy as np
import pytest
import torch
from boxworld import BoxWorldSource

from gina3d.data.build import BuildConfig, assign_splits, build_dataset
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig
from gina3d.data.schema import decode_row, encode_record
from gina3d.data.shards import load_manifest, read_columns
from gina3d.data.stats import dataset_stats
from gina3d.errors import Gina3dError

CFG = BuildConfig(
    patches=PatchConfig(resolution=16),
    filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
    scenes_per_shard=2,
    workers=1,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    build_dataset(BoxWorldSource(6), root, CFG, seed=0)
    return root


def test_schema_round_trip(dataset):
    ds = PatchDataset(dataset, split=None)
    rec = ds.record(0)
    back = decode_row(encode_record(rec))
    for name, value in vars(rec).items():
        other = getattr(back, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other, err_msg=name)
        else:
            assert value == other, name


def test_manifest_counts_and_scene_splits(dataset):
    m = load_manifest(dataset)
    assert m["num_patches"] == sum(m["per_split"].values()) > 0
    t = read_columns(dataset, ["scene_id", "split", "object_id"]).to_pydict()
    split_of_scene = {}
    for scene, split in zip(t["scene_id"], t["split"]):
        assert split_of_scene.setdefault(scene, split) == split  # a scene lives in one split
    assert {"train", "val", "test"} <= set(split_of_scene.values())


def test_split_assignment_is_seeded_and_exact():
    ids = [f"s{i}" for i in range(40)]
    a, b = assign_splits(ids, (0.8, 0.1, 0.1), 3), assign_splits(ids, (0.8, 0.1, 0.1), 3)
    assert a == b and sorted(a.values()).count("test") == 4
    assert assign_splits(ids, (0.8, 0.1, 0.1), 4) != a


def test_torch_dataset_yields_tensors(dataset):
    ds = PatchDataset(dataset, split="train", max_lidar_points=64)
    item = ds[0]
    assert item["rgb"].shape == (3, 16, 16) and item["rgb"].dtype == torch.float32
    masks = item["object_mask"] + item["occluder_mask"] + item["background_mask"]
    assert torch.all(masks == 1)
    assert item["ray_direction"].shape == (16, 16, 3)
    assert item["lidar_points"].shape == (64, 3) and item["lidar_valid"].any()
    assert "amodal_mask" not in item  # training never sees the amodal ground truth
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1)))
    assert batch["rgb"].shape == (2, 3, 16, 16)
    assert "amodal_mask" in PatchDataset(dataset, split="train", include_amodal=True)[0]


def test_same_seed_same_dataset(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build_dataset(BoxWorldSource(3), a, CFG, seed=1)
    build_dataset(BoxWorldSource(3), b, CFG, seed=1)
    ta = read_columns(a, ["patch_id", "rgb", "masks", "split"])
    tb = read_columns(b, ["patch_id", "rgb", "masks", "split"])
    assert ta.equals(tb)


class Crash(BoxWorldSource):
    """Dies in the middle of the build, after some shards are written."""

    def frames(self, scene_id):
        if scene_id == "scene-00004":
            raise RuntimeError("killed")
        return super().frames(scene_id)


class CountingSource(BoxWorldSource):
    calls: ClassVar[list] = []

    def frames(self, scene_id):
        CountingSource.calls.append(scene_id)
        return super().frames(scene_id)


def test_killed_build_leaves_no_readable_dataset_and_resumes(tmp_path):
    root = tmp_path / "ds"
    with pytest.raises(RuntimeError):
        build_dataset(Crash(6), root, CFG, seed=0)
    with pytest.raises(Gina3dError, match="did not finish"):
        PatchDataset(root)
    assert not list(root.glob("shards/.*tmp"))  # no temporary half-files left behind
    done_before = sorted(p.name for p in root.glob("shards/*.parquet"))
    assert done_before  # shards finished before the crash are kept
    killed = root / "shards" / ".train-00002.parquet.k1ll3d.tmp"  # what SIGKILL leaves
    killed.write_bytes(b"PAR1")
    CountingSource.calls = []
    manifest = build_dataset(CountingSource(6), root, CFG, seed=0)
    assert not list(root.glob("shards/.*tmp"))  # the resumed build removed it
    # only the scenes of unfinished shards were rebuilt
    assert 0 < len(CountingSource.calls) < 6
    assert manifest["num_patches"] == len(PatchDataset(root, split=None))


def test_resume_refuses_other_settings(tmp_path):
    build_dataset(BoxWorldSource(3), tmp_path, CFG, seed=0)
    with pytest.raises(Gina3dError, match=r"other settings.*seed"):
        build_dataset(BoxWorldSource(3), tmp_path, CFG, seed=1)


def test_missing_and_corrupt_shards_and_versions(tmp_path, dataset):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    shard = root / load_manifest(root)["shards"][0]["path"]
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(Gina3dError, match=f"{shard}: corrupt shard"):
        dataset_stats(root)
    shard.write_bytes(b"x" * len(data))  # same size, garbage content
    with pytest.raises(Gina3dError, match=f"{shard}: corrupt shard"):
        dataset_stats(root)
    shard.unlink()
    with pytest.raises(Gina3dError, match=f"{shard}: shard listed in manifest.json is missing"):
        PatchDataset(root, split=None)
    m = json.loads((root / "manifest.json").read_text())
    m["schema_version"] = 99
    (root / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(Gina3dError, match="schema version 99"):
        load_manifest(root)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(Gina3dError, match="not valid JSON"):
        load_manifest(root)


def test_empty_dataset_and_unknown_split(tmp_path, dataset):
    with pytest.raises(Gina3dError, match="no split 'bogus'"):
        PatchDataset(dataset, split="bogus")
    strict = BuildConfig(
        patches=PatchConfig(resolution=16), filters=FilterConfig(max_distance=1), workers=1
    )
    build_dataset(BoxWorldSource(3), tmp_path / "empty", strict, seed=0)
    with pytest.raises(Gina3dError, match="empty"):
        dataset_stats(tmp_path / "empty")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(Gina3dError, match="not writable"):
        build_dataset(BoxWorldSource(2), ro / "ds", CFG, seed=0)


def test_unwritable_output_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Gina3dError, match="not writable"):
        build_dataset(BoxWorldSource(2), blocker / "ds", CFG, seed=0)


@pytest.mark.parametrize(
    "manifest, message",
    [
        ("[1, 2]", "not a gina3d patch dataset manifest"),
        (lambda m: {k: v for k, v in m.items() if k != "shards"}, "needs a 'shards' list"),
        (lambda m: {**m, "shards": {"a": 1}}, "needs a 'shards' list"),
        (lambda m: {**m, "shards": [{"path": 3}]}, "needs a 'shards' list"),
        (lambda m: {**m, "resolution": "64"}, "no integer 'resolution'"),
    ],
)
def test_damaged_manifests_are_one_line_errors(tmp_path, dataset, manifest, message):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    m = json.loads((root / "manifest.json").read_text())
    text = manifest if isinstance(manifest, str) else json.dumps(manifest(m))
    (root / "manifest.json").write_text(text)
    for read in (load_manifest, PatchDataset, dataset_stats):
        with pytest.raises(Gina3dError, match=message):
            read(root)


def test_a_directory_that_is_no_dataset_is_told_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Gina3dError, match="not a gina3d dataset .* gina3d synth --out DIR"):
        load_manifest(tmp_path / "empty")
    (tmp_path / "empty" / "shards").mkdir()  # a build that did not finish
    with pytest.raises(Gina3dError, match="the build did not finish"):
        load_manifest(tmp_path / "empty")
