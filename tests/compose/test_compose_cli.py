"""gina3d compose round trip: an asset folder from the tiny stage-1 run, a saved frame."""

import json

import numpy as np
import pytest
import torch
import trimesh
from assets.conftest import shaped_stage1
from compose.conftest import OCCLUDER_ID
from PIL import Image

from gina3d.assets.asset_io import AssetContents, AssetOptions, save_asset
from gina3d.cli.compose import main as compose_main
from gina3d.data.frame_io import save_frame
from gina3d.geometry.boxes import points_in_box
from gina3d.geometry.transforms import apply, invert, pose_from_xyz_yaw
from gina3d.models.config import tiny_model_config


@pytest.fixture(scope="module")
def asset_dir(tmp_path_factory, stage1_run):
    model = shaped_stage1()
    cfg = tiny_model_config(16)
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, cfg.codebook_size, (cfg.num_tokens,), generator=g)
    out = tmp_path_factory.mktemp("compose") / "asset"
    small = AssetOptions(views=1, image_size=16, mesh_resolution=16)
    save_asset(out, model, stage1_run, AssetContents(tokens, (4.0, 2.0, 1.5), "vehicle", 0), small)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, occluded_frame):
    root = tmp_path_factory.mktemp("compose") / "data"
    save_frame(root, occluded_frame)
    return root


def run(dataset, asset_dir, out, *extra):
    args = ["--frames", str(dataset), "--frame", "scene-00000:0", "--camera", "FRONT"]
    args += ["--asset", str(asset_dir), "--box", "10,0,0.75,0.3", "--out", str(out)]
    return compose_main([*args, "--threads", "1", *extra])


def test_cli_writes_image_mask_boxes_and_lidar(tmp_path, dataset, asset_dir, occluded_frame):
    out = tmp_path / "out"
    extra = ["--asset", str(asset_dir), "--box", "8,-2,0.6,0", "--size", "3.2,1.6,1.2"]
    assert run(dataset, asset_dir, out, *extra, "--lidar") == 0
    names = {"image.png", "instance.png", "boxes.json", "lidar.npz", "lidar.ply", "compose.json"}
    assert names <= {p.name for p in out.iterdir()}
    cam = occluded_frame.cameras[0]
    image = np.asarray(Image.open(out / "image.png"))
    mask_png = Image.open(out / "instance.png")
    assert image.shape == cam.image.shape and mask_png.mode.startswith("I")
    mask = np.asarray(mask_png).astype(np.int64)
    assert ((mask == 4).sum() > 0) and ((mask == 5).sum() > 0)
    pole = cam.instance == OCCLUDER_ID
    assert (mask[pole] == OCCLUDER_ID).all()  # nothing drawn over the nearer pole
    boxes = json.loads((out / "boxes.json").read_text())["boxes"]
    assert [b["inserted"] for b in boxes] == [False] * 3 + [True] * 2
    assert boxes[3]["size"] == [4.0, 2.0, 1.5] and boxes[4]["size"] == [3.2, 1.6, 1.2]
    assert boxes[3]["center"] == [10.0, 0.0, 0.75] and boxes[3]["yaw"] == 0.3
    summary = json.loads((out / "compose.json").read_text())
    assert [a["status"] for a in summary["assets"]] == ["ok", "ok"]
    assert summary["assets"][0]["pixels"]["visible"] == int((mask == 4).sum())
    lidar = np.load(out / "lidar.npz")
    new = lidar["points"][lidar["inserted"]].astype(np.float64)
    assert summary["lidar"]["added"] == len(new) > 0
    assert summary["lidar"]["beams"] == "points+grid"  # a box-world frame has no rig spec
    pose = pose_from_xyz_yaw(np.array([10.0, 0.0, 0.75]), 0.3)
    first = lidar["instance"][lidar["inserted"]] == 4
    assert points_in_box(apply(invert(pose), new[first]), [4.0, 2.0, 1.5], margin=1e-3).all()
    cloud = trimesh.load(out / "lidar.ply")
    assert len(cloud.vertices) == len(lidar["points"])


def test_cli_warns_for_a_box_behind_the_camera(tmp_path, dataset, asset_dir, capsys):
    out = tmp_path / "o"
    args = ["--frames", str(dataset / "frames"), "--frame", "scene-00000:0"]
    args += ["--asset", str(asset_dir), "--box", "-8,0,0.75,0", "--out", str(out), "--lidar"]
    assert compose_main(args) == 0
    assert "behind the camera" in capsys.readouterr().err
    assert (out / "lidar.npz").exists()
    summary = json.loads((out / "compose.json").read_text())
    assert summary["assets"][0]["status"] == "behind_camera"


@pytest.mark.parametrize(
    ("frame", "box", "extra", "message"),
    [
        ("scene-00009:0", "10,0,0.75,0", [], "no such frame"),
        ("scene0", "10,0,0.75,0", [], "expected SCENE:INDEX"),
        ("scene-00000:0", "1,2,3", [], "expected four numbers"),
        ("scene-00000:0", "1,2,3,x", [], "expected four numbers"),
        ("scene-00000:0", "10,0,0.75,0", ["--camera", "REAR"], "not in this frame"),
        ("scene-00000:0", "10,0,0.75,0", ["--size", "1,-1,1"], "positive lengths"),
    ],
)
def test_cli_bad_input_is_one_line(
    tmp_path, dataset, asset_dir, capsys, frame, box, extra, message
):
    args = ["--frames", str(dataset), "--frame", frame, "--out", str(tmp_path)]
    assert compose_main([*args, "--asset", str(asset_dir), "--box", box, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_box_needs_an_asset(tmp_path, dataset, capsys):
    with pytest.raises(SystemExit) as e:
        args = ["--frames", str(dataset), "--frame", "scene-00000:0", "--out", str(tmp_path)]
        compose_main([*args, "--box", "1,2,3,4"])
    assert e.value.code == 2 and "must follow an --asset" in capsys.readouterr().err


def test_cli_warns_for_an_asset_with_no_visible_pixel(tmp_path, dataset, asset_dir, capsys):
    out = tmp_path / "far"
    args = ["--frames", str(dataset), "--frame", "scene-00000:0", "--camera", "FRONT"]
    args += ["--asset", str(asset_dir), "--box", "400,0,0.75,0", "--out", str(out)]
    assert compose_main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "compose.json").read_text())
    assert summary["assets"][0]["status"] == "ok"
    assert summary["assets"][0]["pixels"]["visible"] == 0
    assert "in view but 0 pixels visible" in captured.err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args[-1] = str(blocker / "o")
    assert compose_main(args) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
