"""The assets tab: pick an asset folder and see its mesh, box and turntable.

Asset folders (``asset.json`` + ``triplane.safetensors`` + mesh + turntable; see
docs/assets.md) are found under the library's roots (``RUN/assets/``, ``--assets DIR``, the
viewer's own samples) up to ``MAX_DEPTH`` levels down. The mesh is read with
``load_mesh`` (object frame, metres: the viewer's world frame, no axis change) and sent with
its vertex colours; the selected asset is also what the live renderer renders.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gina3d.errors import Gina3dError
from gina3d.viewer.geometry import box_segments, enlarge, heading_segment
from gina3d.viewer.roots import ASSET_ROOT

MAX_DEPTH = 3
NONE = "(no assets)"
BOX_COLOUR = (120, 120, 255)


@dataclass
class LoadedAsset:
    """An asset folder read for display."""

    asset: object  # gina3d.assets.asset_io.Asset
    mesh: object | None  # trimesh.Trimesh in the object frame, or None (no / empty mesh)
    turntable: np.ndarray | None  # uint8 [H,W,3]


def find_assets(root: Path, depth: int = MAX_DEPTH) -> list[Path]:
    """Asset folders (holding asset.json) at or below ``root``, sorted by path."""
    if not root.is_dir():
        return []
    if (root / "asset.json").exists():
        return [root]
    found = []
    if depth > 0:
        for child in sorted(p for p in root.iterdir() if p.is_dir()):
            found += find_assets(child, depth - 1)
    return found


class AssetLibrary:
    """The asset folders under some roots, shared by all browsers; loads are cached."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[float, LoadedAsset]] = {}
        self.names: dict[str, Path] = {}
        self.scan()

    def scan(self) -> dict[str, Path]:
        """Re-list the asset folders: {display name: path}."""
        names: dict[str, Path] = {}
        seen: set[Path] = set()
        for root in self.roots:
            for path in find_assets(root):
                if path.resolve() in seen:
                    continue
                seen.add(path.resolve())
                rel = path.relative_to(root).as_posix()
                name = f"{root.name}/{rel}" if rel != "." else path.name
                names[name if name not in names else str(path)] = path
        with self._lock:
            self.names = names
        return names

    def name_of(self, path: Path) -> str | None:
        for name, p in self.names.items():
            if p.resolve() == Path(path).resolve():
                return name
        return None

    def load(self, path: str | os.PathLike) -> LoadedAsset:
        """The asset at ``path`` with its mesh and turntable (cached until asset.json changes)."""
        from gina3d.assets.asset_io import load_asset
        from gina3d.assets.mesh_export import load_mesh

        path = Path(path)
        try:
            stamp = (path / "asset.json").stat().st_mtime
        except OSError:
            raise Gina3dError(f"{path}: not an asset folder (no asset.json)") from None
        with self._lock:
            hit = self._cache.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        asset = load_asset(path)
        mesh = load_mesh(asset.mesh_path) if asset.mesh_path is not None else None
        if mesh is not None and len(mesh.faces) == 0:
            mesh = None
        turntable = None
        if (path / "turntable.png").exists():
            from PIL import Image

            turntable = np.asarray(Image.open(path / "turntable.png").convert("RGB"))
        loaded = LoadedAsset(asset, mesh, turntable)
        with self._lock:
            self._cache[path] = (stamp, loaded)
        return loaded


class AssetPanel:
    """GUI and scene of the assets tab for one browser."""

    def __init__(self, session, library: AssetLibrary) -> None:
        self.session = session
        self.library = library
        self.on_select = None  # called with the LoadedAsset shown (the live renderer)
        self.current: LoadedAsset | None = None
        gui = session.client.gui
        names = list(library.names) or [NONE]
        self.choice = gui.add_dropdown("asset", options=names, initial_value=names[0])
        self.rescan = gui.add_button("rescan folders")
        self.info = gui.add_markdown("")
        self.turntable = gui.add_image(np.full((8, 8, 3), 255, np.uint8), label="turntable")
        with gui.add_folder("layers", expand_by_default=False):
            self.show_mesh = gui.add_checkbox("mesh", True)
            self.show_box = gui.add_checkbox("box", True)
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()
        self.choice.on_update(lambda _: self.show())
        self.rescan.on_click(lambda _: self.refresh())
        self.show_mesh.on_update(lambda _: self.show())
        self.show_box.on_update(lambda _: self.show())

    def show_first(self) -> None:
        self.show()

    def refresh(self, select: Path | None = None) -> None:
        """Re-list the library; select ``select`` (a new asset) if given."""
        names = list(self.library.scan()) or [NONE]
        self.choice.options = names  # keeps the value if still listed
        name = self.library.name_of(select) if select is not None else None
        if name is not None and name != self.choice.value:
            self.choice.value = name  # its callback shows it
        elif select is not None:
            self.show()

    def show(self) -> None:
        try:
            with self._lock:
                self._show()
        except Gina3dError as e:
            self.info.content = f"**error**: {self.session.error('asset', e)}"

    def _show(self) -> None:
        path = self.library.names.get(self.choice.value)
        if path is None:
            self.info.content = "No asset folders found (rescan after `gina3d sample`)."
            for key in list(self._handles):
                self._handles.pop(key).remove()
            return
        loaded = self.library.load(path)
        asset = loaded.asset
        self.current = loaded
        self.info.content = describe(asset, loaded.mesh)
        if loaded.turntable is not None:
            self.turntable.image = enlarge(loaded.turntable, 384)
        self.session.set_ground(-float(asset.size_m[2]) / 2.0)
        scene = self.session.client.scene
        mesh = loaded.mesh
        self._set(
            "mesh",
            self.show_mesh.value and mesh is not None,
            lambda n: scene.add_mesh_trimesh(n, mesh),
        )
        self._set(
            "box",
            self.show_box.value,
            lambda n: scene.add_line_segments(n, box_segments(asset.size_m), BOX_COLOUR),
        )
        self._set(
            "heading",
            self.show_box.value,
            lambda n: scene.add_line_segments(n, heading_segment(asset.size_m), BOX_COLOUR),
        )
        if self.on_select is not None:
            self.on_select(loaded)

    def _set(self, key: str, visible: bool, make) -> None:
        name = f"{ASSET_ROOT}/{key}"
        old = self._handles.pop(key, None)
        if not visible:
            if old is not None:
                old.remove()
            return
        self._handles[key] = make(name)
        self.session.note(name)


def describe(asset, mesh) -> str:
    """Markdown summary of an asset."""
    size = ", ".join(f"{s:.2f}" for s in asset.size_m)
    cond = ", ".join(f"{k}={v}" for k, v in asset.conditions.items() if k != "image") or "none"
    dec = asset.decoder
    faces = "no mesh" if mesh is None else f"{len(mesh.vertices)} vertices, {len(mesh.faces)} faces"
    return "\n".join(
        [
            f"**{asset.path.name}**: {asset.class_name or 'no class'}, seed {asset.seed}",
            f"- box L,W,H {size} m; {faces}",
            f"- conditions: {cond}",
            f"- tri-plane {list(asset.triplane.shape)}; decoder step {dec.get('step')}",
        ]
    )
