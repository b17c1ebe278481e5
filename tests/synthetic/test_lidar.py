"""LiDAR ray casting: hits on surfaces, labels, Embree vs numpy reference, determinism."""

import dataclasses

import numpy as np
import pytest

from gina3d.data.sources.synthetic.lidar import simulate_lidar, simulate_lidar_reference
from gina3d.geometry.lidar_spec import LidarSpec
from gina3d.geometry.mesh import Mesh

BOX_MIN, BOX_MAX = np.array([6.0, -1.0, 0.0]), np.array([10.0, 1.0, 1.5])


def scene():
    """A 100 m ground square (instance 0, semantic 1) and a box (instance 7, semantic 2)."""
    ground = Mesh(
        [[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]],
        [[0, 1, 2], [0, 2, 3]],
        (0.5, 0.5, 0.5),
    )
    lo, hi = BOX_MIN, BOX_MAX
    v = np.array(
        [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    )
    f = [
        [0, 1, 3],
        [0, 3, 2],
        [4, 6, 7],
        [4, 7, 5],
        [0, 4, 5],
        [0, 5, 1],
        [2, 3, 7],
        [2, 7, 6],
        [0, 2, 6],
        [0, 6, 4],
        [1, 5, 7],
        [1, 7, 3],
    ]
    box = Mesh(v, f, (0.8, 0.1, 0.1))
    mesh = Mesh.merge([ground, box])
    inst = np.array([0] * 2 + [7] * 12, np.int32)
    sem = np.array([1] * 2 + [2] * 12, np.uint8)
    return mesh, inst, sem


def pose(z=2.0):
    m = np.eye(4)
    m[2, 3] = z
    return m


def box_surface_distance(p):
    """Distance [N] of points to the surface of the axis-aligned box."""
    c, h = (BOX_MIN + BOX_MAX) / 2, (BOX_MAX - BOX_MIN) / 2
    q = np.abs(p - c) - h
    outside = np.linalg.norm(np.maximum(q, 0), axis=1)
    inside = np.minimum(q.max(1), 0)
    return np.abs(outside + inside)


SMALL = LidarSpec(beams=16, azimuth_samples=256)


def test_points_lie_on_surfaces_with_the_right_labels():
    mesh, inst, sem = scene()
    sweep = simulate_lidar(mesh, inst, sem, pose(), LidarSpec(), np.random.default_rng(0))
    assert len(sweep) > 1000 and sweep.points_world.dtype == np.float32
    noise = LidarSpec().range_noise_std
    ground = sweep.instance == 0
    assert ground.any() and (sweep.instance == 7).any()
    # Noise is along the ray, so the distance to the surface is at most the range noise.
    on_ground = np.abs(sweep.points_world[ground, 2])
    on_box = box_surface_distance(sweep.points_world[~ground].astype(np.float64))
    for dist in (on_ground, on_box):
        assert np.all(dist < 5 * noise) and np.mean(dist < 3 * noise) > 0.99
    assert np.all(sweep.semantic[ground] == 1) and np.all(sweep.semantic[~ground] == 2)
    assert np.all(sweep.range <= LidarSpec().max_range + 5 * noise)
    assert np.all((sweep.intensity >= 0) & (sweep.intensity <= 1))
    assert sweep.beam.dtype == np.int16 and sweep.azimuth_index.dtype == np.int16
    # The box is straight ahead: its returns come from the middle columns.
    assert np.all(np.abs(sweep.azimuth_index[~ground] - 512) < 100)


def test_max_range_and_dropout():
    mesh, inst, sem = scene()
    spec = dataclasses.replace(LidarSpec(), max_range=20.0, dropout=0.0, range_noise_std=0.0)
    sweep = simulate_lidar(mesh, inst, sem, pose(), spec, np.random.default_rng(1))
    assert sweep.range.max() <= 20.0
    lossy = simulate_lidar(
        mesh, inst, sem, pose(), dataclasses.replace(spec, dropout=0.3), np.random.default_rng(1)
    )
    assert 0.6 < len(lossy) / len(sweep) < 0.8


def test_embree_agrees_with_reference():
    mesh, inst, sem = scene()
    for z in (2.0, 0.7):
        a = simulate_lidar(mesh, inst, sem, pose(z), SMALL, np.random.default_rng(3))
        b = simulate_lidar_reference(mesh, inst, sem, pose(z), SMALL, np.random.default_rng(3))
        assert len(a) == len(b) > 100
        np.testing.assert_array_equal(a.beam, b.beam)
        np.testing.assert_array_equal(a.azimuth_index, b.azimuth_index)
        np.testing.assert_array_equal(a.instance, b.instance)
        np.testing.assert_allclose(a.range, b.range, atol=1e-4)
        np.testing.assert_allclose(a.points_world, b.points_world, atol=1e-4)


def test_same_rng_same_sweep():
    mesh, inst, sem = scene()
    a = simulate_lidar(mesh, inst, sem, pose(), SMALL, np.random.default_rng(5))
    b = simulate_lidar(mesh, inst, sem, pose(), SMALL, np.random.default_rng(5))
    c = simulate_lidar(mesh, inst, sem, pose(), SMALL, np.random.default_rng(6))
    for field in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))
    assert not np.array_equal(a.range, c.range) or len(a) != len(c)


def test_bad_labels_and_empty_mesh():
    mesh, inst, sem = scene()
    with pytest.raises(ValueError):
        simulate_lidar(mesh, inst[:-1], sem, pose(), SMALL, np.random.default_rng(0))
    empty = Mesh(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
    sweep = simulate_lidar(
        empty, np.zeros(0, np.int32), np.zeros(0, np.uint8), pose(), SMALL, np.random.default_rng(0)
    )
    assert len(sweep) == 0 and sweep.points_world.shape == (0, 3)
