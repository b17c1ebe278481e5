"""The viewer in a real headless browser (Debian's chromium, installed by scripts/setup.sh).

The test serves a dataset and a stage-2 run's assets on a free port and opens the page in
headless chromium driven over the DevTools protocol (so the test, not a virtual-time budget,
decides when to look). On the server side it checks that the browser connected (its web
client opened the websocket), received the scene nodes, and reported its camera, which
produced a live render; then it takes a screenshot and checks that it is not blank.
"""

import base64
import io
import json
import shutil
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from gina3d.viewer.server import Viewer, ViewerConfig

pytest.importorskip("viser")

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
NODES = ("/dataset/lidar", "/dataset/box", "/dataset/frustum", "/asset/mesh", "/asset/box")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float):
    """The first value of ``predicate()`` that is not None or False (polled until timeout)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.1)
    return predicate()


def scene_colour(png: bytes) -> float:
    """Fraction of saturated pixels in the 3D view (left of the GUI panel, below the
    notification): the orange box, the LiDAR points and the frustum image, not the grey
    grid of an empty scene."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    view = image[170:, :760]
    return float(((view.max(-1) - view.min(-1)) > 60).mean())


def scene_drawn(png: bytes) -> bytes | None:
    return png if scene_colour(png) > 0.003 else None


class Chromium:
    """Headless chromium showing ``url``, with a DevTools connection to take screenshots."""

    def __init__(self, url: str, profile, size=(1200, 800)) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--use-gl=swiftshader",
                "--enable-unsafe-swiftshader",
                "--no-first-run",
                "--disable-dev-shm-usage",
                f"--remote-debugging-port={self.port}",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _page(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as r:
                targets = json.load(r)
        except OSError:
            return None
        return next((t for t in targets if t.get("type") == "page"), None)

    def screenshot(self, timeout: float = 20.0) -> bytes:
        from websockets.sync.client import connect

        page = wait_for(self._page, timeout)
        assert page is not None, "chromium's DevTools endpoint never came up"
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout) as ws:
            ws.send(json.dumps({"id": 1, "method": "Page.captureScreenshot"}))
            while True:
                reply = json.loads(ws.recv(timeout=timeout))
                if reply.get("id") == 1:
                    return base64.b64decode(reply["result"]["data"])

    def close(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read()[-2000:] if self.proc.stderr else ""


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/setup.sh: apt-get install chromium)"
)
def test_headless_chromium_receives_the_scene(view_data, view_runs, tmp_path):
    from PIL import Image

    cfg = ViewerConfig(
        data=str(view_data),
        run=str(view_runs.stage2),
        samples_out=str(tmp_path / "samples"),
        port=0,
        live_size=24,
        live_interval_s=0.1,
    )
    viewer = Viewer(cfg)
    url = viewer.start()
    assert url.startswith("http://127.0.0.1:")
    start = time.monotonic()
    browser = Chromium(url, tmp_path / "profile")
    stderr, png = "", None

    def served() -> bool:
        # the scene is built when the websocket opens; the live render follows the camera
        # message that the web client sends once its canvas exists
        return any(log.ready and log.renders for log in viewer.events.values())

    try:
        if wait_for(viewer.client_ready.is_set, 45.0):
            next(iter(viewer._sessions.values())).group.value = "both"  # live renders on
        wait_for(served, 30.0)
        png = wait_for(lambda: scene_drawn(browser.screenshot()), 20.0)  # objects fade in
    finally:
        stderr = browser.close()
        viewer.stop()
    seconds = time.monotonic() - start

    assert viewer.events, f"the browser never opened the websocket:\n{stderr}"
    log = next(iter(viewer.events.values()))
    assert log.ready and not log.errors, log.errors
    for node in NODES:
        assert node in log.nodes, (node, log.nodes)
    assert log.renders >= 1, "no live render: the browser's camera never arrived"

    assert png is not None, "the 3D view stayed empty (no coloured pixels left of the panel)"
    shot = tmp_path / "viewer.png"
    shot.write_bytes(png)
    image = np.asarray(Image.open(shot).convert("RGB"))
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    spread = float(image.reshape(-1, 3).std(axis=0).mean())
    print(
        f"\nbrowser {seconds:.1f} s; screenshot {image.shape}, {colours} colours, std {spread:.1f}"
        f", 3D view {100 * scene_colour(png):.1f}% coloured; renders {log.renders}"
    )
    assert image.shape[1] == 1200 and image.shape[0] > 400  # the viewport (window less chrome)
    assert colours > 50 and spread > 3.0, "the screenshot is blank"


def view_mask(png: bytes) -> np.ndarray:
    """Non-white pixels [H,W] of the 3D view (left of the panel, below the notification)."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[170:, :760]
    return image.min(-1) < 235


def settled(browser: Chromium, timeout: float) -> np.ndarray | None:
    """The 3D view's mask once two screenshots in a row agree and cover 1-50% of the view.

    Objects fade in, and headless chromium draws on demand: a screenshot can show a frame
    from before a texture was installed (an all-black background)."""
    previous = None

    def look():
        nonlocal previous
        mask = view_mask(browser.screenshot())
        same = previous is not None and (mask ^ previous).mean() < 0.002
        previous = mask
        return mask if same and 0.01 < mask.mean() <= 0.5 else None

    return wait_for(look, timeout)


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (scripts/setup.sh: apt-get install chromium)"
)
def test_live_render_lines_up_with_the_mesh_in_the_browser(view_runs, tmp_path):
    """The tri-plane rendered from the browser's camera, shown as the scene background,
    covers the same pixels as the asset's mesh drawn by the browser (an off-centre view, so
    a mirrored or transposed camera would not line up)."""
    cfg = ViewerConfig(
        assets=str(view_runs.stage2 / "assets"), port=0, live_size=96, live_interval_s=0.05
    )
    viewer = Viewer(cfg)
    browser = Chromium(viewer.start(), tmp_path / "profile")
    try:
        assert wait_for(viewer.client_ready.is_set, 45.0), "the browser never connected"
        session = next(iter(viewer._sessions.values()))
        camera = session.client.camera
        assert wait_for(lambda: camera.update_timestamp > 0, 20.0), "no camera from the browser"
        camera.position = (6.0, -4.0, 3.0)
        camera.look_at = (1.5, 1.0, 0.3)  # the asset sits off-centre, towards the lower left
        session.grid.visible = False
        session.asset_panel.show_box.value = False
        mesh = settled(browser, 20.0)
        renders = session.log.renders
        session.asset_panel.show_mesh.value = False
        session.live.background.value = True
        assert wait_for(lambda: session.log.renders > renders, 20.0), session.log.errors
        live = settled(browser, 20.0)
        assert live is not None, "the live render never showed as the background"
        assert mesh is not None, "the mesh was never drawn"
    finally:
        browser.close()
        viewer.stop()
    iou = (mesh & live).sum() / max((mesh | live).sum(), 1)
    centres = [np.argwhere(m).mean(axis=0) for m in (mesh, live)]
    shift = float(np.linalg.norm(centres[0] - centres[1]))
    print(
        f"\nmesh {mesh.sum()} px, live render {live.sum()} px, IoU {iou:.2f}, shift {shift:.1f} px"
    )
    assert mesh.sum() > 2000 and live.sum() > 2000
    assert iou > 0.5 and shift < 20.0
