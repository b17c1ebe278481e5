"""A tiny analytic scene source for tests: boxes seen by one pinhole camera.

Images, instance maps, depth, LiDAR and amodal masks are computed exactly by ray/box
intersection, so patch extraction and the dataset pipeline can be checked against known
answers without the rasteriser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gina3d.data.frame import CameraImage, Frame, ObjectBox
from gina3d.geometry.boxes import ray_box_intersect
from gina3d.geometry.cameras import camera_rays, intrinsics_matrix, pixel_centres
from gina3d.geometry.transforms import OPENCV_FROM_FLU, invert, pose_from_xyz_yaw

W, H = 160, 120
K = intrinsics_matrix(120.0, 120.0, W / 2, H / 2)
VEHICLE_FROM_CAM = invert(OPENCV_FROM_FLU) @ np.eye(4)  # camera at the origin looking along +x
VEHICLE_FROM_CAM[2, 3] = 1.0  # 1 m above the ground


def cast(boxes: list[ObjectBox], origins: np.ndarray, dirs: np.ndarray):
    """Nearest hit distance [...] and instance [...] of rays (vehicle frame) against boxes."""
    best = np.full(origins.shape[:-1], np.inf)
    inst = np.zeros(origins.shape[:-1], dtype=np.int32)
    for b in boxes:
        obj_from_vehicle = invert(b.vehicle_from_obj)
        o = origins @ obj_from_vehicle[:3, :3].T + obj_from_vehicle[:3, 3]
        d = dirs @ obj_from_vehicle[:3, :3].T
        t_near, _, hit = ray_box_intersect(o, d, b.size)
        closer = hit & (t_near < best)
        best = np.where(closer, t_near, best)
        inst = np.where(closer, b.instance_id, inst)
    return best, inst


def make_frame(
    boxes: list[ObjectBox],
    scene_id: str = "scene-00000",
    index: int = 0,
    geometry: list[ObjectBox] | None = None,
) -> Frame:
    """A frame of ``boxes`` (labels); ``geometry`` (default: the boxes) is what rays hit."""
    geometry = boxes if geometry is None else geometry
    cam_from_vehicle = invert(VEHICLE_FROM_CAM)
    origins, dirs = camera_rays(K, cam_from_vehicle, pixel_centres(H, W))
    dist, inst = cast(geometry, origins, dirs)
    z = dist * (dirs @ VEHICLE_FROM_CAM[:3, :3])[..., 2]  # distance along unit ray -> camera z
    depth = np.where(np.isfinite(dist), z, np.inf).astype(np.float32)
    palette = np.array([[90, 140, 200]] + [[40 * i % 255, 200, 80 * i % 255] for i in range(1, 9)])
    image = palette[inst].astype(np.uint8)

    # LiDAR: a fan of rays from 2 m above the ground, every hit becomes a point
    el, az = np.meshgrid(np.radians(np.linspace(-15, 2, 32)), np.radians(np.linspace(-60, 60, 256)))
    ldirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)
    lorig = np.broadcast_to([0.0, 0.0, 2.0], ldirs.shape)
    ldist, linst = cast(geometry, lorig, ldirs)
    hit = np.isfinite(ldist)
    points = (lorig + ldirs * ldist[..., None])[hit]

    def amodal(instance_id: int, Kp, cam_from_vehicle_p, w: int, h: int) -> np.ndarray:
        o, d = camera_rays(Kp, cam_from_vehicle_p, pixel_centres(h, w))
        _, i = cast([b for b in geometry if b.instance_id == instance_id], o, d)
        return i == instance_id

    cam = CameraImage("FRONT", image, K, VEHICLE_FROM_CAM, depth=depth, instance=inst)
    return Frame(
        source="boxworld",
        scene_id=scene_id,
        frame_index=index,
        time_of_day="day",
        cameras=[cam],
        boxes=boxes,
        lidar_points=points.astype(np.float32),
        lidar_instance=linst[hit].astype(np.int32),
        amodal=amodal,
    )


def box(
    instance_id: int, x: float, y: float, size=(4.0, 2.0, 1.5), yaw: float = 0.0, cls="vehicle"
):
    return ObjectBox(
        object_id=f"o{instance_id}",
        instance_id=instance_id,
        cls=cls,
        subtype="sedan" if cls == "vehicle" else "adult",
        vehicle_from_obj=pose_from_xyz_yaw([x, y, size[2] / 2], yaw),
        size=np.array(size, dtype=np.float64),
    )


class BoxWorldSource:
    """A SceneSource of ``n`` scenes; scene i has a car ahead and, for odd i, an occluder."""

    name = "boxworld"

    def __init__(self, n: int = 6) -> None:
        self.n = n

    def settings(self) -> dict:
        return {"n": self.n}

    def scene_ids(self) -> list[str]:
        return [f"scene-{i:05d}" for i in range(self.n)]

    def frames(self, scene_id: str) -> list[Frame]:
        i = int(scene_id.split("-")[1])
        boxes = [box(1, 12.0 + i, 0.5 * (i % 3 - 1), yaw=0.3 * i)]
        if i % 2:
            boxes.append(box(2, 7.0, -1.2, size=(0.6, 0.6, 1.8), cls="pedestrian"))
        return [make_frame(boxes, scene_id, 0)]

    def write_scene_extras(self, scene_id: str, root: Path) -> None:
        pass


class TrackedBoxWorld(BoxWorldSource):
    """Like ``BoxWorldSource`` but each scene is ``frames`` time steps 0.5 s apart in which
    the car turns by ``turn_deg`` per step (seen from a new direction each time) and the
    pedestrian of odd scenes turns with it."""

    def __init__(self, n: int = 4, frames: int = 4, turn_deg: float = 20.0) -> None:
        super().__init__(n)
        self.frames_per_scene, self.turn = frames, np.radians(turn_deg)

    def settings(self) -> dict:
        return {"n": self.n, "frames_per_scene": self.frames_per_scene, "frame_interval": 0.5}

    def frames(self, scene_id: str) -> list[Frame]:
        i = int(scene_id.split("-")[1])
        out = []
        for k in range(self.frames_per_scene):
            boxes = [box(1, 12.0 + i, 0.5 * (i % 3 - 1), yaw=0.3 * i + self.turn * k)]
            if i % 2:
                boxes.append(
                    box(2, 7.0, -1.2, size=(0.6, 0.6, 1.8), yaw=self.turn * k, cls="pedestrian")
                )
            out.append(make_frame(boxes, scene_id, k))
        return out
