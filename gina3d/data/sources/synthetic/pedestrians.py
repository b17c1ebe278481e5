"""Procedural pedestrians: an articulated, dressed figure posed by forward kinematics.

The figure (head, hair or hat, neck, chest, belly, pelvis, upper and lower arms, hands, thighs,
shanks and shoes, optionally a skirt and a backpack) is built from capsules, ellipsoids and
boxes around joint positions computed from a :class:`Pose` (a walking cycle or a standing
pose, see :mod:`pedestrian_pose`). Proportions follow standard anthropometric ratios of the
standing height (adults 1.5 - 1.95 m, children 1.0 - 1.4 m with a larger head). Facing +x, +y
on the figure's left; the asset is centred on its AABB, so the soles touch z = -height/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.data.sources.synthetic.asset import Asset, centred
from gina3d.data.sources.synthetic.pedestrian_pose import Pose, standing_pose, walking_pose
from gina3d.data.sources.synthetic.primitives import box, capsule, cone, ellipsoid
from gina3d.geometry.mesh import Mesh
from gina3d.geometry.transforms import rot_x, rot_y, rot_z

PEDESTRIAN_KINDS = ("adult", "child")
CHILD_PROBABILITY = 0.1

SKIN_TONES = np.array(
    [
        (0.96, 0.8, 0.69),
        (0.92, 0.72, 0.58),
        (0.8, 0.6, 0.45),
        (0.65, 0.45, 0.32),
        (0.47, 0.32, 0.22),
        (0.32, 0.21, 0.15),
    ]
)
HAIR = (
    (0.04, 0.03, 0.03),
    (0.15, 0.09, 0.05),
    (0.3, 0.19, 0.1),
    (0.7, 0.56, 0.32),
    (0.6, 0.6, 0.6),
    (0.45, 0.18, 0.07),
)
HAIR_P = (0.35, 0.25, 0.15, 0.12, 0.09, 0.04)
TOPS = (
    (0.05, 0.05, 0.06),
    (0.9, 0.9, 0.88),
    (0.08, 0.1, 0.25),
    (0.45, 0.45, 0.47),
    (0.65, 0.08, 0.08),
    (0.15, 0.3, 0.6),
    (0.15, 0.3, 0.15),
    (0.7, 0.62, 0.48),
    (0.9, 0.75, 0.15),
    (0.4, 0.08, 0.12),
    (0.55, 0.7, 0.85),
    (0.85, 0.5, 0.6),
    (0.9, 0.45, 0.1),
)
BOTTOMS = (
    (0.2, 0.28, 0.45),
    (0.05, 0.05, 0.06),
    (0.25, 0.25, 0.27),
    (0.6, 0.55, 0.4),
    (0.08, 0.1, 0.22),
    (0.3, 0.2, 0.12),
    (0.6, 0.6, 0.62),
)
SHOES = ((0.04, 0.04, 0.04), (0.9, 0.9, 0.9), (0.3, 0.18, 0.1), (0.4, 0.4, 0.42))
DOWN = np.array([0.0, 0.0, -1.0])


@dataclass
class Body:
    """Segment lengths and girths in metres (``s`` = height / 1.75 scales the radii)."""

    height: float
    s: float
    hip_z: float  # hip joints above the soles when standing straight
    thigh: float
    shank: float
    ankle: float  # ankle above the sole
    foot: float
    shoulder_z: float
    neck_z: float
    head: float  # chin to crown
    upper_arm: float
    forearm: float
    hand: float
    shoulder_half: float
    hip_half: float
    girth: float


def sample_body(rng: np.random.Generator, child: bool) -> Body:
    """Proportions of an adult (1.5 - 1.95 m) or a child (1.0 - 1.4 m, larger head)."""
    h = rng.uniform(1.0, 1.4) if child else float(np.clip(rng.normal(1.72, 0.09), 1.5, 1.95))
    head = (rng.uniform(0.155, 0.18) if child else rng.uniform(0.12, 0.135)) * h
    hip = (rng.uniform(0.46, 0.49) if child else rng.uniform(0.5, 0.53)) * h
    ankle = 0.045 * h
    knee = hip * 0.54
    neck = h - head - 0.035 * h
    shoulder = neck - 0.03 * h
    arm = shoulder - hip + 0.15 * h  # shoulder to fingertips reaches mid-thigh
    return Body(
        height=h,
        s=h / 1.75,
        hip_z=hip,
        thigh=hip - knee,
        shank=knee - ankle,
        ankle=ankle,
        foot=0.15 * h,
        shoulder_z=shoulder,
        neck_z=neck,
        head=head,
        upper_arm=0.44 * arm,
        forearm=0.36 * arm,
        hand=0.2 * arm,
        shoulder_half=rng.uniform(0.095, 0.12) * h * (0.9 if child else 1.0),
        hip_half=rng.uniform(0.048, 0.058) * h,
        girth=rng.uniform(0.85, 1.3),
    )


def _limb(start: np.ndarray, rot: np.ndarray, length: float) -> np.ndarray:
    """End point [3] of a segment hanging from ``start`` rotated by ``rot`` [3,3]."""
    return start + length * (rot @ DOWN)


def skeleton(b: Body, p: Pose) -> dict[str, np.ndarray]:
    """Joint positions [3] (soles around z = 0) and frames [3,3] from the pose."""
    j: dict[str, np.ndarray] = {}
    pelvis_r = rot_z(p.twist)
    trunk_r = rot_z(-0.5 * p.twist) @ rot_y(p.lean)
    j["pelvis"] = np.array([0.0, 0.0, b.hip_z])
    j["trunk_r"] = trunk_r
    for k, (name, sign) in enumerate((("l", 1.0), ("r", -1.0))):
        hip = j["pelvis"] + pelvis_r @ np.array([0.0, sign * b.hip_half, 0.0])
        thigh_r = rot_x(sign * p.leg_abduction[k]) @ rot_y(-p.hip[k])
        knee = _limb(hip, thigh_r, b.thigh)
        ankle = _limb(knee, rot_x(sign * p.leg_abduction[k]) @ rot_y(p.knee[k] - p.hip[k]), b.shank)
        j[f"hip_{name}"], j[f"knee_{name}"], j[f"ankle_{name}"] = hip, knee, ankle
        j[f"foot_r_{name}"] = rot_y(-p.foot_pitch[k])
        shoulder = j["pelvis"] + trunk_r @ np.array(
            [0.0, sign * b.shoulder_half, b.shoulder_z - b.hip_z]
        )
        abd = rot_x(sign * p.arm_abduction[k])
        elbow = _limb(shoulder, trunk_r @ rot_y(-p.shoulder[k]) @ abd, b.upper_arm)
        fore_r = (
            trunk_r @ rot_y(-(p.shoulder[k] + p.elbow[k])) @ rot_x(sign * 0.5 * p.arm_abduction[k])
        )
        wrist = _limb(elbow, fore_r, b.forearm)
        j[f"shoulder_{name}"], j[f"elbow_{name}"], j[f"wrist_{name}"] = shoulder, elbow, wrist
        j[f"hand_{name}"] = _limb(wrist, fore_r, 0.75 * b.hand)
    j["neck"] = j["pelvis"] + trunk_r @ np.array([0.0, 0.0, b.neck_z - b.hip_z])
    j["head_r"] = trunk_r @ rot_y(p.head_pitch)
    j["chin"] = j["neck"] + j["head_r"] @ np.array([0.0, 0.0, 0.03 * b.height])
    return j


def _oriented_box(
    center: np.ndarray, size: tuple[float, float, float], rot: np.ndarray, color
) -> Mesh:
    m = box(size, (0.0, 0.0, 0.0), color)
    return Mesh(m.vertices.astype(np.float64) @ rot.T + center, m.faces, m.colors)


def _pick(rng: np.random.Generator, options, p=None) -> np.ndarray:
    rgb = np.asarray(options[rng.choice(len(options), p=p)], dtype=np.float64)
    return np.clip(rgb * (1 + rng.uniform(-0.06, 0.06, 3)), 0.0, 1.0)


def dress(rng: np.random.Generator, b: Body, j: dict[str, np.ndarray], child: bool) -> list[Mesh]:
    """Meshes of the posed figure with sampled skin, hair, clothes, shoes and accessories."""
    s, g = b.s, b.girth
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    skin = SKIN_TONES[int(t)] + (t % 1) * (SKIN_TONES[min(int(t) + 1, 5)] - SKIN_TONES[int(t)])
    top, shoe = _pick(rng, TOPS), _pick(rng, SHOES)
    bottom = _pick(rng, BOTTOMS if rng.uniform() < 0.85 else TOPS)
    long_sleeves = rng.uniform() < 0.7
    legwear = rng.choice(["trousers", "shorts", "skirt"], p=[0.75, 0.1, 0.15])
    untucked = rng.uniform() < 0.7  # the top covers the belly
    tr = j["trunk_r"]
    up = tr @ np.array([0.0, 0.0, 1.0])
    torso_h = b.shoulder_z - b.hip_z
    chest_c = j["pelvis"] + tr @ np.array([0.0, 0.0, 0.64 * torso_h])
    belly_c = j["pelvis"] + tr @ np.array([0.0, 0.0, 0.3 * torso_h])
    yoke = 0.055 * s * g**0.5  # shoulder girdle: a capsule across the shoulder joints
    parts = [
        capsule(j["shoulder_l"] - 0.25 * yoke * up, j["shoulder_r"] - 0.25 * yoke * up, yoke, top),
        ellipsoid(
            chest_c, (0.115 * s * g, b.shoulder_half + 0.02 * s, 0.36 * torso_h), top, rotation=tr
        ),
        ellipsoid(
            belly_c,
            (0.105 * s * g, b.hip_half + 0.05 * s * g, 0.34 * torso_h),
            top if untucked else bottom,
            rotation=tr,
        ),
        ellipsoid(
            j["pelvis"],
            (0.09 * s * g, b.hip_half + 0.055 * s * g, 0.085 * s),
            bottom,
            rotation=tr,
            segments=8,
            rings=4,
        ),
        capsule(j["neck"] - 0.02 * b.height * up, j["chin"], 0.045 * s, skin, r1=0.04 * s),
    ]
    head_r = j["head_r"]
    head_c = j["chin"] + head_r @ np.array([0.012 * s, 0.0, 0.46 * b.head])
    radii = np.array([0.1 * s, 0.08 * s, 0.5 * b.head]) * (1.08 if child else 1.0)
    parts.append(ellipsoid(head_c, radii, skin, rotation=head_r))
    headwear = rng.choice(
        ["hair", "long_hair", "beanie", "cap", "bald"], p=[0.55, 0.2, 0.08, 0.1, 0.07]
    )
    if headwear != "bald":
        color = _pick(rng, HAIR, HAIR_P) if "hair" in headwear else _pick(rng, TOPS)
        scale = (1.07, 1.08, 0.98) if "hair" in headwear else (1.1, 1.1, 0.85)
        hair_c = head_c + head_r @ np.array([-0.012 * s, 0.0, 0.2 * radii[2]])
        parts.append(ellipsoid(hair_c, radii * scale, color, rotation=head_r))
        if headwear == "long_hair":
            parts.append(
                ellipsoid(
                    head_c + head_r @ np.array([-0.06 * s, 0.0, -0.35 * radii[2]]),
                    radii * (0.75, 0.95, 0.9),
                    color,
                    rotation=head_r,
                )
            )
        if headwear == "cap":
            brim = head_c + head_r @ np.array([radii[0] + 0.02 * s, 0.0, 0.45 * radii[2]])
            parts.append(_oriented_box(brim, (0.09 * s, 0.15 * s, 0.012), head_r, color))
    for n in ("l", "r"):
        shoulder, elbow, wrist = j[f"shoulder_{n}"], j[f"elbow_{n}"], j[f"wrist_{n}"]
        parts.append(capsule(shoulder, elbow, 0.048 * s * g**0.5, top, r1=0.04 * s))
        parts.append(capsule(elbow, wrist, 0.04 * s, top if long_sleeves else skin, r1=0.03 * s))
        parts.append(capsule(wrist, j[f"hand_{n}"], 0.03 * s, skin, r1=0.024 * s, segments=6))
        hip, knee, ankle = j[f"hip_{n}"], j[f"knee_{n}"], j[f"ankle_{n}"]
        thigh_c = skin if legwear == "skirt" else bottom
        shank_c = bottom if legwear == "trousers" else skin
        parts.append(capsule(hip, knee, 0.085 * s * g**0.5, thigh_c, r1=0.056 * s))
        parts.append(capsule(knee, ankle, 0.056 * s, shank_c, r1=0.038 * s))
        foot_r = j[f"foot_r_{n}"]
        foot_c = ankle + foot_r @ np.array([0.22 * b.foot, 0.0, -0.45 * b.ankle])
        parts.append(_oriented_box(foot_c, (b.foot, 0.09 * s, 1.15 * b.ankle), foot_r, shoe))
    if legwear == "skirt":
        waist = j["pelvis"] + tr @ np.array([0.0, 0.0, 0.06 * s])
        hem = j["pelvis"] + tr @ np.array([0.0, 0.0, -0.55 * b.thigh])
        parts.append(cone(waist, hem, b.hip_half + 0.06 * s * g, b.hip_half + 0.13 * s, bottom))
    if rng.uniform() < (0.15 if child else 0.25):  # backpack
        pack_c = chest_c + tr @ np.array([-(0.115 * s * g + 0.08 * s), 0.0, -0.03 * s])
        parts.append(_oriented_box(pack_c, (0.16 * s, 0.3 * s, 0.42 * s), tr, _pick(rng, TOPS)))
    return parts


def sample_pedestrian(rng: np.random.Generator, phase: float | None = None) -> Asset:
    """A procedural pedestrian facing +x.

    ``phase`` in [0, 1) poses a walking cycle at that phase; None draws a random walking
    phase (80%) or a standing pose (20%). About 10% are children (subtype "child").
    """
    child = rng.uniform() < CHILD_PROBABILITY
    body = sample_body(rng, child)
    speed = float(rng.uniform(0.8, 1.2))
    if phase is None:
        pose = walking_pose(rng.uniform(), speed) if rng.uniform() < 0.8 else standing_pose(rng)
    else:
        pose = walking_pose(float(phase), speed)
    joints = skeleton(body, pose)
    parts = dress(rng, body, joints, child)
    if "phone" in pose.extras:
        hand = joints["hand_l" if pose.extras["phone"] == 0 else "hand_r"]
        parts.append(box((0.07, 0.02, 0.14), hand, (0.05, 0.05, 0.06), (0.1, 0.12, 0.15)))
    mesh = Mesh.merge(parts)
    return Asset(centred(mesh), "pedestrian", "child" if child else "adult")
