"""Objects of one synthetic scene: parked and moving vehicles, walking and standing people.

Placement follows how streets look in driving logs: cars parked bumper to bumper along the
curbs (they hide each other and the people behind them), traffic in the lanes and on the
crossing street, pedestrians alone or in small groups on the sidewalks, crossing at the
zebra crossings and stepping out between parked cars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gina3d.data.sources.synthetic.asset import Asset
from gina3d.data.sources.synthetic.street import CURB, LANE, PARKING, SIDEWALK, X_MAX, X_MIN, Street
from gina3d.geometry.transforms import pose_from_xyz_yaw

# (rng, cls) -> Asset; lets the world mix procedural and user assets.
AssetSampler = Callable[[np.random.Generator, str], Asset]


@dataclass
class SceneObject:
    """One object: its asset, pose at time 0 and constant velocity in the world frame."""

    object_id: str
    instance_id: int
    asset: Asset
    world_from_obj0: np.ndarray  # [4,4]
    velocity: np.ndarray  # [3] m/s
    lights_on: bool

    def world_from_obj(self, t: float) -> np.ndarray:
        pose = self.world_from_obj0.copy()
        pose[:3, 3] += self.velocity * t
        return pose


class _Placer:
    """Adds objects while keeping their footprints (over the scene's duration) apart."""

    def __init__(self, scene_id: str, sample: AssetSampler, rng, duration: float, ego_y: float):
        self.scene_id, self.sample, self.rng, self.duration = scene_id, sample, rng, duration
        self.objects: list[SceneObject] = []
        # the ego vehicle's swept footprint (x0, x1, y0, y1): nothing may be placed there
        self.boxes: list[tuple[float, float, float, float]] = [(-6, 25, ego_y - 1.3, ego_y + 1.3)]

    def _footprint(self, asset: Asset, x: float, y: float, yaw: float, v: np.ndarray):
        l, w = asset.size[0], asset.size[1]
        hx = abs(np.cos(yaw)) * l / 2 + abs(np.sin(yaw)) * w / 2
        hy = abs(np.sin(yaw)) * l / 2 + abs(np.cos(yaw)) * w / 2
        x0, x1 = x - hx, x + hx
        y0, y1 = y - hy, y + hy
        dx, dy = v[0] * self.duration, v[1] * self.duration
        return (min(x0, x0 + dx), max(x1, x1 + dx), min(y0, y0 + dy), max(y1, y1 + dy))

    def place(
        self,
        asset: Asset,
        x: float,
        y: float,
        z_ground: float,
        yaw: float,
        speed: float = 0.0,
        lights: bool = False,
        gap: float = 0.3,
    ) -> bool:
        v = np.array([np.cos(yaw), np.sin(yaw), 0.0]) * speed
        fp = self._footprint(asset, x, y, yaw, v)
        for b in self.boxes:
            if (
                fp[0] < b[1] + gap
                and b[0] < fp[1] + gap
                and fp[2] < b[3] + gap
                and b[2] < fp[3] + gap
            ):
                return False
        self.boxes.append(fp)
        pose = pose_from_xyz_yaw([x, y, z_ground + asset.size[2] / 2], yaw)
        idx = len(self.objects) + 1
        obj = SceneObject(f"{self.scene_id}-o{idx:03d}", idx, asset, pose, v, lights)
        self.objects.append(obj)
        return True


def _parked(p: _Placer, street: Street, lights: bool) -> None:
    if not street.parking:
        return
    occupancy = p.rng.uniform(0.5, 0.9)
    for sign in (-1, 1):
        y = sign * (street.half_width - PARKING / 2)
        x = X_MIN + p.rng.uniform(0, 5)
        while x < X_MAX - 5:
            asset = p.sample(p.rng, "vehicle")
            length = asset.size[0]
            if asset.size[1] > PARKING + 0.4 or street.in_cross_street(x + length / 2, 3.0):
                x += length + 1.0
                continue
            yaw = (0.0 if sign < 0 else np.pi) + p.rng.normal(0, 0.04)
            if p.rng.random() < 0.1:
                yaw += np.pi  # parked the other way round
            if p.rng.random() < occupancy:
                # a few parked cars have their lights on (about to leave) at night
                p.place(
                    asset,
                    x + length / 2,
                    y + p.rng.normal(0, 0.1),
                    0.0,
                    yaw,
                    lights=lights and p.rng.random() < 0.15,
                    gap=0.2,
                )
            x += length + p.rng.uniform(0.6, 4.0)


def _moving(p: _Placer, street: Street, lights: bool) -> None:
    for heading_plus_x in (True, False):
        for y in street.lane_centres(heading_plus_x):
            speed = p.rng.uniform(0, 13) if p.rng.random() < 0.85 else 0.0
            yaw = 0.0 if heading_plus_x else np.pi
            for x in np.sort(p.rng.uniform(X_MIN + 10, X_MAX - 20, p.rng.integers(1, 5))):
                asset = p.sample(p.rng, "vehicle")
                p.place(
                    asset,
                    x,
                    y + p.rng.normal(0, 0.15),
                    0.0,
                    yaw + p.rng.normal(0, 0.02),
                    speed,
                    lights,
                    gap=3.0,
                )
    if street.cross_x is not None:
        for sign in (-1, 1):  # lanes of the crossing street, heading +y (x > cross) or -y
            x = street.cross_x + sign * LANE / 2
            yaw = sign * np.pi / 2
            for dist in np.sort(p.rng.uniform(street.half_width + 3, 40, p.rng.integers(0, 3))):
                asset = p.sample(p.rng, "vehicle")
                y = -sign * dist  # approaching the junction, waiting or driving away
                speed = 0.0 if p.rng.random() < 0.5 else p.rng.uniform(3, 9)
                p.place(asset, x, y, 0.0, yaw, speed, lights, gap=2.0)


def _pedestrians(p: _Placer, street: Street, count: int) -> None:
    y_in, y_out = street.half_width + 0.3, street.half_width + SIDEWALK - 0.3
    for _ in range(count):
        sign = 1 if p.rng.random() < 0.5 else -1
        mode = p.rng.random()
        x = p.rng.uniform(X_MIN + 20, X_MAX - 40)
        if mode < 0.15 and street.cross_x is not None:  # crossing the main road at a zebra
            x = street.cross_x + sign * (street.cross_half_width + 2.0) + p.rng.normal(0, 0.5)
            y, z, yaw = p.rng.uniform(-street.half_width, street.half_width), 0.0, sign * np.pi / 2
        elif mode < 0.3 and street.parking:  # between parked cars, about to step out
            y, z = sign * (street.half_width - PARKING / 2), 0.0
            yaw = -sign * np.pi / 2 + p.rng.normal(0, 0.3)
        else:
            y, z = sign * p.rng.uniform(y_in, y_out), CURB
            yaw = (0.0 if p.rng.random() < 0.5 else np.pi) + p.rng.normal(0, 0.15)
            if p.rng.random() < 0.25:
                yaw = p.rng.uniform(-np.pi, np.pi)
        speed = p.rng.uniform(0.8, 1.6) if p.rng.random() < 0.7 else 0.0
        group = 1 if p.rng.random() < 0.6 else int(p.rng.integers(2, 4))
        for g in range(group):
            asset = p.sample(p.rng, "pedestrian")
            dx, dy = p.rng.normal(0, 0.6), p.rng.normal(0, 0.3) if g else 0.0
            p.place(asset, x + dx * (g > 0) + g * 0.7, y + dy, z, yaw, speed, gap=0.05)


def make_traffic(
    street: Street,
    sample: AssetSampler,
    rng: np.random.Generator,
    scene_id: str,
    duration: float,
    ego_y: float,
    night: bool,
) -> list[SceneObject]:
    """All objects of the scene, with instance ids 1..N in placement order."""
    p = _Placer(scene_id, sample, rng, duration, ego_y)
    _parked(p, street, night)
    _moving(p, street, night)
    _pedestrians(p, street, int(rng.integers(6, 18)))
    return p.objects
