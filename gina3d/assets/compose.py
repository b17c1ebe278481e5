"""Insert assets into a camera image of a frame, with depth occlusion and matched brightness.

For each asset, nearest last (docs/compose.md states the rules):

1. ``cam_from_obj = inv(vehicle_from_cam) @ vehicle_from_obj``; only the pixels inside the
   projected box's bounding rectangle are rendered (``AssetField.render`` with the window's
   intrinsics): premultiplied colour, opacity, and the expected distance along each ray.
2. A pixel shows the asset where its opacity exceeds ``min_opacity`` and its distance is
   nearer than the scene's along the same ray (the frame's dense z-depth converted to ray
   distance, else LiDAR points splatted into the image; ``frame_camera.scene_distance``).
   Assets inserted before become part of the scene where they are solid.
3. Brightness: the asset's colour is scaled by ``gain = target / asset`` mean luminance
   (clipped to ``gain_range``), where ``target`` is the mean luminance of the frame's
   objects of the same class in this camera, or of the frame around the box when they
   cover too few pixels. Scaled premultiplied colour is clipped to [0, opacity], so the
   result stays in [0, 1].
4. ``out = gain * rgb + (1 - opacity) * frame`` where visible; solid visible pixels
   (opacity >= ``mask_opacity``) get the asset's new instance id and depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gina3d.assets.asset_field import Insertion, prepare_insertions
from gina3d.assets.frame_camera import (
    box_window,
    frame_camera,
    luminance,
    scene_distance,
    window_intrinsics,
)
from gina3d.assets.surface_hit import surface_depth, surface_kind
from gina3d.data.frame import CameraImage, Frame, ObjectBox
from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import pixel_centres, unproject_directions
from gina3d.geometry.transforms import invert

BRIGHTNESS_RULES = ("objects", "surround", "none")


@dataclass
class ComposeConfig:
    """How assets are composited into a camera image."""

    brightness: str = "objects"
    """objects (same-class objects in view, else surround), surround, or none (gain 1)."""
    min_class_pixels: int = 100
    """The objects rule needs at least this many pixels of same-class objects in view."""
    surround: float = 0.5
    """The surround window grows the box's window by this fraction of its size per side."""
    gain_range: tuple[float, float] = (0.33, 3.0)
    """Brightness gains are clipped to this range."""
    mask_opacity: float = 0.5
    """Opacity from which a pixel is the asset's (instance id, depth)."""
    min_opacity: float = 1e-3
    """Opacity below which a pixel is left untouched."""
    lidar_splat_px: int = 2
    """Frames without dense depth: each LiDAR point covers this many pixels around it."""

    def validate(self) -> None:
        if self.brightness not in BRIGHTNESS_RULES:
            rules = ", ".join(BRIGHTNESS_RULES)
            raise Gina3dError(f"brightness rule '{self.brightness}' unknown (rules: {rules})")
        lo, hi = self.gain_range
        if not 0.0 < lo <= 1.0 <= hi:
            raise Gina3dError(f"gain range {self.gain_range} must satisfy 0 < lo <= 1 <= hi")
        if not 0.0 < self.mask_opacity < 1.0 or not 0.0 <= self.min_opacity < self.mask_opacity:
            raise Gina3dError("need 0 <= min_opacity < mask_opacity < 1")


@dataclass
class ComposeResult:
    """A composed camera image and its labels."""

    camera: str
    image: np.ndarray  # [H,W,3] uint8
    instance: np.ndarray  # [H,W] int32: existing ids kept, each asset's id where it shows
    depth: np.ndarray | None  # [H,W] float32 camera z (inf: nothing), when the frame has depth
    boxes: list[ObjectBox]  # the frame's boxes, then one per asset
    inserted: list[dict] = field(default_factory=list)  # per asset: status, gain, pixels


def _brightness(
    cam: CameraImage, boxes: list[ObjectBox], cls: str, window, rgb, opacity, cfg
) -> dict:
    """Gain and its provenance for an asset rendered in ``window`` (rgb [h,w,3], opacity)."""
    solid = opacity >= cfg.mask_opacity
    if cfg.brightness == "none" or not solid.any():
        return {"rule": "none", "gain": 1.0}
    asset = float(luminance(rgb[solid] / opacity[solid, None]).mean())
    image = cam.image.astype(np.float64) / 255.0
    target = None
    if cfg.brightness == "objects" and cam.instance is not None:
        same = np.isin(cam.instance, [b.instance_id for b in boxes if b.cls == cls])
        if same.sum() >= cfg.min_class_pixels:
            target, rule, pixels = float(luminance(image[same]).mean()), "objects", int(same.sum())
    if target is None:
        x0, y0, x1, y1 = window
        gx, gy = round(cfg.surround * (x1 - x0)), round(cfg.surround * (y1 - y0))
        region = image[max(y0 - gy, 0) : y1 + gy, max(x0 - gx, 0) : x1 + gx]
        target, rule, pixels = float(luminance(region).mean()), "surround", int(region.size // 3)
    gain = float(np.clip(target / max(asset, 1e-3), *cfg.gain_range))
    return {"rule": rule, "gain": gain, "target": target, "asset": asset, "pixels": pixels}


def _distance(cam: CameraImage, ins: Insertion) -> float:
    return float(np.linalg.norm(ins.vehicle_from_obj[:3, 3] - cam.vehicle_from_cam[:3, 3]))


def compose_frame(
    frame: Frame,
    camera_name: str,
    assets,
    model=None,
    cfg: ComposeConfig | None = None,
    device: str = "cpu",
) -> ComposeResult:
    """Insert ``assets`` into camera ``camera_name`` of ``frame``.

    ``assets``: (Asset | AssetField, vehicle_from_obj [4,4], size (3,) or None) triples, or
    ``Insertion``s (see ``asset_field.prepare_insertions``); ``model`` decodes Asset folders
    (default: each asset's recorded stage-1 decoder).
    """
    cfg = cfg or ComposeConfig()
    cfg.validate()
    cam = frame_camera(frame, camera_name)
    insertions = prepare_insertions(frame, assets, model, device)
    image = cam.image.astype(np.float64) / 255.0  # [H,W,3]
    instance = (
        cam.instance.astype(np.int32).copy()
        if cam.instance is not None
        else np.zeros((cam.height, cam.width), dtype=np.int32)
    )
    depth = None if cam.depth is None else cam.depth.astype(np.float32).copy()
    scene = scene_distance(frame, cam, cfg.lidar_splat_px)  # [H,W] ray distance
    ray_len = np.linalg.norm(
        unproject_directions(cam.K, pixel_centres(cam.height, cam.width)), axis=-1
    )  # [H,W] metres along the ray per metre of camera z
    cam_from_vehicle = invert(cam.vehicle_from_cam)
    reports: list[dict] = [{} for _ in insertions]
    far_to_near = sorted(range(len(insertions)), key=lambda i: -_distance(cam, insertions[i]))
    for k in far_to_near:
        ins = insertions[k]
        cam_from_obj = cam_from_vehicle @ ins.vehicle_from_obj
        status, window = box_window(cam, cam_from_obj, ins.size)
        report = {"object_id": ins.object_id, "instance_id": ins.instance_id, "status": status}
        report.update(window=window, source=ins.source)
        reports[k] = report
        if window is None:
            continue
        x0, y0, x1, y1 = window
        K_w = window_intrinsics(cam.K, x0, y0)
        out = ins.field.render(K_w, cam_from_obj, y1 - y0, x1 - x0)
        a, rgb, dist = out["opacity"].astype(np.float64), out["rgb"], out["depth"]  # [h,w](,3)
        if surface_kind(ins.field) == "sdf":  # depth of the surface itself, where rays meet it
            hit = surface_depth(ins.field, K_w, cam_from_obj, y1 - y0, x1 - x0, a > cfg.min_opacity)
            dist = np.where(np.isfinite(hit), hit, dist)
        sl = (slice(y0, y1), slice(x0, x1))
        bright = _brightness(cam, frame.boxes, ins.cls, window, rgb, a, cfg)
        visible = (a > cfg.min_opacity) & (dist < scene[sl])  # [h,w]
        colour = np.clip(rgb * bright["gain"], 0.0, a[..., None])  # premultiplied, <= opacity
        blended = colour + (1.0 - a[..., None]) * image[sl]
        image[sl] = np.where(visible[..., None], blended, image[sl])
        solid = a >= cfg.mask_opacity
        shown = visible & solid
        instance[sl][shown] = ins.instance_id
        scene[sl] = np.where(shown, dist, scene[sl])
        if depth is not None:
            depth[sl] = np.where(shown, dist / ray_len[sl], depth[sl])
        report["brightness"] = bright
        report["pixels"] = {"rendered": int(solid.sum())}
    for ins, report in zip(insertions, reports):  # after all: nearer assets hide farther ones
        if "pixels" in report:
            shown = int((instance == ins.instance_id).sum())
            report["pixels"].update(visible=shown, occluded=report["pixels"]["rendered"] - shown)
    boxes = list(frame.boxes) + [
        ObjectBox(i.object_id, i.instance_id, i.cls, "inserted", i.vehicle_from_obj, i.size)
        for i in insertions
    ]
    rgb8 = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return ComposeResult(cam.name, rgb8, instance, depth, boxes, reports)


def box_record(box: ObjectBox) -> dict:
    """A box as plain JSON: ids, class, centre (vehicle frame), yaw, size and pose."""
    pose = np.asarray(box.vehicle_from_obj, dtype=np.float64)
    return {
        "object_id": box.object_id,
        "instance_id": int(box.instance_id),
        "cls": box.cls,
        "subtype": box.subtype,
        "center": [round(float(v), 6) for v in pose[:3, 3]],
        "yaw": round(float(np.arctan2(pose[1, 0], pose[0, 0])), 6),
        "size": [round(float(v), 6) for v in box.size],
        "vehicle_from_obj": np.round(pose, 6).tolist(),
    }
