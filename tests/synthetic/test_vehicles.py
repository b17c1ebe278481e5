"""Procedural vehicles: every body type builds a sane, outward-facing, centred mesh in its size
range, deterministically, with wheels, glass and lights; type and colour distributions."""

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gina3d.data.sources.synthetic import primitives as prim
from gina3d.data.sources.synthetic.vehicle_parts import GLASS, TYRE
from gina3d.data.sources.synthetic.vehicles import (
    VEHICLE_DIMENSIONS,
    VEHICLE_TYPE_FREQUENCY,
    VEHICLE_TYPES,
    sample_vehicle,
    sample_vehicle_color,
    sample_vehicle_type,
)

SEEDS = (0, 1, 2)


def signed_volume(vertices, faces):
    tri = vertices.astype(np.float64)[faces]  # [F,3,3]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6)


def closed_components(mesh):
    """Face index arrays of the mesh's connected parts that are closed surfaces."""
    f = mesh.faces
    n_v = len(mesh.vertices)
    rows = np.concatenate([f[:, 0], f[:, 1]])
    cols = np.concatenate([f[:, 1], f[:, 2]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_v, n_v))
    _, label = connected_components(graph, directed=False)
    out = []
    for comp in np.unique(label[f[:, 0]]):
        faces = f[label[f[:, 0]] == comp]
        edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        undirected = np.sort(edges, axis=1)
        _, counts = np.unique(undirected, axis=0, return_counts=True)
        if np.all(counts == 2):
            out.append(faces)
    return out


def face_areas(mesh):
    tri = mesh.vertices.astype(np.float64)[mesh.faces]
    return 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)


@pytest.fixture(scope="module")
def fleet():
    """{(type, seed): Asset} built once for the module."""
    return {
        (t, s): sample_vehicle(np.random.default_rng(s), t) for t in VEHICLE_TYPES for s in SEEDS
    }


def test_type_tables_are_consistent():
    assert len(VEHICLE_TYPES) >= 12
    assert set(VEHICLE_TYPE_FREQUENCY) == set(VEHICLE_TYPES) == set(VEHICLE_DIMENSIONS)
    assert sum(VEHICLE_TYPE_FREQUENCY.values()) == pytest.approx(1.0)
    assert min(VEHICLE_TYPE_FREQUENCY.values()) >= 0.02
    top2 = sorted(VEHICLE_TYPE_FREQUENCY, key=VEHICLE_TYPE_FREQUENCY.get)[-2:]
    assert set(top2) == {"sedan", "suv"}
    for required in (
        "sedan",
        "hatchback",
        "suv",
        "pickup",
        "van",
        "bus",
        "box_truck",
        "trailer",
        "garbage_truck",
        "construction",
        "ambulance",
        "police",
    ):
        assert required in VEHICLE_TYPES


@pytest.mark.parametrize("body_type", VEHICLE_TYPES)
def test_mesh_is_valid_centred_and_in_range(fleet, body_type):
    lo_hi = np.array(VEHICLE_DIMENSIONS[body_type])  # [3,2]
    for seed in SEEDS:
        asset = fleet[body_type, seed]
        m = asset.mesh
        assert asset.cls == "vehicle" and asset.subtype == body_type
        assert asset.source == "procedural"
        assert m.faces.min() >= 0 and m.faces.max() < len(m.vertices)
        assert np.isfinite(m.vertices).all()
        assert m.colors.shape == m.emissive.shape == m.vertices.shape
        assert 0.0 <= m.colors.min() and m.colors.max() <= 1.0
        lo, hi = m.bounds
        np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-5)
        size = asset.size
        assert np.all(size >= lo_hi[:, 0] - 0.02) and np.all(size <= lo_hi[:, 1] + 0.02), size
        assert len(m.faces) < 3000
        areas = face_areas(m)
        assert areas.max() < size[0] * size[2]  # no exploded faces
        assert np.mean(areas < 1e-9) < 0.01  # hardly any degenerate faces


@pytest.mark.parametrize("body_type", VEHICLE_TYPES)
def test_normals_face_outward(fleet, body_type):
    m = fleet[body_type, 0].mesh
    closed = closed_components(m)
    assert len(closed) >= 5  # body parts and wheels are closed solids
    for faces in closed:
        assert signed_volume(m.vertices, faces) > 0
    tri = m.vertices.astype(np.float64)[m.faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # [F,3], |n| = 2 area
    outward = np.einsum("ij,ij->i", normal, tri.mean(1)) > 0
    area = np.linalg.norm(normal, axis=1)
    assert area[outward].sum() / area.sum() > 0.55  # crude: inner walls face the centre


@pytest.mark.parametrize("body_type", VEHICLE_TYPES)
def test_wheels_touch_the_ground(fleet, body_type):
    for seed in SEEDS:
        asset = fleet[body_type, seed]
        v, c = asset.mesh.vertices, asset.mesh.colors
        low = v[:, 2] < -asset.size[2] / 2 + 0.005
        assert low.sum() >= 8  # two rings of at least four tyres
        np.testing.assert_allclose(c[low], np.broadcast_to(TYRE, c[low].shape), atol=1e-6)
        assert np.ptp(v[low, 0]) > 1.0  # at least two axles apart
        assert v[low, 1].min() < 0 < v[low, 1].max()  # both sides


@pytest.mark.parametrize("body_type", VEHICLE_TYPES)
def test_glass_and_lights(fleet, body_type):
    asset = fleet[body_type, 0]
    m, half_length = asset.mesh, asset.size[0] / 2
    x, e = m.vertices[:, 0], m.emissive
    red = (e[:, 0] > 0.8) & (e[:, 1] < 0.2) & (e[:, 2] < 0.2)
    assert red.any() and x[red].min() < -0.95 * half_length  # tail lamps at the back
    warm = (e[:, 0] > 0.9) & (e[:, 1] > 0.8) & (e[:, 2] > 0.6) & (e[:, 2] < 0.8)
    amber = (e[:, 0] > 0.9) & (e[:, 1] > 0.4) & (e[:, 1] < 0.7) & (e[:, 2] < 0.1)
    front = warm if body_type != "trailer" else amber  # a trailer has front markers only
    assert front.any() and x[front].max() > 0.95 * half_length
    if body_type != "trailer":
        assert np.isclose(m.colors, GLASS, atol=1e-6).all(axis=1).sum() >= 12


def test_same_seed_same_mesh_and_different_seeds_differ():
    a = sample_vehicle(np.random.default_rng(7))
    b = sample_vehicle(np.random.default_rng(7))
    assert a.subtype == b.subtype
    for name in ("vertices", "faces", "colors", "emissive"):
        np.testing.assert_array_equal(getattr(a.mesh, name), getattr(b.mesh, name))
    sizes = {
        tuple(np.round(sample_vehicle(np.random.default_rng(s), "sedan").size, 4)) for s in range(6)
    }
    assert len(sizes) == 6


def test_unknown_body_type_lists_valid_names():
    with pytest.raises(ValueError, match=r"sedan.*bus"):
        sample_vehicle(np.random.default_rng(0), "hovercraft")
    with pytest.raises(ValueError, match="valid"):
        sample_vehicle_color(np.random.default_rng(0), "hovercraft")


def test_type_sampling_follows_frequencies():
    rng = np.random.default_rng(0)
    draws = [sample_vehicle_type(rng) for _ in range(4000)]
    for name, p in VEHICLE_TYPE_FREQUENCY.items():
        assert abs(draws.count(name) / len(draws) - p) < 0.03, name


def _achromatic(rgb):
    hi, lo = rgb.max(1), rgb.min(1)
    return (hi < 0.15) | ((hi - lo) / np.maximum(hi, 1e-6) < 0.15)


def test_colour_distribution():
    rng = np.random.default_rng(1)
    colors = np.array([sample_vehicle_color(rng, "sedan") for _ in range(2000)])  # [N,3]
    assert colors.min() >= 0 and colors.max() <= 1
    assert 0.55 <= _achromatic(colors).mean() <= 0.75  # white + grey/silver + black
    white = (colors.min(1) > 0.8).mean()
    black = (colors.max(1) < 0.1).mean()
    assert 0.18 <= white <= 0.32 and 0.14 <= black <= 0.26
    assert len(np.unique(np.round(colors, 3), axis=0)) > 1000  # jittered
    amb = np.array([sample_vehicle_color(rng, "ambulance") for _ in range(200)])
    assert (amb.min(1) > 0.8).mean() > 0.75
    fire = np.array([sample_vehicle_color(rng, "fire_truck") for _ in range(200)])
    assert ((fire[:, 0] > 0.6) & (fire[:, 1] < 0.15)).mean() > 0.75
    digger = np.array([sample_vehicle_color(rng, "construction") for _ in range(200)])
    assert ((digger[:, 0] > 0.85) & (digger[:, 2] < 0.15)).mean() > 0.75  # yellow or orange


def test_primitives_are_closed_and_outward():
    c = (0.5, 0.5, 0.5)
    profile = [(0, 0), (2, 0), (2, 0.5), (1.2, 0.6), (0.9, 1.0), (0.1, 1.0), (0, 0.5)]
    meshes = {
        "box": (prim.box((1, 2, 3), (0, 0, 0), c), 6.0),
        "profile": (prim.extruded_profile(profile, 1.0, c), 1.555),
        "profile_reversed_bevel": (prim.extruded_profile(profile[::-1], 1.0, c, bevel=0.05), None),
        "cylinder": (prim.cylinder((0, 0, 0), (0, 1, 0), 0.5, c, segments=64), np.pi / 4),
        "cone": (prim.cone((0, 0, 0), (1, 1, 1), 0.5, 0.0, c), None),
        "capsule": (prim.capsule((0, 0, 0), (0, 0, 1), 0.1, c, r1=0.05), None),
        "ellipsoid": (
            prim.ellipsoid((1, 2, 3), (1, 2, 3), c, segments=48, rings=24),
            4 / 3 * np.pi * 6,
        ),
    }
    for name, (m, expected) in meshes.items():
        assert len(closed_components(m)) == 1, name
        vol = signed_volume(m.vertices, m.faces)
        assert vol > 0, name
        if expected is not None:
            assert vol == pytest.approx(expected, rel=0.03), name
