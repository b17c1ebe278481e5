"""The dataset tab: pick a patch (split, index) and see it in its object frame.

Shown for the selected patch: its image and its masks as a colour overlay (GUI images,
object green, occluder red, background blue), its LiDAR points (object frame, coloured by
height), its 3D box as a wireframe with a heading tick towards +x, and its camera as a
frustum placed at ``obj_from_cam`` with the patch image (or the overlay) on it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from gina3d.errors import Gina3dError
from gina3d.geometry.transforms import invert
from gina3d.viewer.geometry import (
    box_segments,
    enlarge,
    frustum_of,
    heading_segment,
    height_colours,
    mask_overlay,
    pose_of,
)
from gina3d.viewer.roots import DATASET_ROOT

SPLIT_ORDER = ("train", "val", "test")
BOX_COLOUR = (255, 140, 0)
FRUSTUM_COLOUR = (30, 30, 30)


class DatasetSource:
    """A patch dataset shared by all browsers: one ``PatchDataset`` per split, read under
    a lock (its row-group cache is not thread-safe)."""

    def __init__(self, root: str | os.PathLike) -> None:
        from gina3d.data.shards import load_manifest

        self.root = Path(root)
        manifest = load_manifest(self.root)
        found = {s["split"] for s in manifest.get("shards", [])}
        self.splits = [s for s in SPLIT_ORDER if s in found] + sorted(found - set(SPLIT_ORDER))
        if not self.splits:
            raise Gina3dError(f"{self.root}: the dataset has no shards")
        self._sets: dict = {}
        self._lock = threading.Lock()
        self.size(self.splits[0])  # open one split now: a broken dataset fails at start-up

    def _dataset(self, split: str):
        from gina3d.data.dataset import PatchDataset

        if split not in self._sets:
            self._sets[split] = PatchDataset(self.root, split=split)
        return self._sets[split]

    def size(self, split: str) -> int:
        with self._lock:
            return len(self._dataset(split))

    def record(self, split: str, index: int):
        """The ``PatchRecord`` at ``index`` of ``split`` (clamped to the split)."""
        with self._lock:
            ds = self._dataset(split)
            return ds.record(int(min(max(index, 0), len(ds) - 1)))


class DatasetPanel:
    """GUI and scene of the dataset tab for one browser."""

    def __init__(self, session, source: DatasetSource) -> None:
        self.session = session
        self.source = source
        gui = session.client.gui
        self.split = gui.add_dropdown(
            "split", options=source.splits, initial_value=source.splits[0]
        )
        n = source.size(self.split.value)
        self.index = gui.add_slider("patch", min=0, max=max(n - 1, 1), step=1, initial_value=0)
        self.steps = gui.add_button_group("step", options=("prev", "next"))
        self.info = gui.add_markdown("")
        self.rgb_image = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="patch")
        self.mask_image = gui.add_image(
            np.zeros((8, 8, 3), np.uint8), label="masks: object green, occluder red, bg blue"
        )
        with gui.add_folder("layers", expand_by_default=False):
            self.show_lidar = gui.add_checkbox("LiDAR points", True)
            self.show_box = gui.add_checkbox("box", True)
            self.show_frustum = gui.add_checkbox("camera frustum", True)
            self.frustum_image = gui.add_dropdown(
                "frustum image", options=("patch", "masks", "none"), initial_value="patch"
            )
            self.point_size = gui.add_slider("point size", 0.01, 0.2, 0.01, 0.05)
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()
        self.split.on_update(lambda _: self._split_changed())
        self.index.on_update(lambda _: self.show())
        self.steps.on_click(lambda event: self._step(event.target.value))
        for handle in (self.show_lidar, self.show_box, self.show_frustum, self.frustum_image):
            handle.on_update(lambda _: self.show())
        self.point_size.on_update(lambda _: self.show())

    def _split_changed(self) -> None:
        n = self.source.size(self.split.value)
        self.index.max = max(n - 1, 1)
        if self.index.value == 0:
            self.show()
        else:
            self.index.value = 0  # its callback shows the patch

    def _step(self, which: str) -> None:
        n = self.source.size(self.split.value)
        self.index.value = int((self.index.value + (1 if which == "next" else -1)) % n)

    def show(self) -> None:
        """Send the selected patch (GUI images, info, scene nodes)."""
        try:
            with self._lock:
                self._show()
        except Gina3dError as e:
            self.info.content = f"**error**: {self.session.error('dataset', e)}"

    def _show(self) -> None:
        split = self.split.value
        n = self.source.size(split)
        index = int(min(self.index.value, n - 1))
        rec = self.source.record(split, index)
        overlay = mask_overlay(rec.rgb, rec.masks)
        self.rgb_image.image = enlarge(rec.rgb)
        self.mask_image.image = enlarge(overlay)
        self.info.content = describe(rec, split, index, n)
        self.session.set_ground(-float(rec.box_size[2]) / 2.0)
        scene = self.session.client.scene
        self._set(
            "lidar",
            self.show_lidar.value and len(rec.lidar_points) > 0,
            lambda name: scene.add_point_cloud(
                name,
                rec.lidar_points.astype(np.float32),
                height_colours(rec.lidar_points),
                point_size=float(self.point_size.value),
                point_shape="circle",
            ),
        )
        self._set(
            "box",
            self.show_box.value,
            lambda name: scene.add_line_segments(
                name, box_segments(rec.box_size), BOX_COLOUR, thickness=0.03
            ),
        )
        self._set(
            "heading",
            self.show_box.value,
            lambda name: scene.add_line_segments(
                name, heading_segment(rec.box_size), BOX_COLOUR, thickness=0.03
            ),
        )
        fov, aspect = frustum_of(rec.intrinsics, rec.resolution)
        wxyz, position = pose_of(invert(rec.cam_from_obj))
        image = {"patch": rec.rgb, "masks": overlay}.get(self.frustum_image.value)
        self._set(
            "frustum",
            self.show_frustum.value,
            lambda name: scene.add_camera_frustum(
                name,
                fov=fov,
                aspect=aspect,
                scale=max(0.5, 0.12 * float(np.linalg.norm(position))),
                thickness=0.03,
                color=FRUSTUM_COLOUR,
                image=image,
                wxyz=wxyz,
                position=position,
            ),
        )

    def _set(self, key: str, visible: bool, make) -> None:
        """(Re)send node ``key`` under the dataset frame, or remove it when not visible."""
        name = f"{DATASET_ROOT}/{key}"
        old = self._handles.pop(key, None)
        if not visible:
            if old is not None:
                old.remove()
            return
        self._handles[key] = make(name)  # same name: viser replaces the old node
        self.session.note(name)


def describe(rec, split: str, index: int, n: int) -> str:
    """Markdown summary of a patch record."""
    size = ", ".join(f"{s:.2f}" for s in rec.box_size)
    fx, fy = rec.intrinsics[:2]
    return "\n".join(
        [
            f"**{rec.patch_id}** ({split} {index + 1}/{n})",
            f"- {rec.cls} / {rec.subtype}, {rec.time_of_day}; source {rec.source}",
            f"- scene {rec.scene_id}, frame {rec.frame_index}, camera {rec.camera}",
            f"- box L,W,H {size} m; distance {rec.distance:.1f} m",
            f"- visibility {rec.visibility:.2f}, truncation {rec.truncation:.2f}",
            f"- object px {rec.object_pixels}, occluded px {rec.occluded_pixels}",
            f"- LiDAR points {len(rec.lidar_points)}; {rec.resolution} px, f {fx:.0f}/{fy:.0f}",
        ]
    )
