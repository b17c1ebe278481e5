"""Tiny inputs for the viewer tests, written directly (no training): a box-world dataset, a
stage-1 run with a shaped random field, a stage-2 run pinned to it, and one asset folder."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from assets.conftest import shaped_stage1, write_stage1_run, write_stage2_run
from boxworld import BoxWorldSource

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig

RES = 16


@pytest.fixture(scope="session")
def view_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("view") / "data"
    cfg = BuildConfig(
        patches=PatchConfig(resolution=RES),
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
        scenes_per_shard=2,
        workers=1,
    )
    build_dataset(BoxWorldSource(4), root, cfg, seed=0)
    return root


@pytest.fixture(scope="session")
def view_runs(tmp_path_factory, view_data):
    """stage1 and stage2 run directories and the stage-2 run's one asset (RUN/assets/a0)."""
    from gina3d.assets.asset_io import AssetContents, AssetOptions, save_asset

    base = tmp_path_factory.mktemp("view")
    s1, s2 = base / "s1", base / "s2"
    model = shaped_stage1()
    write_stage1_run(s1, model, view_data)
    write_stage2_run(s2, s1, model.cfg)

    tokens = torch.randint(0, model.cfg.codebook_size, (model.cfg.num_tokens,))
    contents = AssetContents(tokens, [4.0, 2.0, 1.5], "vehicle", 7)
    options = AssetOptions(views=2, image_size=32, mesh_resolution=16)
    asset = save_asset(s2 / "assets" / "a0", model, s2 / "stage1", contents, options)
    return SimpleNamespace(stage1=s1, stage2=s2, asset=asset, model=model)


class FakeCamera:
    """Stands in for a browser's ``client.camera`` (OpenCV pose in the world frame)."""

    def __init__(self, wxyz=(1.0, 0.0, 0.0, 0.0), position=(0.0, 0.0, 0.0), fov=0.8, aspect=1.5):
        self.wxyz = np.asarray(wxyz, dtype=np.float64)
        self.position = np.asarray(position, dtype=np.float64)
        self.fov, self.aspect = fov, aspect
        self.update_timestamp = 0.0
        self.callbacks = []

    def on_update(self, cb):
        self.callbacks.append(cb)
        return cb

    def move(self, wxyz, position) -> None:
        self.wxyz, self.position = np.asarray(wxyz, float), np.asarray(position, float)
        self.update_timestamp += 1.0
        for cb in self.callbacks:
            cb(self)


@pytest.fixture
def fake_client():
    """A viser server's own scene/GUI standing in for one browser (no connection needed)."""
    viser = pytest.importorskip("viser")
    server = viser.ViserServer(host="127.0.0.1", port=0, verbose=False)
    client = SimpleNamespace(
        client_id=0, scene=server.scene, gui=server.gui, camera=FakeCamera(), server=server
    )
    yield client
    server.stop()
