"""Procedural pedestrians: valid centred meshes, heights, children share, walking cycle and
forward kinematics conventions (facing +x), determinism."""

import numpy as np
import pytest

from gina3d.data.sources.synthetic.pedestrian_pose import Pose, standing_pose, walking_pose
from gina3d.data.sources.synthetic.pedestrians import (
    PEDESTRIAN_KINDS,
    sample_body,
    sample_pedestrian,
    skeleton,
)


@pytest.fixture(scope="module")
def crowd():
    return [sample_pedestrian(np.random.default_rng(s)) for s in range(300)]


def signed_volume(m):
    tri = m.vertices.astype(np.float64)[m.faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6)


def test_meshes_are_valid_and_centred(crowd):
    for a in crowd[:40]:
        m = a.mesh
        assert a.cls == "pedestrian" and a.subtype in PEDESTRIAN_KINDS
        assert m.faces.min() >= 0 and m.faces.max() < len(m.vertices)
        assert np.isfinite(m.vertices).all() and len(m.faces) < 2000
        assert 0.0 <= m.colors.min() and m.colors.max() <= 1.0
        lo, hi = m.bounds
        np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-5)
        assert a.size[0] < 1.3 and a.size[1] < 0.9  # a person, not a smear
        assert signed_volume(m) > 0.02  # closed parts, outward faces


def test_heights_and_children(crowd):
    adults = np.array([a.size[2] for a in crowd if a.subtype == "adult"])
    children = np.array([a.size[2] for a in crowd if a.subtype == "child"])
    assert 0.05 <= len(children) / len(crowd) <= 0.16
    assert adults.min() >= 1.45 and adults.max() <= 1.97
    assert 1.66 <= adults.mean() <= 1.78 and adults.std() > 0.05
    assert children.min() >= 0.95 and children.max() <= 1.42


def test_phase_moves_the_legs():
    def forward_foot(phase):
        a = sample_pedestrian(np.random.default_rng(3), phase)
        v, h = a.mesh.vertices, a.size[2]
        low = v[:, 2] < -h / 2 + 0.15  # shoes and ankles
        i = np.argmax(np.where(low, v[:, 0], -np.inf))
        return a, v[i], np.ptp(v[low, 0])

    a0, front0, stride0 = forward_foot(0.0)  # right heel strike: right foot ahead
    a5, front5, stride5 = forward_foot(0.5)  # left heel strike
    a2, _, stride2 = forward_foot(0.2)
    assert a0.mesh.vertices.shape == a5.mesh.vertices.shape
    assert not np.allclose(a0.mesh.vertices, a2.mesh.vertices)
    assert front0[1] < 0 < front5[1]  # right (-y) then left (+y) foot leads
    for stride in (stride0, stride5):  # a realistic step (plus a foot) at heel strike
        assert 0.35 < stride / a0.size[2] < 0.8
    assert stride2 < stride0  # feet pass each other mid-stance


def test_walking_cycle_amplitudes_and_opposition():
    for phase in np.linspace(0, 1, 20, endpoint=False):
        p = walking_pose(phase)
        assert np.degrees(max(p.hip)) <= 36 and np.degrees(min(p.hip)) >= -12
        assert 0 <= np.degrees(min(p.knee)) and np.degrees(max(p.knee)) <= 65
        # the arm on the side of the forward leg swings back
        lead = int(np.argmax(p.hip))
        assert p.shoulder[lead] <= p.shoulder[1 - lead] + 1e-9
    heel_strike = walking_pose(0.0)
    assert heel_strike.hip[1] > heel_strike.hip[0]  # right leg forward at phase 0
    mid_swing = max(walking_pose(ph).knee[1] for ph in np.linspace(0.6, 0.8, 9))
    assert np.degrees(mid_swing) > 50


def test_forward_kinematics_face_plus_x():
    body = sample_body(np.random.default_rng(0), child=False)
    j = skeleton(body, Pose(knee=(0.8, 0.8), elbow=(1.4, 1.4)))
    for side in ("l", "r"):
        assert j[f"ankle_{side}"][0] < j[f"knee_{side}"][0] - 0.1  # knees bend backwards
        assert j[f"wrist_{side}"][0] > j[f"elbow_{side}"][0] + 0.1  # elbows bend forwards
    assert j["hip_l"][1] > 0 > j["hip_r"][1]  # +y is the figure's left
    walk = skeleton(body, walking_pose(0.0))
    assert walk["ankle_r"][0] > walk["ankle_l"][0] + 0.3
    stand = skeleton(body, Pose())
    assert stand["chin"][2] == pytest.approx(body.height - body.head - 0.005 * body.height)


def test_standing_poses_are_varied():
    rng = np.random.default_rng(0)
    poses = [standing_pose(rng) for _ in range(30)]
    assert any("phone" in p.extras for p in poses)
    assert len({round(p.elbow[0], 3) for p in poses}) > 10


def test_same_seed_same_mesh():
    a = sample_pedestrian(np.random.default_rng(11), 0.3)
    b = sample_pedestrian(np.random.default_rng(11), 0.3)
    c = sample_pedestrian(np.random.default_rng(12), 0.3)
    for name in ("vertices", "faces", "colors", "emissive"):
        np.testing.assert_array_equal(getattr(a.mesh, name), getattr(b.mesh, name))
    assert a.size[2] != c.size[2]
