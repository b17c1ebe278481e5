"""Textured exports through save_asset and the commands: gina3d export, sample --export."""

import json
from dataclasses import replace

import numpy as np
import pytest

from gina3d.assets.asset_io import AssetContents, AssetOptions, load_asset, save_asset
from gina3d.assets.mesh_export import load_mesh
from gina3d.cli.export import main as export_main
from gina3d.cli.main import main as gina3d_main
from gina3d.cli.sample import main as sample_main
from gina3d.errors import Gina3dError

pytest.importorskip("pxr")
SIZE = [4.6, 1.9, 1.6]
FAST = AssetOptions(views=1, image_size=16, mesh_resolution=20)
TEX = ["--texture-size", "64", "--faces", "2000"]


@pytest.fixture
def asset_dir(tmp_path, stage1_run, model, tokens):
    contents = AssetContents(tokens[0], SIZE, "vehicle", 0)
    return save_asset(tmp_path / "car", model, stage1_run, contents, FAST)


def test_save_asset_writes_a_textured_mesh_and_exports(tmp_path, stage1_run, model, tokens):
    options = replace(FAST, mesh_texture="uv", texture_size=64, exports=("usd", "glb"))
    out = save_asset(tmp_path / "a", model, stage1_run, AssetContents(tokens[0], SIZE), options)
    names = {p.name for p in out.iterdir()}
    assert {"mesh.glb", "asset.glb", "asset.usda", "asset_texture.png"} <= names
    meta = json.loads((out / "asset.json").read_text())
    assert meta["mesh"]["texture"] == "uv" and meta["mesh"]["texture_size"] == 64
    assert meta["exports"]["usd"]["files"] == ["asset.usda", "asset_texture.png"]
    assert meta["exports"]["glb"]["bytes"] == (out / "asset.glb").stat().st_size
    mesh = load_mesh(out / "mesh.glb")
    assert mesh.visual.kind == "texture" and len(mesh.faces) == meta["mesh"]["faces"]
    np.testing.assert_allclose(mesh.bounds, meta["mesh"]["bounds_m"], atol=1e-4)
    # rewritten without exports: the old ones go, the vertex-coloured mesh is back
    out = save_asset(tmp_path / "a", model, stage1_run, AssetContents(tokens[0], SIZE), FAST)
    assert not {"asset.glb", "asset.usda", "asset_texture.png"} & {p.name for p in out.iterdir()}
    assert load_mesh(out / "mesh.glb").visual.kind == "vertex"
    assert json.loads((out / "asset.json").read_text())["exports"] == {}
    ply_uv = replace(FAST, mesh_format="ply", mesh_texture="uv")
    with pytest.raises(Gina3dError, match="GLB only"):
        save_asset(tmp_path / "b", model, stage1_run, AssetContents(tokens[0], SIZE), ply_uv)


def test_export_command_into_the_folder_and_out(tmp_path, asset_dir, capsys):
    assert gina3d_main(["export", str(asset_dir), "--format", "usd", *TEX]) == 0
    assert (asset_dir / "asset.usda").exists() and (asset_dir / "asset_texture.png").exists()
    assert "asset.usda" in capsys.readouterr().out
    load_asset(asset_dir)  # still a complete asset folder
    out = tmp_path / "out"
    args = [str(asset_dir), "--format", "glb,usd", "--usdz", "--out", str(out), *TEX]
    assert export_main(args) == 0
    assert {p.name for p in out.iterdir()} == {"car.glb", "car.usdz"}
    assert len(load_mesh(out / "car.glb").faces) <= 2000


def test_export_command_errors(tmp_path, stage1_run, asset_dir, model, tokens, capsys):
    def fails(args, message):
        assert export_main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err

    fails([str(tmp_path / "nope"), "--format", "glb"], "no such asset directory")
    fails([str(asset_dir), "--format", "fbx"], "unknown export format 'fbx'")
    fails([str(asset_dir), "--texture-size", "3"], "texture size must be")
    fails([str(asset_dir), str(asset_dir), "--out", str(tmp_path / "o")], "share a name")
    empty = replace(FAST, mesh_level=1e9)  # no density reaches it: a mesh of no faces
    path = save_asset(tmp_path / "e", model, stage1_run, AssetContents(tokens[0], SIZE), empty)
    fails([str(path), "--format", "usd"], "the mesh has no faces")
    assert not (path / "asset.usda").exists()


def test_sample_with_usd_export(tmp_path, stage2_run):
    fast = ["--views", "1", "--image-size", "16", "--mesh-resolution", "16", "--quiet", *TEX]
    args = ["--run", str(stage2_run), "--n", "1", "--out", str(tmp_path), *fast]
    assert sample_main([*args, "--export", "usd", "--mesh-texture", "uv"]) == 0
    folder = tmp_path / "asset_000"
    assert (folder / "mesh.glb").exists() and (folder / "asset.usda").exists()
    assert load_asset(folder).meta["mesh"]["texture"] == "uv"
    assert sample_main([*args, "--export", "stl"]) == 2
    assert sample_main([*args, "--mesh-texture", "uv", "--mesh-format", "obj"]) == 2
