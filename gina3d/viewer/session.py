"""One connected browser: its GUI tabs, its scene nodes, its live renderer.

Everything a session adds goes through the client's own ``scene`` and ``gui`` (visible to
that browser only). ``ClientSession.note`` names every scene node sent in the client's log,
so a test can check what arrived. The dataset's nodes live under ``/dataset`` and the
assets' under ``/asset``; both are in their object frame (so they overlap), and a dropdown
chooses which group the scene shows.
"""

from __future__ import annotations

import threading

from gina3d.viewer.roots import ASSET_ROOT, DATASET_ROOT

__all__ = ["ASSET_ROOT", "DATASET_ROOT", "ClientSession"]


class ClientSession:
    """The panels of one browser (``viewer``: the shared ``Viewer``)."""

    def __init__(self, viewer, client, log) -> None:
        from gina3d.viewer.asset_panel import AssetPanel
        from gina3d.viewer.dataset_panel import DatasetPanel
        from gina3d.viewer.live_render import LiveRenderer
        from gina3d.viewer.sample_panel import SamplePanel

        self.viewer = viewer
        self.client = client
        self.log = log
        self._lock = threading.Lock()
        self.dataset_panel = self.asset_panel = self.live = self.sample_panel = None
        scene = client.scene
        self.grid = scene.add_grid("/grid", width=20.0, height=20.0, cell_size=1.0)
        self.note("/grid")
        self.frames = {}
        for root in (DATASET_ROOT, ASSET_ROOT):
            self.frames[root] = scene.add_frame(root, show_axes=True, axes_length=0.5)
            self.note(root)

        tabs = client.gui.add_tab_group()
        groups = []
        if viewer.dataset is not None:
            with tabs.add_tab("Dataset"):
                self.dataset_panel = DatasetPanel(self, viewer.dataset)
            groups.append("dataset")
        if viewer.library is not None:
            with tabs.add_tab("Assets"):
                self.asset_panel = AssetPanel(self, viewer.library)
                self.live = LiveRenderer(self, viewer.decoders, viewer.cfg)
                self.asset_panel.on_select = self.live.set_asset
            groups.append("asset")
            if viewer.sampler is not None:
                with tabs.add_tab("Sample"):
                    self.sample_panel = SamplePanel(self, viewer.sampler, self.asset_panel)
        if len(groups) > 1:
            groups.append("both")
        self.group = client.gui.add_dropdown("scene shows", options=groups, initial_value=groups[0])
        self.group.on_update(lambda _: self._apply_group())
        self._apply_group()
        if self.dataset_panel is not None:
            self.dataset_panel.show()
        if self.asset_panel is not None:
            self.asset_panel.show_first()

    def note(self, name: str) -> None:
        """Record that scene node ``name`` was sent to this browser."""
        with self._lock:
            if name not in self.log.nodes:
                self.log.nodes.append(name)

    def set_ground(self, z: float) -> None:
        """Put the ground grid at height ``z`` (the bottom of the shown box)."""
        self.grid.position = (0.0, 0.0, float(z))

    def error(self, where: str, e: BaseException) -> str:
        text = f"{where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        with self._lock:
            self.log.errors.append(text)
        return text

    def shows(self, root: str) -> bool:
        """Whether the scene shows the group ``root`` (DATASET_ROOT or ASSET_ROOT)."""
        group = getattr(self, "group", None)  # None while the panels are being built
        return group is not None and group.value in ("both", root.lstrip("/"))

    def _apply_group(self) -> None:
        for root, frame in self.frames.items():
            frame.visible = self.shows(root)
        if self.live is not None:
            self.live.wake()

    def close(self) -> None:
        if self.live is not None:
            self.live.close()
