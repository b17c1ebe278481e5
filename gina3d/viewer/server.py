"""The viewer server: one viser server, and per connected browser a session of panels.

``Viewer(ViewerConfig(...))`` opens what it shows (a dataset, a run's assets, a stage-2 run
for sampling) once, shared by every browser; ``start()`` binds the viser server (HTTP page
and websocket on one port). Each browser that connects gets its own ``ClientSession``: its
own GUI tabs and scene nodes (``client.gui``, ``client.scene``), so two people can look at
different patches. The viewer keeps a log of what it sent to each client (``events``), which
tests read to check that a real browser received the scene.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gina3d.errors import Gina3dError


@dataclass
class ViewerConfig:
    """What ``gina3d view`` shows and where it listens."""

    host: str = "127.0.0.1"
    """Address to bind. 127.0.0.1 (default) serves this machine only; 0.0.0.0 serves the
    network, without authentication: anyone who reaches the port sees the data and can
    make the viewer sample and write assets."""
    port: int = 8080
    """TCP port of the page and websocket (0: any free port). When the port is taken,
    viser tries the next ones; ``Viewer.url`` gives the port actually bound."""
    data: str | None = None
    """A patch dataset to browse (``gina3d synth`` / ``gina3d waymo`` output)."""
    run: str | None = None
    """A run directory: its assets under ``RUN/assets/`` are browsed; a stage-2 run also
    enables sampling."""
    assets: str | None = None
    """A folder of asset folders (or one asset folder) to browse."""
    samples_out: str | None = None
    """Where sampled assets are written (default ``RUN/assets/viewer``)."""
    live_size: int = 96
    """Height in pixels of the live tri-plane render."""
    live_interval_s: float = 0.2
    """Minimum time between two live renders of one browser (camera changes are throttled)."""
    mesh_resolution: int = 64
    """Marching-cubes grid of sampled assets' meshes (lower is faster)."""
    exports: tuple[str, ...] = ()
    """Exports written with each sampled asset: ``glb``, ``usd``, ``splat`` (docs/assets.md)."""
    usdz: bool = False
    """Write the ``usd`` export as one asset.usdz package."""
    device: str = "cpu"
    """Torch device for decoding, rendering and sampling."""


@dataclass
class ClientLog:
    """What the viewer did for one browser (read by tests and ``--once``)."""

    client_id: int
    connected_at: float
    nodes: list[str] = field(default_factory=list)  # scene node names sent
    renders: int = 0  # live renders sent
    ready: bool = False  # every panel was built and its first scene sent
    errors: list[str] = field(default_factory=list)


class Viewer:
    """Shared state and the viser server of ``gina3d view``."""

    def __init__(self, cfg: ViewerConfig) -> None:
        from gina3d.viewer.asset_panel import AssetLibrary
        from gina3d.viewer.dataset_panel import DatasetSource
        from gina3d.viewer.live_render import DecoderCache
        from gina3d.viewer.sample_panel import SamplerService

        check_config(cfg)
        self.cfg = cfg
        self.dataset = DatasetSource(cfg.data) if cfg.data else None
        roots = []
        if cfg.run:
            roots.append(Path(cfg.run) / "assets")
        if cfg.assets:
            roots.append(Path(cfg.assets))
        self.sampler = SamplerService.for_run(cfg) if cfg.run else None
        if self.sampler is not None:
            roots.append(self.sampler.out_dir)
        self.library = AssetLibrary(roots) if roots else None
        self.decoders = DecoderCache(cfg.device)
        if self.sampler is not None:  # its decoder is already loaded: reuse it
            self.decoders.put(self.sampler.decoder_key, self.sampler.models.stage1)
        self.server = None
        self.events: dict[int, ClientLog] = {}
        self.client_ready = threading.Event()
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- server life
    def start(self) -> str:
        """Bind the server; returns the page's URL."""
        try:
            import viser
        except ImportError:
            raise Gina3dError("the viewer needs viser: pip install -e '.[view]'") from None
        try:
            with quiet_stdout():  # viser prints its own banner; the CLI prints the URL
                self.server = viser.ViserServer(
                    host=self.cfg.host, port=self.cfg.port, label="gina3d", verbose=False
                )
        except OSError as e:
            raise Gina3dError(f"cannot serve on {self.cfg.host}:{self.cfg.port} ({e})") from None
        self.server.gui.configure_theme(control_width="large", show_logo=False)
        self.server.initial_camera.position = (7.0, 5.0, 3.5)
        self.server.initial_camera.look_at = (0.0, 0.0, 0.0)
        self.server.on_client_connect(self._connect)
        self.server.on_client_disconnect(self._disconnect)
        return self.url

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("viewer not started")
        host = self.cfg.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.server.get_port()}"

    def stop(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
        if self.sampler is not None:
            self.sampler.close()
        if self.server is not None:
            with quiet_stdout():
                self.server.stop()
            self.server = None

    def serve(self, seconds: float | None = None, once: bool = False) -> None:
        """Block until Ctrl-C, ``seconds`` passed, or (``once``) a browser got its scene."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while deadline is None or time.monotonic() < deadline:
            if once and self.client_ready.wait(0.2):
                return
            if not once:
                time.sleep(0.2)

    # --------------------------------------------------------------- per client
    def _connect(self, client) -> None:
        from gina3d.viewer.session import ClientSession

        log = ClientLog(client.client_id, time.time())
        with self._lock:
            self.events[client.client_id] = log
        try:
            session = ClientSession(self, client, log)
        except Exception as e:  # a broken panel must not take the server down
            log.errors.append(f"{type(e).__name__}: {e}")
            raise
        with self._lock:
            self._sessions[client.client_id] = session
        log.ready = True
        self.client_ready.set()

    def _disconnect(self, client) -> None:
        with self._lock:
            session = self._sessions.pop(client.client_id, None)
        if session is not None:
            session.close()


def quiet_stdout():
    """Swallow what viser prints to stdout (its banner, "Server stopped")."""
    import contextlib
    import io

    return contextlib.redirect_stdout(io.StringIO())


def check_config(cfg: ViewerConfig) -> None:
    """Gina3dError for a configuration that cannot work (before anything is opened)."""
    if not (cfg.data or cfg.run or cfg.assets):
        raise Gina3dError("nothing to show: give --data, --run and/or --assets")
    if not 0 <= cfg.port <= 65535:
        raise Gina3dError(f"--port must be in 0..65535, got {cfg.port}")
    if not 8 <= cfg.live_size <= 512:
        raise Gina3dError(f"--live-size must be in 8..512, got {cfg.live_size}")
    if cfg.live_interval_s < 0:
        raise Gina3dError(f"--live-interval must be >= 0, got {cfg.live_interval_s}")
    if cfg.mesh_resolution < 8:
        raise Gina3dError(f"--mesh-resolution must be at least 8, got {cfg.mesh_resolution}")
    for name, value in (("--data", cfg.data), ("--run", cfg.run), ("--assets", cfg.assets)):
        if value and not Path(value).is_dir():
            raise Gina3dError(f"{name} {value}: no such directory")
