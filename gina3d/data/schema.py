"""The object-patch record: the one place that defines its fields, types and encodings.

A record is one object seen by one camera at one time. In memory it is a ``PatchRecord`` of
numpy arrays; on disk it is one Parquet row of ``ARROW_SCHEMA``. Images are PNG bytes;
float arrays are raw little-endian float32 bytes whose shape follows from ``resolution``
(and ``num_lidar_points`` for the LiDAR points). docs/data_format.md documents every field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
from PIL import Image

SCHEMA_VERSION = 1

# Values of the ``masks`` label image: every patch pixel is exactly one of these.
BACKGROUND, OBJECT, OCCLUDER = 0, 1, 2

ARROW_SCHEMA = pa.schema(
    [
        ("patch_id", pa.string()),
        ("source", pa.string()),
        ("scene_id", pa.string()),
        ("frame_index", pa.int32()),
        ("camera", pa.string()),
        ("object_id", pa.string()),
        ("split", pa.string()),
        ("cls", pa.string()),
        ("subtype", pa.string()),
        ("time_of_day", pa.string()),
        ("resolution", pa.int32()),
        ("rgb", pa.binary()),
        ("masks", pa.binary()),
        ("amodal_mask", pa.binary()),
        ("ray_origin", pa.binary()),
        ("ray_direction", pa.binary()),
        ("intrinsics", pa.list_(pa.float64(), 4)),
        ("cam_from_obj", pa.list_(pa.float64(), 16)),
        ("vehicle_from_obj", pa.list_(pa.float64(), 16)),
        ("box_size", pa.list_(pa.float64(), 3)),
        ("lidar_points", pa.binary()),
        ("num_lidar_points", pa.int32()),
        ("lidar_depth", pa.binary()),
        ("visibility", pa.float32()),
        ("truncation", pa.float32()),
        ("distance", pa.float32()),
        ("object_pixels", pa.int32()),
        ("occluded_pixels", pa.int32()),
        ("crop", pa.list_(pa.float64(), 3)),
        ("image_size", pa.list_(pa.int32(), 2)),
    ]
)

# Columns cheap to read for statistics (no pixel data).
META_COLUMNS = [f.name for f in ARROW_SCHEMA if f.type not in (pa.binary(),)]


@dataclass
class PatchRecord:
    """One object patch. Shapes use H = W = resolution, L = LiDAR points.

    rgb [H,W,3] uint8; masks [H,W] uint8 labels (BACKGROUND, OBJECT, OCCLUDER);
    amodal_mask [H,W] bool or None (synthetic ground truth, evaluation only);
    ray_origin, ray_direction [H,W,3] float32 in the object frame (unit directions);
    intrinsics [4] (fx, fy, cx, cy) and cam_from_obj [4,4] of the patch camera;
    vehicle_from_obj [4,4]; box_size [3] metres (length, width, height);
    lidar_points [L,3] float32 in the object frame; lidar_depth [H,W] float32 distance along
    the pixel's ray in metres (0: no return); crop [3] (x0, y0, side) in frame pixels;
    image_size [2] (H, W) of the frame.
    """

    patch_id: str
    source: str
    scene_id: str
    frame_index: int
    camera: str
    object_id: str
    split: str
    cls: str
    subtype: str
    time_of_day: str
    resolution: int
    rgb: np.ndarray
    masks: np.ndarray
    amodal_mask: np.ndarray | None
    ray_origin: np.ndarray
    ray_direction: np.ndarray
    intrinsics: np.ndarray
    cam_from_obj: np.ndarray
    vehicle_from_obj: np.ndarray
    box_size: np.ndarray
    lidar_points: np.ndarray
    lidar_depth: np.ndarray
    visibility: float
    truncation: float
    distance: float
    object_pixels: int
    occluded_pixels: int
    crop: np.ndarray
    image_size: np.ndarray

    @property
    def object_mask(self) -> np.ndarray:
        return self.masks == OBJECT

    @property
    def occluder_mask(self) -> np.ndarray:
        return self.masks == OCCLUDER

    @property
    def background_mask(self) -> np.ndarray:
        return self.masks == BACKGROUND


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 [H,W] or [H,W,3] image."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """uint8 array of a PNG."""
    return np.array(Image.open(io.BytesIO(data)))


def _f32(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def encode_record(rec: PatchRecord) -> dict:
    """A dict of plain values matching ``ARROW_SCHEMA``."""
    res = rec.resolution
    for name, shape in (("rgb", (res, res, 3)), ("masks", (res, res)), ("lidar_depth", (res, res))):
        if getattr(rec, name).shape != shape:
            raise ValueError(f"record {rec.patch_id}: {name} has shape {getattr(rec, name).shape}")
    return {
        "patch_id": rec.patch_id,
        "source": rec.source,
        "scene_id": rec.scene_id,
        "frame_index": int(rec.frame_index),
        "camera": rec.camera,
        "object_id": rec.object_id,
        "split": rec.split,
        "cls": rec.cls,
        "subtype": rec.subtype,
        "time_of_day": rec.time_of_day,
        "resolution": int(res),
        "rgb": encode_png(rec.rgb.astype(np.uint8)),
        "masks": encode_png(rec.masks.astype(np.uint8)),
        "amodal_mask": None
        if rec.amodal_mask is None
        else encode_png(rec.amodal_mask.astype(np.uint8) * 255),
        "ray_origin": _f32(rec.ray_origin),
        "ray_direction": _f32(rec.ray_direction),
        "intrinsics": [float(x) for x in rec.intrinsics],
        "cam_from_obj": [float(x) for x in np.asarray(rec.cam_from_obj).reshape(16)],
        "vehicle_from_obj": [float(x) for x in np.asarray(rec.vehicle_from_obj).reshape(16)],
        "box_size": [float(x) for x in rec.box_size],
        "lidar_points": _f32(rec.lidar_points),
        "num_lidar_points": len(rec.lidar_points),
        "lidar_depth": _f32(rec.lidar_depth),
        "visibility": float(rec.visibility),
        "truncation": float(rec.truncation),
        "distance": float(rec.distance),
        "object_pixels": int(rec.object_pixels),
        "occluded_pixels": int(rec.occluded_pixels),
        "crop": [float(x) for x in rec.crop],
        "image_size": [int(x) for x in rec.image_size],
    }


def decode_row(row: dict) -> PatchRecord:
    """The inverse of ``encode_record``."""
    res = int(row["resolution"])

    def f32(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.frombuffer(row[name], dtype="<f4").reshape(shape).astype(np.float32)

    amodal = row.get("amodal_mask")
    values = {f.name: row.get(f.name) for f in fields(PatchRecord)}
    values.update(
        rgb=decode_png(row["rgb"]),
        masks=decode_png(row["masks"]),
        amodal_mask=None if amodal is None else decode_png(amodal) > 127,
        ray_origin=f32("ray_origin", (res, res, 3)),
        ray_direction=f32("ray_direction", (res, res, 3)),
        intrinsics=np.asarray(row["intrinsics"], dtype=np.float64),
        cam_from_obj=np.asarray(row["cam_from_obj"], dtype=np.float64).reshape(4, 4),
        vehicle_from_obj=np.asarray(row["vehicle_from_obj"], dtype=np.float64).reshape(4, 4),
        box_size=np.asarray(row["box_size"], dtype=np.float64),
        lidar_points=f32("lidar_points", (int(row["num_lidar_points"]), 3)),
        lidar_depth=f32("lidar_depth", (res, res)),
        crop=np.asarray(row["crop"], dtype=np.float64),
        image_size=np.asarray(row["image_size"], dtype=np.int64),
    )
    return PatchRecord(**values)
