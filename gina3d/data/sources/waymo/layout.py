"""Where WOD v2 components live: ``<root>/<component folder>/<segment>.parquet``.

The object-asset release keeps one folder per category and component
(``veh_asset_camera_sensor``, ``ped_asset_ray_compressed`` with its ``codec_config.json``,
``veh_asset_refined_pose`` ...) next to the regular perception folders (``lidar_box``,
``camera_image`` ...). A folder or file that is missing is reported, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from gina3d.errors import Gina3dError

CATEGORIES = {"veh": "vehicle", "ped": "pedestrian"}
ASSET_PARTS = ("camera_sensor", "lidar_sensor", "ray", "ray_compressed", "auto_label")
VEHICLE_ONLY_PARTS = ("refined_pose",)
# Regular perception folders the asset conversion reads when present.
ASSET_EXTRAS = ("lidar_box", "stats", "camera_calibration")
FRAME_REQUIRED = ("camera_image", "camera_calibration", "lidar_box", "camera_segmentation")
FRAME_OPTIONAL = (
    "projected_lidar_box",
    "camera_box",
    "lidar",
    "lidar_calibration",
    "lidar_pose",
    "lidar_camera_projection",
    "vehicle_pose",
    "stats",
)
CODEC_CONFIG = "codec_config.json"


def asset_folder(category: str, part: str) -> str:
    """Release folder name, e.g. ``asset_folder('veh', 'ray') == 'veh_asset_ray'``."""
    return f"{category}_asset_{part}"


def segments_in(folder: Path) -> list[str]:
    """Segment names of the parquet files in a component folder (sorted)."""
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.parquet"))


@dataclass
class Layout:
    """The component folders found under a root and the segments to convert."""

    root: Path
    folders: dict[str, Path] = field(default_factory=dict)
    """Folder name -> path, for every known folder that exists."""
    missing: list[str] = field(default_factory=list)
    """Known folders that do not exist (reported)."""
    segments: list[str] = field(default_factory=list)

    def has(self, folder: str) -> bool:
        return folder in self.folders

    def file(self, folder: str, segment: str) -> Path | None:
        """The segment's parquet file in a folder, or None if the folder or file is absent."""
        if folder not in self.folders:
            return None
        path = self.folders[folder] / f"{segment}.parquet"
        return path if path.exists() else None

    def report(self) -> dict:
        return {
            "root": str(self.root),
            "folders": sorted(self.folders),
            "missing_folders": self.missing,
            "segments": len(self.segments),
        }


def _scan(root: str | Path, names: list[str]) -> Layout:
    root = Path(root)
    if not root.is_dir():
        raise Gina3dError(f"{root}: no such directory")
    layout = Layout(root)
    for name in names:
        if (root / name).is_dir():
            layout.folders[name] = root / name
        else:
            layout.missing.append(name)
    return layout


def scan_assets(root: str | Path, segments: list[str] | None = None) -> Layout:
    """Find the object-asset folders; segments are those with a camera_sensor file."""
    names = [asset_folder(c, p) for c in CATEGORIES for p in ASSET_PARTS]
    names += [asset_folder("veh", p) for p in VEHICLE_ONLY_PARTS]
    layout = _scan(root, names + list(ASSET_EXTRAS))
    drivers = [asset_folder(c, "camera_sensor") for c in CATEGORIES]
    if not any(layout.has(d) for d in drivers):
        raise Gina3dError(
            f"{layout.root}: no object-asset folders (expected {' or '.join(drivers)}/"
            "<segment>.parquet; is --root the split directory of the release?)"
        )
    found = sorted({s for d in drivers for s in segments_in(layout.root / d)})
    layout.segments = _select(layout.root, found, segments)
    return layout


def scan_frames(root: str | Path, segments: list[str] | None = None) -> Layout:
    """Find the raw perception folders; segments are those with a camera_image file."""
    layout = _scan(root, list(FRAME_REQUIRED) + list(FRAME_OPTIONAL))
    absent = [name for name in FRAME_REQUIRED if not layout.has(name)]
    if absent:
        raise Gina3dError(f"{layout.root}: missing component folders: {', '.join(absent)}")
    if not (layout.has("lidar") and layout.has("lidar_calibration")):
        raise Gina3dError(
            f"{layout.root}: needs lidar/ and lidar_calibration/ for LiDAR points (range images)"
        )
    found = segments_in(layout.root / "camera_image")
    layout.segments = _select(layout.root, found, segments)
    return layout


def _select(root: Path, found: list[str], wanted: list[str] | None) -> list[str]:
    if wanted:
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            raise Gina3dError(f"{root}: no such segment(s): {', '.join(unknown[:3])}")
        found = sorted(set(wanted))
    if not found:
        raise Gina3dError(f"{root}: no segment files (<segment>.parquet) found")
    return found


def file_columns(path: Path) -> list[str]:
    """Column names of a parquet file (reads the footer only)."""
    try:
        return pq.ParquetFile(path).schema_arrow.names
    except Exception as e:  # any Arrow/IO failure means an unreadable file
        raise Gina3dError(f"{path}: not a readable parquet file ({str(e).splitlines()[0]})") from e
