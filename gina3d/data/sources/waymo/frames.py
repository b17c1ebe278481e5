"""Raw WOD v2 perception logs -> ``Frame`` objects, a ``SceneSource`` for patch extraction.

A frame is emitted for every timestamp with a ``camera_segmentation`` row (only those have
the instance images that object masks come from; the report counts the others), holding
the cameras that have one: JPEG image and panoptic label undistorted to the calibrated
pinhole (OpenCV frame), the segment's instances tied to ``lidar_box`` boxes
(``instances.py``), and the LiDAR points of every laser's range images in the vehicle
frame (``range_image.py``; the top LiDAR with its per-pixel poses when ``lidar_pose`` is
there). Large components are streamed in row batches; a segment never sits in memory.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from gina3d.atomic import atomic_write_json
from gina3d.data.filters import FilterConfig, FilterCounts
from gina3d.data.frame import CameraImage, Frame
from gina3d.data.patches import PatchConfig, extract_frame_patches
from gina3d.data.schema import PatchRecord
from gina3d.data.sources.waymo import frame_tables as ft
from gina3d.data.sources.waymo.camera_model import undistort
from gina3d.data.sources.waymo.columns import CAMERA, LASER, TIMESTAMP, col, decode_image, tensor
from gina3d.data.sources.waymo.instances import AssociationConfig, instance_image
from gina3d.data.sources.waymo.layout import Layout
from gina3d.data.sources.waymo.merge import ROW, read_keys
from gina3d.data.sources.waymo.range_image import beam_inclinations, range_image_to_points
from gina3d.data.sources.waymo.stream import RowStream, cell
from gina3d.geometry.boxes import box_corners
from gina3d.geometry.cameras import project
from gina3d.geometry.transforms import apply, invert

IMAGE = col("CameraImageComponent", "image")
SEG = "CameraSegmentationLabelComponent"
PANOPTIC = [col(SEG, "panoptic_label_divisor"), col(SEG, "panoptic_label")]


def _range_columns(component: str, returns) -> list[str]:
    names = [f"range_image_return{r}.{p}" for r in returns for p in ("values", "shape")]
    return [col(component, n) for n in names]


@dataclass
class FrameConfig:
    """How raw logs become frames (patches are cut by ``gina3d.data.patches``)."""

    patches: PatchConfig = field(default_factory=PatchConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    classes: tuple[str, ...] = ("vehicle", "pedestrian")
    """lidar_box types that become objects (others still occlude through their segments)."""
    lidar_returns: tuple[int, ...] = (1, 2)
    """Range-image returns turned into points."""
    undistort: bool = True
    """Resample images to the distortion-free pinhole of the calibration."""
    batch_rows: int = 8
    """Rows of a large component read at a time (bounds memory)."""


class WaymoFrameSource:
    """A ``SceneSource`` over the segments of a raw v2 layout (scene id = segment name)."""

    name = "waymo_frames"

    def __init__(self, layout: Layout, cfg: FrameConfig) -> None:
        self.layout = layout
        self.cfg = cfg
        self.reports: dict[str, dict] = {}

    def settings(self) -> dict:
        return {"segments": len(self.layout.segments), "classes": list(self.cfg.classes)}

    def scene_ids(self) -> list[str]:
        return list(self.layout.segments)

    def write_scene_extras(self, scene_id: str, root: Path) -> None:
        if scene_id in self.reports:
            path = Path(root) / "waymo_reports" / f"{scene_id}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, self.reports[scene_id])

    def frames(self, scene_id: str) -> Iterator[Frame]:
        report = self.reports.setdefault(scene_id, {})
        report.setdefault("segment", scene_id)
        yield from _segment_frames(self.layout, scene_id, self.cfg, report)


def frame_records(
    layout: Layout, segment: str, cfg: FrameConfig, report: dict, filters: FilterCounts
) -> Iterator[PatchRecord]:
    """Patches of every frame of a segment, cut by the shared extraction code."""
    source = WaymoFrameSource(layout, cfg)
    source.reports[segment] = report
    for frame in source.frames(segment):
        records, counts = extract_frame_patches(frame, cfg.patches, cfg.filters)
        filters.add(counts)
        yield from records


def _keyed_stream(layout, folder, segment, columns, keep_ts, batch_rows, report):
    """(stream, (ts, sensor) -> row) of a large component, or (None, {}) when absent."""
    path = layout.file(folder, segment)
    if path is None:
        report.setdefault("missing_files", []).append(folder)
        return None, {}
    keys = read_keys(path, folder)
    sensor = CAMERA if CAMERA in keys.schema.names else LASER
    index = {}
    for ts, s, r in zip(*(keys[c].to_pylist() for c in (TIMESTAMP, sensor, ROW + folder))):
        if ts in keep_ts:
            index.setdefault((ts, s), r)
    have = set(pq.ParquetFile(path).schema_arrow.names)
    present = [c for c in columns if c in have]
    if len(present) < len(columns):
        report.setdefault("missing_columns", {})[folder] = sorted(set(columns) - set(present))
    return RowStream(path, present, index.values(), batch_rows), index


def _segment_frames(
    layout: Layout, segment: str, cfg: FrameConfig, report: dict
) -> Iterator[Frame]:
    def f(name: str) -> Path | None:
        return layout.file(name, segment)

    cams = ft.cameras(f("camera_calibration"), report)
    lasers = ft.lidars(f("lidar_calibration"), report)
    boxes = ft.boxes(f("lidar_box"), cfg.classes, report)
    projected, human = ft.regions_2d(layout, segment, report)
    poses = ft.poses(f("vehicle_pose"), report)
    tod = ft.times_of_day(f("stats"), report)
    if f("camera_segmentation") is None:
        report["error"] = "no camera_segmentation file: no instance images, no patches"
        return
    image_keys = read_keys(f("camera_image"), "camera_image")
    all_ts = sorted(set(image_keys[TIMESTAMP].to_pylist()))
    frame_of = {ts: i for i, ts in enumerate(all_ts)}
    seg_keys = read_keys(f("camera_segmentation"), "camera_segmentation")
    labelled = set(seg_keys[TIMESTAMP].to_pylist()) & set(all_ts)
    counts = Counter(
        frames_total=len(all_ts), frames_without_segmentation=len(all_ts) - len(labelled)
    )
    report["counts"] = counts
    if not cams or not lasers:
        report["error"] = "no camera or lidar calibration"
        return

    def stream(folder: str, columns: list[str], batch_rows: int):
        if not layout.has(folder):
            return None, {}
        return _keyed_stream(layout, folder, segment, columns, labelled, batch_rows, report)

    n = cfg.batch_rows
    images, image_at = stream("camera_image", [IMAGE], n)
    panoptic, panoptic_at = stream("camera_segmentation", PANOPTIC, n)
    lidar, lidar_at = stream("lidar", _range_columns("LiDARComponent", cfg.lidar_returns), 1)
    lpose, lpose_at = stream("lidar_pose", _range_columns("LiDARPoseComponent", (1,)), 1)
    lasers_at = defaultdict(list)
    for ts, laser in lidar_at:
        lasers_at[ts].append(laser)
    for ts in sorted(labelled):
        points = []
        for laser in sorted(lasers_at.get(ts, [])):
            motion = (lpose, lpose_at.get((ts, laser)), poses.get(ts))
            row = lidar_at[(ts, laser)]
            points.append(_laser_points(lidar, row, laser, lasers, cfg, counts, *motion))
        points = np.concatenate(points) if points else np.zeros((0, 3), np.float32)
        frame_boxes = boxes.get(ts, [])
        cameras = []
        for cam_id in sorted({c for t, c in panoptic_at if t == ts}):
            if (ts, cam_id) not in image_at or cam_id not in cams:
                counts["cameras_without_image_or_calibration"] += 1
                continue
            batch, j = images.get(image_at[(ts, cam_id)])
            image = decode_image(cell(batch, IMAGE)[j].as_py())
            batch, j = panoptic.get(panoptic_at[(ts, cam_id)])
            divisor = cell(batch, PANOPTIC[0])[j].as_py() or 1
            label = decode_image(cell(batch, PANOPTIC[1])[j].as_py(), np.int64)
            if image is None or label is None or image.shape[:2] != label.shape[:2]:
                counts["cameras_bad_image_or_label"] += 1
                continue
            rects = (projected, human.get((ts, cam_id), []), ts, cam_id)
            camera = _camera(cams[cam_id], image, label, divisor, frame_boxes, points, rects, cfg)
            counts.update(camera[1])
            cameras.append(camera[0])
        counts["frames"] += 1
        yield Frame(
            source="waymo_frames",
            scene_id=segment,
            frame_index=frame_of[ts],
            time_of_day=tod.get(ts, "day"),
            cameras=cameras,
            boxes=frame_boxes,
            lidar_points=points,
            world_from_vehicle=poses.get(ts, np.eye(4)),
        )
    report["counts"] = dict(counts)


def _laser_points(lidar, row, laser, lasers, cfg, counts, lpose, pose_row, world_from_vehicle):
    """Vehicle-frame points [N,3] of one laser's range images at one frame."""
    if laser not in lasers:
        counts["lasers_without_calibration"] += 1
        return np.zeros((0, 3), np.float32)
    calib = lasers[laser]
    batch, j = lidar.get(row)
    pixel_pose = None
    if lpose is not None and pose_row is not None and world_from_vehicle is not None:
        pb, pj = lpose.get(pose_row)
        values, shape = (cell(pb, c) for c in _range_columns("LiDARPoseComponent", (1,)))
        if values is not None and shape is not None:
            pixel_pose = tensor(values, shape, pj)
    out = []
    for r in cfg.lidar_returns:
        values, shape = (cell(batch, c) for c in _range_columns("LiDARComponent", (r,)))
        ri = None if values is None or shape is None else tensor(values, shape, j)
        if ri is None:
            counts["range_images_null"] += 1
            continue
        incl = beam_inclinations(ri.shape[0], calib["min"], calib["max"], calib["values"])
        pp = pixel_pose if pixel_pose is not None and pixel_pose.shape[:2] == ri.shape[:2] else None
        counts["points_motion_compensated" if pp is not None else "points_uncompensated"] += 1
        pts, _ = range_image_to_points(
            ri, calib["vehicle_from_lidar"], incl, pp, world_from_vehicle
        )
        out.append(pts)
    return np.concatenate(out) if out else np.zeros((0, 3), np.float32)


def _camera(cam, image, label, divisor, boxes, points, rects, cfg) -> tuple[CameraImage, dict]:
    """The undistorted camera image with instances tied to boxes, and association counts."""
    if cfg.undistort:
        coords = cam.source_pixels(*image.shape[:2])
        image = undistort(image, coords)
        label = undistort(label, coords, labels=True)
    cam_from_vehicle = invert(cam.vehicle_from_cam)
    regions = _regions(boxes, cam, cam_from_vehicle, rects, image.shape)
    inst, semantic, counts = instance_image(
        label, divisor, boxes, points, cam.K, cam_from_vehicle, regions, cfg.association
    )
    camera = CameraImage(
        cam.name, image, cam.K, cam.vehicle_from_cam, instance=inst, semantic=semantic
    )
    return camera, counts


def _regions(boxes, cam, cam_from_vehicle, rects, shape) -> dict:
    """object_id -> (x0, y0, x1, y1): projected_lidar_box, else the best-overlapping
    camera_box, else the projected 3D box; only boxes in front of the camera."""
    projected, human, ts, cam_id = rects
    out = {}
    for b in boxes:
        corners = apply(cam_from_vehicle @ b.vehicle_from_obj, box_corners(b.size))
        if corners[:, 2].min() < 0.1:
            continue
        uv, _ = project(cam.K, corners)
        lo, hi = np.maximum(uv.min(0), 0), np.minimum(uv.max(0), [shape[1], shape[0]])
        if (hi <= lo).any():
            continue
        rect = (lo[0], lo[1], hi[0], hi[1])
        if (ts, cam_id, b.object_id) in projected:
            rect = projected[(ts, cam_id, b.object_id)]
        elif human:
            best = max(human, key=lambda r: _iou(r, rect))
            rect = best if _iou(best, rect) >= 0.5 else rect
        out[b.object_id] = rect
    return out


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
