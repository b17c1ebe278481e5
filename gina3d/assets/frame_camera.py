"""A saved frame seen for scene composition: find it, pick a camera, where a box lands in
the image, how far the scene is along each pixel's ray, and which LiDAR scanned it.

Frames are the ``.npz`` files of ``gina3d synth --save-frames`` (``DATASET/frames/<scene>/
<NNN>.npz``, ``data/frame_io.py``); Waymo frames saved the same way load the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gina3d.data.frame import CameraImage, Frame
from gina3d.data.frame_io import load_frame
from gina3d.errors import Gina3dError
from gina3d.geometry.boxes import box_corners
from gina3d.geometry.cameras import depth_to_distance, pixel_centres, project
from gina3d.geometry.transforms import apply, invert

NEAR = 0.05  # metres: box corners closer to the camera plane than this count as behind it
LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luma weights on [0,1] encoded RGB


def parse_frame_spec(text: str) -> tuple[str, int]:
    """ "scene-00003:1" -> ("scene-00003", 1)."""
    scene, sep, index = text.rpartition(":")
    if not sep or not scene or not index.isdigit():
        raise Gina3dError(f"--frame '{text}': expected SCENE:INDEX, e.g. scene-00000:0")
    return scene, int(index)


def find_frame(root: str | os.PathLike, spec: str) -> tuple[Frame, Path]:
    """Load frame ``SCENE:INDEX`` from a dataset directory or its ``frames/`` directory."""
    scene, index = parse_frame_spec(spec)
    root = Path(root)
    if not root.is_dir():
        raise Gina3dError(f"{root}: no such dataset or frames directory")
    frames_dir = root / "frames" if (root / "frames").is_dir() else root
    path = frames_dir / scene / f"{index:03d}.npz"  # as data/frame_io.py's frame_path
    if not path.exists():
        scenes = sorted(p.name for p in frames_dir.iterdir() if p.is_dir())[:5]
        hint = f" (scenes: {', '.join(scenes)}...)" if scenes else " (no saved frames there)"
        raise Gina3dError(f"{path}: no such frame{hint}")
    return load_frame(path), path


def frame_camera(frame: Frame, name: str) -> CameraImage:
    for cam in frame.cameras:
        if cam.name == name:
            return cam
    names = ", ".join(c.name for c in frame.cameras)
    raise Gina3dError(f"--camera {name}: not in this frame (cameras: {names})")


def lidar_spec_for(frame: Frame, frame_file: str | os.PathLike | None = None):
    """The synthetic rig's LidarSpec of a synthetic frame (azimuth count from the dataset's
    ``build.json`` when found beside ``frames/``), else None (e.g. Waymo frames)."""
    from gina3d.geometry.lidar_spec import LidarSpec

    if frame.source != "synthetic":
        return None
    azimuths = LidarSpec().azimuth_samples
    if frame_file is not None:
        build = Path(frame_file).parent.parent.parent / "build.json"
        if build.exists():
            settings = json.loads(build.read_text()).get("source_settings", {})
            azimuths = int(settings.get("lidar_azimuths", azimuths))
    return LidarSpec(azimuth_samples=azimuths)


def box_window(
    cam: CameraImage, cam_from_obj: np.ndarray, size: np.ndarray
) -> tuple[str, tuple[int, int, int, int] | None]:
    """Where a box lands in the image: ("ok", (x0, y0, x1, y1)) integer pixel bounds of its
    projected bounding rectangle clipped to the image (x1, y1 exclusive), or ("behind_camera"
    | "out_of_view", None). A box straddling the camera plane gets the whole image."""
    corners = apply(cam_from_obj, box_corners(size))  # [8,3] camera frame
    if corners[:, 2].max() <= NEAR:
        return "behind_camera", None
    if corners[:, 2].min() <= NEAR:
        return "ok", (0, 0, cam.width, cam.height)
    uv, _ = project(cam.K, corners)  # [8,2]
    x0, y0 = np.floor(uv.min(0)).astype(int)
    x1, y1 = np.ceil(uv.max(0)).astype(int)
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), cam.width), min(int(y1), cam.height)
    if x1 <= x0 or y1 <= y0:
        return "out_of_view", None
    return "ok", (x0, y0, x1, y1)


def window_intrinsics(K: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """K [3,3] of the sub-image starting at column x0, row y0 (same focal lengths)."""
    out = np.array(K, dtype=np.float64)
    out[0, 2] -= x0
    out[1, 2] -= y0
    return out


def scene_distance(frame: Frame, cam: CameraImage, splat_px: int = 2) -> np.ndarray:
    """[H,W] metric distance along each pixel's ray to the nearest scene surface (inf: none).

    From the camera's dense z-depth when the source has one (converted with
    ``depth_to_distance``), else from the LiDAR points projected into the image: each point
    covers the square of ``splat_px`` pixels around it, the nearest point wins, and pixels
    no point covers are empty (inf).
    """
    centres = pixel_centres(cam.height, cam.width)  # [H,W,2]
    if cam.depth is not None:
        with np.errstate(invalid="ignore"):
            dist = depth_to_distance(cam.K, cam.depth.astype(np.float64), centres)
        return np.where(np.isfinite(dist) & (dist > 0), dist, np.inf)
    dist = np.full((cam.height, cam.width), np.inf)
    pts = apply(invert(cam.vehicle_from_cam), frame.lidar_points.astype(np.float64))  # [L,3]
    pts = pts[pts[:, 2] > NEAR]
    if not len(pts):
        return dist
    uv, _ = project(cam.K, pts)
    col, row = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
    rng = np.linalg.norm(pts, axis=1)
    for dr in range(-splat_px, splat_px + 1):
        for dc in range(-splat_px, splat_px + 1):
            r, c = row + dr, col + dc
            ok = (r >= 0) & (r < cam.height) & (c >= 0) & (c < cam.width)
            np.minimum.at(dist, (r[ok], c[ok]), rng[ok])
    return dist


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luma [...] of encoded RGB [...,3] in [0,1] (no linearisation)."""
    return np.asarray(rgb, dtype=np.float64) @ LUMA
