"""The viewer's panels without a browser: a viser server's own scene and GUI stand in for a
client (messages are queued, nobody reads them), with a scripted camera."""

import json
import math
import time

import numpy as np
import pytest
import torch

from gina3d.assets.asset_io import load_asset
from gina3d.assets.turntable import FOV_DEG, composite, look_at_camera
from gina3d.errors import Gina3dError
from gina3d.geometry.transforms import invert
from gina3d.viewer.geometry import pose_of
from gina3d.viewer.live_render import render_view
from gina3d.viewer.server import Viewer, ViewerConfig

pytest.importorskip("viser")


def wait_for(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_render_view_matches_turntable_camera(view_runs):
    """A viser pose built from a turntable camera renders what that camera renders."""
    asset = load_asset(view_runs.asset)
    cam_from_obj, K = look_at_camera(asset.size_m, 24, azimuth_deg=50.0)
    wxyz, position = pose_of(invert(cam_from_obj))
    live = render_view(
        view_runs.model, asset.triplane, asset.size_m, wxyz, position, math.radians(FOV_DEG), 1, 24
    )
    with torch.no_grad():
        out = view_runs.model.render_image(
            asset.triplane[None],
            torch.tensor(K, dtype=torch.float32)[None],
            torch.tensor(cam_from_obj, dtype=torch.float32)[None],
            torch.tensor(asset.size_m, dtype=torch.float32)[None],
            24,
            24,
        )
    ref = composite(out["rgb"], out["opacity"])[0]
    assert live.shape == (24, 24, 3)
    assert np.abs(live.astype(int) - ref.astype(int)).max() <= 2
    assert (live < 250).any(axis=-1).mean() > 0.05  # the asset is in view, not a blank image


def test_session_panels_live_render_and_sampling(fake_client, view_data, view_runs, tmp_path):
    cfg = ViewerConfig(
        data=str(view_data),
        run=str(view_runs.stage2),
        samples_out=str(tmp_path / "samples"),
        live_size=16,
        live_interval_s=0.0,
        mesh_resolution=12,
        exports=("usd",),
    )
    viewer = Viewer(cfg)
    try:
        viewer._connect(fake_client)
        log = viewer.events[0]
        assert log.ready and not log.errors
        for node in ("/dataset/lidar", "/dataset/box", "/dataset/frustum", "/asset/mesh"):
            assert node in log.nodes
        session = viewer._sessions[0]

        # dataset: another patch, another split
        panel = session.dataset_panel
        panel.index.value = 1
        assert "(train 2/" in panel.info.content
        if len(viewer.dataset.splits) > 1:
            panel.split.value = viewer.dataset.splits[1]
            assert f"({viewer.dataset.splits[1]} 1/" in panel.info.content

        # live render: moving the camera renders the selected asset from there, once the
        # scene shows the assets
        assert session.asset_panel.choice.value == "assets/a0"
        assert session.group.value == "dataset" and log.renders == 0
        session.group.value = "asset"
        asset = load_asset(view_runs.asset)
        cam_from_obj, _ = look_at_camera(asset.size_m, 16)
        fake_client.camera.move(*pose_of(invert(cam_from_obj)))
        assert wait_for(lambda: log.renders >= 1), log.errors
        assert session.live.last_image.shape == (16, 24, 3)  # canvas aspect 1.5

        # sampling: a new asset folder, selected and shown
        thread = session.sample_panel.start()
        thread.join(120)
        assert not log.errors, log.errors
        new = tmp_path / "samples" / "sample_000"
        meta = json.loads((new / "asset.json").read_text())
        assert meta["class"] == "vehicle" and meta["conditions"]["class_name"] == "vehicle"
        assert meta["conditions"]["size"] == [4.6, 1.9, 1.6]
        assert (new / "asset.usda").is_file() and (new / "asset_texture.png").is_file()
        assert session.asset_panel.choice.value == "samples/sample_000"
        assert session.asset_panel.current.asset.path == new
        assert int(session.sample_panel.seed.value) == 1
    finally:
        viewer.stop()


def test_config_errors(tmp_path, view_data):
    with pytest.raises(Gina3dError, match="nothing to show"):
        Viewer(ViewerConfig())
    with pytest.raises(Gina3dError, match="no such directory"):
        Viewer(ViewerConfig(data=str(tmp_path / "missing")))
    with pytest.raises(Gina3dError, match="manifest.json"):
        Viewer(ViewerConfig(data=str(tmp_path)))
    with pytest.raises(Gina3dError, match="--port"):
        Viewer(ViewerConfig(data=str(view_data), port=70000))


def test_asset_library_lists_nested_folders(view_runs, tmp_path):
    from gina3d.viewer.asset_panel import AssetLibrary

    lib = AssetLibrary([view_runs.stage2 / "assets", tmp_path / "none"])
    assert list(lib.names) == ["assets/a0"]
    loaded = lib.load(view_runs.asset)
    assert loaded.mesh is not None and len(loaded.mesh.faces) > 0
    assert loaded.turntable.shape == (32, 64, 3)  # two 32 px views side by side
    assert lib.load(view_runs.asset) is loaded  # cached
    lib_one = AssetLibrary([view_runs.asset])  # an asset folder given directly
    assert list(lib_one.names) == ["a0"]
