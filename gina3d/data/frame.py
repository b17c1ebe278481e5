"""What a log source hands to patch extraction: one time step of cameras, boxes and LiDAR.

Every source (the synthetic world, Waymo raw logs) converts its own conventions into these
types, so that patch extraction knows nothing about where a frame came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CameraImage:
    """One camera's image with its calibration (OpenCV camera frame).

    image: [H,W,3] uint8.
    K: [3,3] intrinsics in pixels.
    vehicle_from_cam: [4,4].
    depth: [H,W] float32 camera z of the nearest surface in metres (inf: nothing), or None
        when the source has no dense depth.
    instance: [H,W] int32 instance id of the nearest surface (0: no object), or None.
    """

    name: str
    image: np.ndarray
    K: np.ndarray
    vehicle_from_cam: np.ndarray
    depth: np.ndarray | None = None
    instance: np.ndarray | None = None
    semantic: np.ndarray | None = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass
class ObjectBox:
    """A labelled 3D box.

    object_id: unique within the dataset (the same physical object keeps it across frames).
    instance_id: the value this object has in the frame's instance images and LiDAR labels.
    vehicle_from_obj: [4,4] pose of the box centre (x forward, y left, z up).
    size: [3] length, width, height in metres.
    """

    object_id: str
    instance_id: int
    cls: str
    subtype: str
    vehicle_from_obj: np.ndarray
    size: np.ndarray
    speed: float = 0.0


# Renders the coverage of one object alone (no occluders) with a given camera:
# (instance_id, K [3,3], cam_from_vehicle [4,4], width, height) -> bool [height, width].
AmodalRenderer = Callable[[int, np.ndarray, np.ndarray, int, int], np.ndarray]


@dataclass
class Frame:
    """One time step of a log.

    lidar_points: [L,3] float32 in the vehicle frame; lidar_instance: [L] int32 (0: none),
    or None when the source has no per-point labels.
    amodal: synthetic sources only; evaluation ground truth, never read by training code.
    """

    source: str
    scene_id: str
    frame_index: int
    time_of_day: str
    cameras: list[CameraImage]
    boxes: list[ObjectBox]
    lidar_points: np.ndarray
    lidar_instance: np.ndarray | None = None
    world_from_vehicle: np.ndarray = field(default_factory=lambda: np.eye(4))
    amodal: AmodalRenderer | None = None
