"""Save and load whole frames (cameras, depth, segmentation, LiDAR, boxes) as one .npz each.

``gina3d synth --save-frames`` keeps the driving log itself next to the patches, at
``DATASET/frames/<scene_id>/<frame:03d>.npz``; scene composition and viewers read it back.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from gina3d.atomic import atomic_write_bytes
from gina3d.data.frame import CameraImage, Frame, ObjectBox
from gina3d.errors import Gina3dError


def frame_path(root: str | os.PathLike, scene_id: str, frame_index: int) -> Path:
    return Path(root) / "frames" / scene_id / f"{frame_index:03d}.npz"


def save_frame(root: str | os.PathLike, frame: Frame) -> Path:
    """Write the frame atomically (compressed); the amodal renderer is not saved."""
    arrays: dict[str, np.ndarray] = {
        "lidar_points": frame.lidar_points,
        "world_from_vehicle": frame.world_from_vehicle,
    }
    if frame.lidar_instance is not None:
        arrays["lidar_instance"] = frame.lidar_instance
    for i, cam in enumerate(frame.cameras):
        for name in ("image", "K", "vehicle_from_cam", "depth", "instance", "semantic"):
            value = getattr(cam, name)
            if value is not None:
                arrays[f"cam{i}_{name}"] = value
    for i, b in enumerate(frame.boxes):
        arrays[f"box{i}_vehicle_from_obj"] = b.vehicle_from_obj
        arrays[f"box{i}_size"] = np.asarray(b.size)
    meta = {
        "source": frame.source,
        "scene_id": frame.scene_id,
        "frame_index": frame.frame_index,
        "time_of_day": frame.time_of_day,
        "cameras": [c.name for c in frame.cameras],
        "boxes": [
            {
                "object_id": b.object_id,
                "instance_id": b.instance_id,
                "cls": b.cls,
                "subtype": b.subtype,
                "speed": b.speed,
            }
            for b in frame.boxes
        ],
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path = frame_path(root, frame.scene_id, frame.frame_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_frame(path: str | os.PathLike) -> Frame:
    """Read a frame written by ``save_frame``."""
    try:
        data = np.load(path)
        meta = json.loads(bytes(data["meta"]).decode())
    except (OSError, ValueError, KeyError) as e:
        raise Gina3dError(f"{path}: not a readable gina3d frame ({e})") from None
    cams = []
    for i, name in enumerate(meta["cameras"]):

        def get(key: str, i: int = i):
            k = f"cam{i}_{key}"
            return data[k] if k in data else None

        cams.append(
            CameraImage(
                name,
                get("image"),
                get("K"),
                get("vehicle_from_cam"),
                get("depth"),
                get("instance"),
                get("semantic"),
            )
        )
    boxes = [
        ObjectBox(
            b["object_id"],
            b["instance_id"],
            b["cls"],
            b["subtype"],
            data[f"box{i}_vehicle_from_obj"],
            data[f"box{i}_size"],
            b["speed"],
        )
        for i, b in enumerate(meta["boxes"])
    ]
    return Frame(
        source=meta["source"],
        scene_id=meta["scene_id"],
        frame_index=meta["frame_index"],
        time_of_day=meta["time_of_day"],
        cameras=cams,
        boxes=boxes,
        lidar_points=data["lidar_points"],
        lidar_instance=data["lidar_instance"] if "lidar_instance" in data else None,
        world_from_vehicle=data["world_from_vehicle"],
    )
