"""The asset folder: save, load, decoder reference, bad input."""

import json
import shutil
from dataclasses import fields, replace

import numpy as np
import pytest
import torch
from PIL import Image

from gina3d.assets.asset_io import AssetContents, AssetOptions, load_asset, save_asset
from gina3d.assets.decoder_ref import config_hash, load_decoder
from gina3d.assets.mesh_export import load_mesh
from gina3d.errors import Gina3dError
from gina3d.models.config import tiny_model_config
from gina3d.models.stage1 import Stage1Model
from gina3d.training import checkpoint

SIZE = [4.6, 1.9, 1.6]
FAST = AssetOptions(views=2, image_size=16, mesh_resolution=24)


def test_save_and_load_round_trip(tmp_path, stage1_run, model, tokens):
    contents = AssetContents(tokens[0], SIZE, "vehicle", 7, {"class_name": "vehicle"}, {"note": 1})
    out = save_asset(tmp_path / "a", model, stage1_run, contents, FAST)
    names = {p.name for p in out.iterdir()}
    assert names == {
        "asset.json",
        "triplane.safetensors",
        "mesh.glb",
        "turntable.png",
        "turntable.gif",
    }
    meta = json.loads((out / "asset.json").read_text())
    assert meta["decoder"]["step"] == 3
    assert meta["decoder"]["run"] == str(stage1_run.resolve())
    assert meta["decoder"]["checkpoint"].endswith("step-00000003")
    assert len(meta["decoder"]["model_config_sha256"]) == 64
    assert meta["token_grid"]["shape"] == [3, 4, 4] and meta["tokens"] == tokens[0].tolist()
    assert meta["mesh"]["faces"] > 0 and not meta["mesh"]["empty"]
    lo, hi = np.array(meta["mesh"]["bounds_m"])
    assert np.all(lo >= -np.array(SIZE) / 2 - 1e-6) and np.all(hi <= np.array(SIZE) / 2 + 1e-6)
    assert all(e <= 1e-6 for e in meta["mesh"]["extent_error"])
    assert set(meta["timing_s"]) == {"decode", "mesh", "turntable", "total"}

    asset = load_asset(out)
    assert asset.tokens.equal(tokens[0]) and asset.class_name == "vehicle" and asset.seed == 7
    np.testing.assert_allclose(asset.size_m, SIZE)
    assert asset.conditions == {"class_name": "vehicle"} and asset.meta["extra"] == {"note": 1}
    with torch.no_grad():
        expect = model.decode_indices(tokens[0][None])[0]
    torch.testing.assert_close(asset.triplane, expect)
    mesh = load_mesh(asset.mesh_path)
    np.testing.assert_allclose(mesh.bounds, meta["mesh"]["bounds_m"], atol=1e-4)

    decoder, ckpt = load_decoder(asset)
    assert ckpt.name == "step-00000003"
    with torch.no_grad():
        torch.testing.assert_close(decoder.decode_indices(asset.tokens[None])[0], expect)


def test_the_mesh_surface_defaults_to_the_class_opacity(tmp_path, stage1_run, model, tokens):
    """Pedestrians are meshed at their own (lower) opacity: a fuller mesh of the same field;
    an explicit --mesh-opacity overrides the class default."""

    def mesh_of(name, cls, **kw):
        contents = AssetContents(tokens[0], SIZE, cls, 0)
        out = save_asset(tmp_path / name, model, stage1_run, contents, replace(FAST, **kw))
        return json.loads((out / "asset.json").read_text())["mesh"]

    vehicle, pedestrian = mesh_of("v", "vehicle"), mesh_of("p", "pedestrian")
    assert vehicle["opacity"] == 0.3 and pedestrian["opacity"] == 0.1
    assert mesh_of("n", None)["opacity"] == 0.3
    v_lo, v_hi = np.array(vehicle["bounds_m"])
    p_lo, p_hi = np.array(pedestrian["bounds_m"])
    assert np.all(p_lo <= v_lo + 1e-6) and np.all(p_hi >= v_hi - 1e-6)
    assert np.any(p_hi - p_lo > v_hi - v_lo + 1e-3)  # strictly larger somewhere
    forced = mesh_of("f", "pedestrian", mesh_opacity=0.3)
    assert forced["opacity"] == 0.3 and forced["bounds_m"] == vehicle["bounds_m"]


def test_pinned_stage1_dirs_and_format_switch(tmp_path, stage2_run, model, tokens):
    contents = AssetContents(tokens[1], SIZE, None, None, {})
    out = save_asset(
        tmp_path / "a", model, stage2_run / "stage1", contents, replace(FAST, mesh_format="ply")
    )
    assert (out / "mesh.ply").exists()
    meta = json.loads((out / "asset.json").read_text())
    assert meta["decoder"]["step"] == 3 and meta["class"] is None and meta["seed"] is None
    save_asset(out, model, stage2_run / "stage1", contents, FAST)
    assert (out / "mesh.glb").exists() and not (out / "mesh.ply").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"class_name": "truck"}, "unknown class 'truck'"),
        ({"size_m": [4.0, -1.0, 1.5]}, "positive lengths"),
        ({"size_m": [4.0, 1.0]}, "positive lengths"),
        ({"tokens": torch.zeros(5, dtype=torch.long)}, "token grid must be"),
        ({"tokens": torch.full((48,), 64)}, "token values"),
        ({"tokens": torch.zeros(48)}, "integers"),
        ({"mesh_format": "stl"}, "unknown mesh format"),
        ({"conditions": {"x": float("nan")}}, "plain JSON"),
        ({"views": 0}, "views >= 1"),
    ],
)
def test_bad_input(tmp_path, stage1_run, model, tokens, change, message):
    contents, options = AssetContents(tokens[0], SIZE, "vehicle", 0, {}), FAST
    if set(change) <= {f.name for f in fields(AssetOptions)}:
        options = replace(FAST, **change)
    else:
        contents = replace(contents, **change)
    with pytest.raises(Gina3dError, match=message):
        save_asset(tmp_path / "x", model, stage1_run, contents, options)
    assert not (tmp_path / "x").exists()


def test_an_empty_field_still_makes_an_asset(tmp_path, stage1_run, model, tokens):
    with torch.no_grad():
        model.field.mlp[-1].bias[0] = -50.0  # nothing anywhere
    contents = AssetContents(tokens[0], SIZE, None, 0)
    out = save_asset(tmp_path / "e", model, stage1_run, contents, replace(FAST, mesh_format="obj"))
    asset = load_asset(out)
    assert asset.meta["mesh"]["empty"] and asset.meta["mesh"]["bounds_m"] is None
    assert len(load_mesh(asset.mesh_path).faces) == 0
    strip = np.asarray(Image.open(out / "turntable.png"))
    assert strip.shape == (16, 32, 3) and strip.min() == 255  # white background only


def test_runs_without_stage1_and_other_models(tmp_path, stage1_run, model, tokens):
    (tmp_path / "empty").mkdir()
    contents = AssetContents(tokens[0], SIZE, None, 0)
    with pytest.raises(Gina3dError, match="no checkpoint yet"):
        save_asset(tmp_path / "x", model, tmp_path / "empty", contents, FAST)
    with pytest.raises(Gina3dError, match="no such run"):
        save_asset(tmp_path / "x", model, tmp_path / "none", contents, FAST)
    other = Stage1Model(tiny_model_config(32))
    with pytest.raises(Gina3dError, match="not this checkpoint's model"):
        save_asset(tmp_path / "x", other, stage1_run, contents, FAST)


def test_load_errors(tmp_path, stage1_run, model, tokens):
    with pytest.raises(Gina3dError, match="no such asset directory"):
        load_asset(tmp_path / "missing")
    (tmp_path / "bare").mkdir()
    with pytest.raises(Gina3dError, match="no asset.json"):
        load_asset(tmp_path / "bare")
    out = save_asset(
        tmp_path / "a", model, stage1_run, AssetContents(tokens[0], SIZE, None, 0), FAST
    )
    meta = json.loads((out / "asset.json").read_text())
    meta["tokens"][0] = (meta["tokens"][0] + 1) % 64
    (out / "asset.json").write_text(json.dumps(meta))
    with pytest.raises(Gina3dError, match="differ"):
        load_asset(out)
    (out / "triplane.safetensors").write_bytes(b"junk")
    with pytest.raises(Gina3dError, match="unreadable"):
        load_asset(out)
    (out / "asset.json").write_text("{not json")
    with pytest.raises(Gina3dError, match="unreadable"):
        load_asset(out)


def test_checkpoint_from_before_a_config_field_existed(tmp_path, stage1_run, model, tokens):
    """A checkpoint whose model_config.json lacks a field added later (here lifting_mode,
    whose default is the old behaviour) still saves and reloads assets."""
    old = tmp_path / "old_ckpt"
    shutil.copytree(checkpoint.latest_checkpoint(stage1_run), old)
    cfg = json.loads((old / "model_config.json").read_text())
    del cfg["model"]["lifting_mode"]
    (old / "model_config.json").write_text(json.dumps(cfg))
    out = save_asset(tmp_path / "a", model, old, AssetContents(tokens[0], SIZE, "vehicle", 0), FAST)
    asset = load_asset(out)
    assert asset.decoder["model_config_sha256"] == config_hash(cfg["model"])  # as stored
    loaded, ckpt = load_decoder(asset)
    assert ckpt.resolve() == old.resolve()
    grid = torch.as_tensor(tokens[0])[None]
    assert torch.equal(loaded.decode_indices(grid), model.decode_indices(grid))
