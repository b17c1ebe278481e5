"""simulate_lidar against an analytic sphere: returns on its surface within 5 cm, hidden
returns removed, nearer returns kept; first_surface against a known optical depth."""

import math

import numpy as np
import pytest
import torch
from compose.conftest import OCCLUDER_ID, RADIUS, SPHERE_CENTRE, WALL_ID

from gina3d.assets.asset_field import FunctionField
from gina3d.assets.lidar_sim import LidarSimConfig, simulate_lidar
from gina3d.assets.surface_hit import first_surface
from gina3d.geometry.lidar_spec import LidarSpec
from gina3d.geometry.transforms import apply, invert, make_transform

LIDAR_POSE = make_transform(np.eye(3), np.array([0.0, 0.0, 2.0]))  # the box world's LiDAR
# the box world's fan: 32 rows over [-15, 2] deg, 256 columns over [-60, 60] deg
FAN_ROWS = {"beams": 32, "min_elevation_deg": -15.0, "max_elevation_deg": 2.0}
SPEC = LidarSpec(LIDAR_POSE, **FAN_ROWS, azimuth_samples=768)
FAN = LidarSimConfig(grid_elevation_deg=17.0 / 31, grid_azimuth_deg=120.0 / 255)


def sphere_hit(points: np.ndarray) -> np.ndarray:
    """[L] distance from the LiDAR origin to the sphere along the ray to each point (inf)."""
    o = LIDAR_POSE[:3, 3]
    d = (points - o) / np.linalg.norm(points - o, axis=1, keepdims=True)
    rel = np.asarray(SPHERE_CENTRE) - o
    along = d @ rel
    radius = RADIUS - 0.005  # grazing rays may cross too little density to stop
    disc = along**2 - (rel @ rel - radius**2)
    return np.where(disc > 0, along - np.sqrt(np.maximum(disc, 0)), np.inf)


@pytest.mark.parametrize("spec", [SPEC, None], ids=["rig-spec", "points+grid"])
def test_returns_lie_on_the_surface_and_replace_hidden_ones(
    occluded_frame, sphere, sphere_pose, spec
):
    frame = occluded_frame
    assets = [(sphere, sphere_pose, None)]
    res = simulate_lidar(frame, assets, spec=spec, vehicle_from_lidar=LIDAR_POSE, cfg=FAN)
    new = res.points[res.inserted].astype(np.float64)
    assert res.added == len(new) > 100 and (res.instance[res.inserted] == 4).all()
    err = np.abs(np.linalg.norm(apply(invert(sphere_pose), new), axis=1) - RADIUS)
    cm = f"max {err.max() * 100:.3f} cm, mean {err.mean() * 100:.3f} cm"
    print(f"\n{res.beams}: {len(new)} returns, surface error {cm}; {res.removed} removed")
    assert err.max() < 0.05
    # the wall's returns behind the sphere are gone; nothing left lies in its shadow
    assert res.removed > 50
    old = res.points[~res.inserted].astype(np.float64)
    shadow = sphere_hit(old) < np.linalg.norm(old - LIDAR_POSE[:3, 3], axis=1)
    assert not shadow.any()
    # returns in front (the pole) and elsewhere stay untouched
    kept_ids = res.instance[~res.inserted]
    for i in (OCCLUDER_ID, 1):
        assert (kept_ids == i).sum() == (frame.lidar_instance == i).sum()
    assert (kept_ids == WALL_ID).sum() == (frame.lidar_instance == WALL_ID).sum() - res.removed
    assert res.per_asset[0]["returns"] == res.added


def test_pole_in_front_blocks_the_beams_behind_it(occluded_frame, sphere, sphere_pose):
    res = simulate_lidar(occluded_frame, [(sphere, sphere_pose, None)], spec=SPEC)
    pole = occluded_frame.lidar_points[occluded_frame.lidar_instance == OCCLUDER_ID]
    pole_dirs = pole - LIDAR_POSE[:3, 3]
    pole_dirs /= np.linalg.norm(pole_dirs, axis=1, keepdims=True)
    new = res.points[res.inserted] - LIDAR_POSE[:3, 3]
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    # no simulated return sits right behind a pole return (same beam within 0.1 deg)
    closest = np.degrees(np.arccos(np.clip((new @ pole_dirs.T).max(axis=1), -1, 1)))
    assert closest.min() > 0.1


def test_first_surface_finds_the_opacity_threshold():
    """Uniform density c per normalised unit: opacity t reaches `threshold` after
    -ln(1 - threshold) / (c * |d / half|) metres from the box entry."""
    size = np.array([4.0, 2.0, 1.0])
    c = 3.0
    fld = FunctionField(lambda p: (torch.full((len(p),), c), torch.zeros(len(p), 3)), size)
    rng = np.random.default_rng(0)
    d = rng.normal(size=(50, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    origins = -d * 6.0  # outside, pointing at the centre
    for threshold in (0.3, 0.5, 0.9):
        t = first_surface(fld, origins, d, LidarSimConfig(threshold=threshold, step=0.05))
        half = size / 2
        entry = np.max(np.minimum((-half - origins) / d, (half - origins) / d), axis=1)
        scale = np.linalg.norm(d / half, axis=1)
        expect = entry - math.log(1 - threshold) / (c * scale)
        exit_ = np.min(np.maximum((-half - origins) / d, (half - origins) / d), axis=1)
        expect = np.where(expect <= exit_, expect, np.inf)
        both = np.isfinite(expect)
        assert both.any() and (np.isfinite(t) == both).all()
        np.testing.assert_allclose(t[both], expect[both], atol=2e-3)


def sdf_sphere_field(radius: float = RADIUS) -> FunctionField:
    """The conftest sphere as a signed-distance asset (box 2 m: metres = normalised units)."""
    from gina3d.models.sdf import laplace_density

    def sdf(p):
        return p.norm(dim=-1) - radius

    def fn(p):
        return laplace_density(sdf(p), 0.05), torch.tensor([0.8, 0.3, 0.2]).expand(len(p), 3)

    return FunctionField(fn, (2.0, 2.0, 2.0), samples=48, importance=48, sdf_fn=sdf)


@pytest.mark.parametrize("spec", [SPEC, None], ids=["rig-spec", "points+grid"])
def test_sdf_asset_returns_lie_on_its_zero_level_within_1cm(occluded_frame, sphere_pose, spec):
    fld = sdf_sphere_field()
    assert fld.surface == "sdf"
    res = simulate_lidar(
        occluded_frame, [(fld, sphere_pose, None)], spec=spec, vehicle_from_lidar=LIDAR_POSE,
        cfg=FAN,
    )  # fmt: skip
    new = res.points[res.inserted].astype(np.float64)
    err = np.abs(np.linalg.norm(apply(invert(sphere_pose), new), axis=1) - RADIUS)
    print(f"\n{res.beams}: {len(new)} returns, max {err.max() * 100:.4f} cm")
    assert len(new) > 100 and err.max() < 0.01
    assert res.per_asset[0]["surface"] == "zero level"


def test_zero_crossing_from_inside_and_misses():
    fld = sdf_sphere_field()
    cfg = LidarSimConfig(step=0.05)
    o = np.array([[-5.0, 0, 0], [-5.0, 0, 0.95], [0.0, 0, 0]])
    d = np.array([[1.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0]])
    t = first_surface(fld, o, d, cfg)
    assert t[0] == pytest.approx(5.0 - RADIUS, abs=1e-4)
    assert np.isinf(t[1])  # passes above the sphere, inside the box
    assert t[2] == 0.0  # starts inside the asset
    # a surface beyond the box: the ray is inside from the box face on
    big = first_surface(sdf_sphere_field(1.5), o[:1], d[:1], cfg)
    assert big[0] == pytest.approx(4.0, abs=1e-9)
