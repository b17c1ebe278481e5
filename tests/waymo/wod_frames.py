"""Tiny raw v2 perception logs with known answers: ``write_frames(root, ...)``.

A street of boxes (a car, a pedestrian, an unlabelled car, a ground slab) seen by the FRONT
camera and the TOP LiDAR, cast exactly with ``boxworld.cast``. Written as v2 components:
camera_image (JPEG), camera_calibration, camera_segmentation (16-bit panoptic PNG),
lidar (range images) and lidar_calibration (non-uniform beam inclinations), lidar_box,
projected_lidar_box, vehicle_pose, stats. Camera frame as WOD: x forward, y left, z up.
"""

from __future__ import annotations

import io

import numpy as np
from boxworld import box, cast
from PIL import Image
from waymo import wod_schema as ws

from gina3d.data.frame import ObjectBox
from gina3d.geometry.boxes import box_corners
from gina3d.geometry.cameras import camera_rays, intrinsics_matrix, pixel_centres, project
from gina3d.geometry.transforms import OPENCV_FROM_FLU, apply, invert, make_transform, rot_z

W, H = 320, 240
K = intrinsics_matrix(220.0, 220.0, 161.0, 119.0)
VEHICLE_FROM_CAMERA = make_transform(rot_z(0.05), [1.5, 0.1, 1.6])  # WOD camera frame (FLU)
VEHICLE_FROM_LIDAR = make_transform(rot_z(0.3), [0.0, 0.0, 2.0])
INCLINATIONS = np.sort(
    np.radians(np.concatenate([np.linspace(-17, -2, 24), np.linspace(-1.6, 2.5, 8)]))
)
LIDAR_W = 720
DIVISOR = 1000
CAR, PED, OTHER = 2, 9, 2  # semantic classes of the three things


def scene(t: int) -> list[tuple[ObjectBox, str, int]]:
    """(box, laser_object_id or '' for unlabelled, semantic) at frame t."""
    car = box(1, 11.0 + 0.5 * t, 0.8, size=(4.2, 1.9, 1.5), yaw=0.4)
    ped = box(2, 7.0, 0.1, size=(0.7, 0.7, 1.8), cls="pedestrian")
    other = box(3, 25.0, -5.0, size=(4.0, 1.8, 1.5), yaw=0.1)
    ground = ObjectBox(
        "g", 9, "ground", "", make_transform(np.eye(3), [0, 0, -0.1]), np.array([200.0, 200.0, 0.2])
    )
    return [(car, "car-aaaaaaaaaaaaaaaaaa", CAR), (ped, "ped-bbbbbbbbbbbbbbbbbb", PED),
            (other, "", OTHER), (ground, "", 20)]  # fmt: skip


def lidar_directions() -> np.ndarray:
    """Vehicle-frame unit directions [H,W,3] of the TOP LiDAR's range-image cells: row i at
    the i-th highest inclination, column j at vehicle azimuth pi (1 - 2 (j + 0.5) / W)."""
    incl = INCLINATIONS[::-1][:, None]
    az = np.pi * (1 - 2 * (np.arange(LIDAR_W) + 0.5) / LIDAR_W)[None, :]
    return np.stack(
        np.broadcast_arrays(np.cos(incl) * np.cos(az), np.cos(incl) * np.sin(az), np.sin(incl)), -1
    )


def render(t: int) -> dict:
    objs = scene(t)
    boxes = [b for b, _, _ in objs]
    cam_from_vehicle = OPENCV_FROM_FLU @ invert(VEHICLE_FROM_CAMERA)
    o, d = camera_rays(K, cam_from_vehicle, pixel_centres(H, W))
    _, inst = cast(boxes, o, d)
    semantic = np.full((H, W), 25)  # sky
    panoptic_instance = np.zeros((H, W), int)
    for k, (b, _, sem) in enumerate(objs):
        semantic[inst == b.instance_id] = sem
        if sem != 20:
            panoptic_instance[inst == b.instance_id] = 5 + k
    palette = {
        0: (120, 160, 220),
        1: (200, 40, 40),
        2: (40, 40, 200),
        3: (220, 200, 40),
        9: (90, 90, 90),
    }
    image = np.zeros((H, W, 3), np.uint8)
    for i, c in palette.items():
        image[inst == i] = c
    dirs = lidar_directions()
    origin = np.broadcast_to(VEHICLE_FROM_LIDAR[:3, 3], dirs.shape)
    rng, linst = cast(boxes, origin, dirs)
    rng = np.where(np.isfinite(rng) & (rng < 75), rng, 0.0)
    ri = np.zeros((len(INCLINATIONS), LIDAR_W, 4), np.float32)
    ri[..., 0], ri[..., 1] = rng, 0.5
    points = (origin + dirs * rng[..., None])[rng > 0]
    return {"objects": objs, "image": image, "instance": inst, "semantic": semantic,
            "panoptic": semantic * DIVISOR + panoptic_instance, "range_image": ri,
            "points": points, "point_instance": linst[rng > 0]}  # fmt: skip


def _encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _frame_rows(r: dict, segment: str, ts: int, t: int, labelled: bool) -> dict:
    """Component -> rows of one time step."""
    camera = {ws.S: segment, ws.TS: ts, ws.CAM: 1}
    pose = make_transform(np.eye(3), [100.0 + t, 5.0, 0.0])
    ri = r["range_image"]
    jpeg = _encode(r["image"], "JPEG")
    rows = {
        "camera_image": [ws.prefixed("camera_image", {**camera, "image": jpeg})],
        "lidar": [
            ws.prefixed(
                "lidar",
                {
                    ws.S: segment, ws.TS: ts, ws.LASER: 1,
                    "range_image_return1.values": ri.ravel().tolist(),
                    "range_image_return1.shape": list(ri.shape),
                },
            )
        ],
        "vehicle_pose": [
            ws.prefixed("vehicle_pose", {ws.S: segment, ws.TS: ts,
                                         "world_from_vehicle.transform": pose.ravel().tolist()})
        ],
        "stats": [ws.prefixed("stats", {ws.S: segment, ws.TS: ts, "time_of_day": "Night"})],
        "lidar_box": [],
        "projected_lidar_box": [],
    }  # fmt: skip
    if labelled:
        panoptic = _encode(r["panoptic"].astype(np.uint16), "PNG")
        values = {**camera, "panoptic_label_divisor": DIVISOR, "panoptic_label": panoptic}
        rows["camera_segmentation"] = [ws.prefixed("camera_segmentation", values)]
    cam_from_vehicle = OPENCV_FROM_FLU @ invert(VEHICLE_FROM_CAMERA)
    for b, oid, _ in r["objects"]:
        if not oid:
            continue
        v = b.vehicle_from_obj
        box = {f"box.center.{c}": v[i, 3] for i, c in enumerate("xyz")}
        box.update({f"box.size.{c}": b.size[i] for i, c in enumerate("xyz")})
        box["box.heading"] = float(np.arctan2(v[1, 0], v[0, 0]))
        box["type"] = 1 if b.cls == "vehicle" else 2
        rows["lidar_box"].append(
            ws.prefixed("lidar_box", {ws.S: segment, ws.TS: ts, ws.OBJ: oid, **box})
        )
        uv, _ = project(K, apply(cam_from_vehicle @ v, box_corners(b.size)))
        lo, hi = np.maximum(uv.min(0), 0), np.minimum(uv.max(0), [W, H])
        rect = {"box.center.x": (lo[0] + hi[0]) / 2, "box.center.y": (lo[1] + hi[1]) / 2}
        rect.update({"box.size.x": hi[0] - lo[0], "box.size.y": hi[1] - lo[1], "type": box["type"]})
        rows["projected_lidar_box"].append(
            ws.prefixed("projected_lidar_box", {**camera, ws.OBJ: oid, **rect})
        )
    return rows


def write_frames(root, segment: str = "2000_000_000_020_000", frames: int = 2, labelled=(0, 1)):
    """Write ``frames`` time steps (camera_segmentation only for ``labelled``); returns renders."""
    renders = [render(t) for t in range(frames)]
    intrinsic = dict(zip(("f_u", "f_v", "c_u", "c_v"), (K[0, 0], K[1, 1], K[0, 2], K[1, 2])))
    intrinsic.update({k: 0.0 for k in ("k1", "k2", "p1", "p2", "k3")})
    calibration = {
        ws.S: segment, ws.CAM: 1, "width": W, "height": H, "rolling_shutter_direction": 2,
        "extrinsic.transform": VEHICLE_FROM_CAMERA.ravel().tolist(),
        **{f"intrinsic.{k}": v for k, v in intrinsic.items()},
    }  # fmt: skip
    laser = {
        ws.S: segment, ws.LASER: 1, "extrinsic.transform": VEHICLE_FROM_LIDAR.ravel().tolist(),
        "beam_inclination.min": float(INCLINATIONS[0]),
        "beam_inclination.max": float(INCLINATIONS[-1]),
        "beam_inclination.values": INCLINATIONS.tolist(),
    }  # fmt: skip
    tables = {
        "camera_calibration": [ws.prefixed("camera_calibration", calibration)],
        "lidar_calibration": [ws.prefixed("lidar_calibration", laser)],
    }
    for t, r in enumerate(renders):
        ts = 1_500_000_000 + 100_000 * t
        for name, rows in _frame_rows(r, segment, ts, t, t in labelled).items():
            tables.setdefault(name, []).extend(rows)
    for name, rows in tables.items():
        ws.write(root / name / f"{segment}.parquet", name, rows)
    return renders
