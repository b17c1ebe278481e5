"""The synthetic driving world as a scene source: seeded streets rendered like a driving log.

Scene ``i`` of seed ``s`` is drawn from ``np.random.default_rng([s, i])`` alone, so scenes are
reproducible one by one, in any order and in any worker process. Each scene is a short log:
``frames_per_scene`` time steps of the ego vehicle driving down a street, each with five
camera images (with depth, instance and semantic images), a top LiDAR sweep and 3D boxes.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gina3d.atomic import atomic_write_bytes
from gina3d.data.frame import CameraImage, Frame, ObjectBox
from gina3d.data.render.lighting import TIMES_OF_DAY, apply_sensor, sample_lighting
from gina3d.data.render.raster import Draw, default_renderer
from gina3d.data.sources.synthetic.asset import Asset
from gina3d.data.sources.synthetic.lidar import simulate_lidar
from gina3d.data.sources.synthetic.pedestrians import sample_pedestrian
from gina3d.data.sources.synthetic.rig import RIGS, LidarSpec, waymo_like_rig
from gina3d.data.sources.synthetic.street import SEMANTIC, Street, make_street
from gina3d.data.sources.synthetic.traffic import SceneObject, make_traffic
from gina3d.data.sources.synthetic.vehicles import sample_vehicle
from gina3d.errors import Gina3dError
from gina3d.geometry.mesh import Mesh
from gina3d.geometry.transforms import apply, invert, pose_from_xyz_yaw


@dataclass
class SynthConfig:
    """Settings of the synthetic world (``gina3d synth`` options map onto these)."""

    scenes: int = 40
    """Number of scenes (short logs on different streets)."""
    frames_per_scene: int = 16
    """Time steps per scene: with ``frame_interval`` and the ego's speed, how far the ego
    drives past the objects, i.e. how widely each object is seen (its track's view spread;
    ``gina3d inspect`` reports it; docs/synthetic_world.md has the measurements)."""
    frame_interval: float = 0.5
    """Seconds between time steps."""
    ego_speed: tuple[float, float] = (7.0, 13.0)
    """Range of the ego vehicle's speed in m/s (drawn per scene)."""
    ego_stopped_share: float = 0.0
    """Share of scenes in which the ego vehicle stands still."""
    rig: str = "surround"
    """Cameras: "waymo" (the five Waymo cameras) or "surround" (plus two looking back)."""
    camera_scale: float = 1 / 3
    """Camera resolution relative to Waymo's 1920-pixel-wide images."""
    lidar_azimuths: int = 1024
    """LiDAR columns per revolution (64 beams)."""
    time_of_day_weights: tuple[float, float, float] = (0.55, 0.2, 0.25)
    """Probabilities of day, dusk and night scenes."""
    assets: str | None = None
    """Directory of user meshes (one subfolder per class or body type), or None."""
    user_asset_fraction: float = 0.5
    """Share of objects drawn from the user's meshes when a class has some."""

    def validate(self) -> None:
        if self.scenes < 1 or self.frames_per_scene < 1:
            raise Gina3dError(f"scenes ({self.scenes}) and frames per scene must be at least 1")
        if not 0.0 < self.frame_interval <= 10.0:
            raise Gina3dError(f"frame interval {self.frame_interval} s must lie in (0, 10]")
        if not 0.05 <= self.camera_scale <= 1.0:
            raise Gina3dError(f"camera scale {self.camera_scale} must lie in [0.05, 1]")
        w = self.time_of_day_weights
        if len(w) != 3 or min(w) < 0 or sum(w) <= 0:
            raise Gina3dError(f"time-of-day weights {w} must be three non-negatives")
        lo, hi = self.ego_speed
        if not 0.0 <= lo <= hi <= 30.0:
            raise Gina3dError(
                f"ego speed range {self.ego_speed} must satisfy 0 <= low <= high <= 30"
            )
        if self.rig not in RIGS:
            raise Gina3dError(f"unknown rig '{self.rig}' (rigs: {', '.join(RIGS)})")
        if not 0.0 <= self.ego_stopped_share <= 1.0:
            raise Gina3dError("ego stopped share must lie in [0, 1]")
        if not 0.0 <= self.user_asset_fraction <= 1.0:
            raise Gina3dError("user asset fraction must lie in [0, 1]")


@dataclass
class Scene:
    scene_id: str
    time_of_day: str
    street: Street
    objects: list[SceneObject]
    static: list[tuple[Mesh, int]]  # merged static meshes with their semantic ids
    ego_y: float
    ego_speed: float

    def world_from_vehicle(self, t: float) -> np.ndarray:
        return pose_from_xyz_yaw([self.ego_speed * t, self.ego_y, 0.0], 0.0)


class SyntheticSource:
    """A ``SceneSource`` (see gina3d.data.build) for the synthetic world."""

    name = "synthetic"

    def __init__(self, cfg: SynthConfig, seed: int) -> None:
        cfg.validate()
        self.cfg, self.seed = cfg, seed
        self._user: list[Asset] | None = None
        self._user_fingerprint = None
        if cfg.assets is not None:
            from gina3d.data.sources.synthetic.user_assets import load_user_assets

            self._user = load_user_assets(cfg.assets)  # fail early, in the main process
            digest = hashlib.sha256()
            for f in sorted(p for p in Path(cfg.assets).rglob("*") if p.is_file()):
                digest.update(f"{f.relative_to(cfg.assets)}:{f.stat().st_size}".encode())
            self._user_fingerprint = digest.hexdigest()[:16]
        self._scene_cache: tuple[str, Scene] | None = None

    def settings(self) -> dict:
        d = asdict(self.cfg)
        d["time_of_day_weights"] = list(d["time_of_day_weights"])
        d["ego_speed"] = list(d["ego_speed"])
        d["assets_fingerprint"] = self._user_fingerprint
        return d

    def scene_ids(self) -> list[str]:
        return [f"scene-{i:05d}" for i in range(self.cfg.scenes)]

    def _sample_asset(self, rng: np.random.Generator, cls: str) -> Asset:
        pool = [a for a in self._user or [] if a.cls == cls]
        if pool and rng.random() < self.cfg.user_asset_fraction:
            return pool[int(rng.integers(len(pool)))]
        return sample_vehicle(rng) if cls == "vehicle" else sample_pedestrian(rng)

    def scene(self, scene_id: str) -> Scene:
        """The scene's layout (cached: frames and extras of one scene reuse it)."""
        if self._scene_cache and self._scene_cache[0] == scene_id:
            return self._scene_cache[1]
        index = int(scene_id.split("-")[1])
        rng = np.random.default_rng([self.seed, index])
        w = np.asarray(self.cfg.time_of_day_weights, dtype=np.float64)
        time_of_day = TIMES_OF_DAY[int(rng.choice(3, p=w / w.sum()))]
        street = make_street(rng)
        ego_y = float(rng.choice(street.lane_centres(True)))
        stopped = rng.random() < self.cfg.ego_stopped_share
        ego_speed = 0.0 if stopped else float(rng.uniform(*self.cfg.ego_speed))
        duration = self.cfg.frame_interval * (self.cfg.frames_per_scene - 1)
        objects = make_traffic(
            street, self._sample_asset, rng, scene_id, duration, ego_y, time_of_day != "day"
        )
        static = [(Mesh.merge(ms), SEMANTIC[k]) for k, ms in street.meshes.items()]
        scene = Scene(scene_id, time_of_day, street, objects, static, ego_y, ego_speed)
        if self._scene_cache is not None:
            default_renderer().clear_cache()  # the previous scene's meshes leave the GPU cache
        self._scene_cache = (scene_id, scene)
        return scene

    def frames(self, scene_id: str) -> list[Frame]:
        scene = self.scene(scene_id)
        index = int(scene_id.split("-")[1])
        lighting = sample_lighting(
            np.random.default_rng([self.seed, index, 1]),
            scene.time_of_day,
            np.array(scene.street.lamp_positions).reshape(-1, 3),
        )
        return [
            self._frame(scene, k, lighting, np.random.default_rng([self.seed, index, 2, k]))
            for k in range(self.cfg.frames_per_scene)
        ]

    def _frame(self, scene: Scene, k: int, lighting, rng: np.random.Generator) -> Frame:
        t = k * self.cfg.frame_interval
        renderer = default_renderer()
        world_from_vehicle = scene.world_from_vehicle(t)
        vehicle_from_world = invert(world_from_vehicle)
        draws = [Draw(m, np.eye(4), 0, sem) for m, sem in scene.static]
        by_instance = {}
        for obj in scene.objects:
            sem = SEMANTIC[obj.asset.cls]
            d = Draw(obj.asset.mesh, obj.world_from_obj(t), obj.instance_id, sem, obj.lights_on)
            draws.append(d)
            by_instance[obj.instance_id] = d
        cameras = []
        for spec in waymo_like_rig(self.cfg.camera_scale, self.cfg.rig):
            cam_from_world = invert(world_from_vehicle @ spec.vehicle_from_cam)
            out = renderer.render(draws, spec.K, cam_from_world, spec.width, spec.height, lighting)
            image = apply_sensor(out.rgb, rng, lighting)
            cameras.append(
                CameraImage(
                    spec.name,
                    image,
                    spec.K,
                    spec.vehicle_from_cam,
                    out.depth,
                    out.instance,
                    out.semantic,
                )
            )
        lidar = self._lidar(draws, world_from_vehicle, rng)
        boxes = [
            ObjectBox(
                obj.object_id,
                obj.instance_id,
                obj.asset.cls,
                obj.asset.subtype,
                vehicle_from_world @ obj.world_from_obj(t),
                obj.asset.size,
                float(np.linalg.norm(obj.velocity)),
            )
            for obj in scene.objects
        ]

        def amodal(instance_id: int, K, cam_from_vehicle, width: int, height: int) -> np.ndarray:
            cam_from_world = cam_from_vehicle @ vehicle_from_world
            return renderer.render_mask(
                [by_instance[instance_id]], K, cam_from_world, width, height
            )

        return Frame(
            source=self.name,
            scene_id=scene.scene_id,
            frame_index=k,
            time_of_day=scene.time_of_day,
            cameras=cameras,
            boxes=boxes,
            lidar_points=apply(vehicle_from_world, lidar[0]).astype(np.float32),
            lidar_instance=lidar[1],
            world_from_vehicle=world_from_vehicle,
            amodal=amodal,
        )

    def _lidar(self, draws: list[Draw], world_from_vehicle: np.ndarray, rng) -> tuple:
        spec = LidarSpec(azimuth_samples=self.cfg.lidar_azimuths)
        meshes = [d.mesh.transformed(d.world_from_mesh) for d in draws]
        inst = np.concatenate([np.full(len(d.mesh.faces), d.instance_id, np.int32) for d in draws])
        sem = np.concatenate([np.full(len(d.mesh.faces), d.semantic_id, np.uint8) for d in draws])
        sweep = simulate_lidar(
            Mesh.merge(meshes), inst, sem, world_from_vehicle @ spec.vehicle_from_lidar, spec, rng
        )
        return sweep.points_world, sweep.instance

    def write_scene_extras(self, scene_id: str, root: Path) -> None:
        """Ground-truth meshes in each object's frame: ``meshes/<object_id>.ply`` (metres)."""
        import trimesh

        out = Path(root) / "meshes"
        out.mkdir(parents=True, exist_ok=True)
        for obj in self.scene(scene_id).objects:
            m = obj.asset.mesh
            colours = (np.clip(m.colors, 0, 1) * 255).astype(np.uint8)
            tm = trimesh.Trimesh(m.vertices, m.faces, vertex_colors=colours, process=False)
            atomic_write_bytes(out / f"{obj.object_id}.ply", tm.export(file_type="ply"))
