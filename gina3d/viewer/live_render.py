"""Live renders of the selected asset's tri-plane from the browser's own camera.

The browser reports its camera (viser: ``wxyz``/``position`` of ``world_from_camera`` in
OpenCV axes, vertical ``fov`` in radians, canvas ``aspect``) whenever the user moves it.
The world frame is the asset's object frame, so ``cam_from_obj`` is the inverse of that
pose (``geometry.cam_from_obj_of_view``). A worker thread per browser renders the newest
camera with the stage-1 decoder the asset was made with (``decoder_ref.load_decoder``;
``Stage1Model.render_image``), ``live_size`` pixels tall with the canvas aspect, at most once
per ``live_interval_s``: camera messages that arrive meanwhile are merged into one render.
Nothing is rendered while the scene does not show the assets.
The result goes to a GUI image and, optionally, to the scene background (it then lines up
with the 3D view, since it has the canvas's aspect and field of view).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch

from gina3d.assets.turntable import composite
from gina3d.viewer.geometry import (
    cam_from_obj_of_view,
    enlarge,
    render_shape,
    view_intrinsics,
)
from gina3d.viewer.roots import ASSET_ROOT


class DecoderCache:
    """Stage-1 decoders by checkpoint directory, shared by all browsers."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._models: dict[str, torch.nn.Module] = {}
        self._lock = threading.Lock()

    def put(self, key: str, model: torch.nn.Module) -> None:
        with self._lock:
            self._models[key] = model

    def get(self, asset) -> torch.nn.Module:
        """The decoder of ``asset`` (loaded once per checkpoint; Gina3dError if gone)."""
        from gina3d.assets.decoder_ref import load_decoder

        key = str(asset.decoder.get("checkpoint", ""))
        with self._lock:
            if key not in self._models:
                self._models[key], _ = load_decoder(asset, self.device)
            return self._models[key]


@torch.no_grad()
def render_view(model, triplane, size_m, wxyz, position, fov: float, aspect: float, height: int):
    """uint8 [H,W,3] render (on white) of ``triplane`` [3,F,R,R] with box ``size_m`` (3,)
    seen by a viser camera (``wxyz``, ``position`` in the object frame; vertical ``fov``)."""
    h, w = render_shape(aspect, height)
    device = next(model.parameters()).device
    K = torch.as_tensor(view_intrinsics(fov, h, w), dtype=torch.float32, device=device)
    cam = cam_from_obj_of_view(wxyz, position)
    cam_from_obj = torch.as_tensor(cam, dtype=torch.float32, device=device)
    size = torch.as_tensor(np.asarray(size_m), dtype=torch.float32, device=device)
    out = model.render_image(
        triplane[None].to(device).float(), K[None], cam_from_obj[None], size[None], h, w
    )
    return composite(out["rgb"], out["opacity"])[0]  # on white


class LiveRenderer:
    """GUI controls and the render thread of one browser."""

    def __init__(self, session, decoders: DecoderCache, cfg) -> None:
        self.session = session
        self.decoders = decoders
        self.height = cfg.live_size
        self.interval = cfg.live_interval_s
        self.loaded = None  # the selected LoadedAsset
        self.last_image = None  # uint8 [H,W,3] of the last live render
        gui = session.client.gui
        with gui.add_folder("live render (tri-plane)"):
            self.enabled = gui.add_checkbox("render from my camera", True)
            self.background = gui.add_checkbox("as scene background", False)
            self.image = gui.add_image(np.full((8, 8, 3), 255, np.uint8), label="live")
            self.status = gui.add_markdown("move the camera to render")
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._last = 0.0
        self.enabled.on_update(lambda _: self._wake.set())
        self.background.on_update(lambda _: self._background_changed())
        session.client.camera.on_update(lambda _: self._wake.set())
        self._thread = threading.Thread(target=self._loop, name="gina3d-live-render", daemon=True)
        self._thread.start()

    def set_asset(self, loaded) -> None:
        self.loaded = loaded
        self._wake.set()

    def wake(self) -> None:
        """Render again (e.g. the scene now shows the assets)."""
        self._wake.set()

    def _background_changed(self) -> None:
        if self.background.value:
            self._wake.set()
        else:
            self.session.client.scene.set_background_image(None)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._closed.is_set():
            if not self._wake.wait(0.5):
                continue
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:  # throttle: later camera messages merge into this render
                time.sleep(wait)
            self._wake.clear()
            if self._closed.is_set():
                return
            if self.enabled.value and self.loaded is not None and self.session.shows(ASSET_ROOT):
                self._render_once()

    def _render_once(self) -> None:
        camera = self.session.client.camera
        if camera.update_timestamp == 0.0:
            return  # no camera message from the browser yet
        loaded = self.loaded
        start = time.monotonic()
        try:
            model = self.decoders.get(loaded.asset)
            image = render_view(
                model,
                loaded.asset.triplane,
                loaded.asset.size_m,
                camera.wxyz,
                camera.position,
                camera.fov,
                camera.aspect,
                self.height,
            )
        except Exception as e:  # show it in the panel; keep serving
            self.status.content = f"**render failed**: {self.session.error('live render', e)}"
            self._last = time.monotonic()
            return
        self._last = time.monotonic()
        if self._closed.is_set():
            return
        try:
            self.image.image = enlarge(image, 288)
            if self.background.value:
                self.session.client.scene.set_background_image(image, format="jpeg")
            ms = 1000.0 * (self._last - start)
            self.status.content = f"{image.shape[1]}x{image.shape[0]} px in {ms:.0f} ms"
        except Exception:  # the browser went away meanwhile
            return
        self.last_image = image
        self.session.log.renders += 1
