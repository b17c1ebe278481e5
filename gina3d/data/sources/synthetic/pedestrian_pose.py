"""Joint angles of a pedestrian: a walking gait cycle and a few standing poses.

Angles are radians in the sagittal (x-z) plane unless noted; the figure faces +x with +y on
its left. Signs: hip and shoulder flexion swing the limb forward, knee flexion folds the shank
backward, elbow flexion folds the forearm forward, foot pitch > 0 lifts the toes, lean > 0
pitches the trunk forward, twist > 0 turns the pelvis counter-clockwise seen from above.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Pose:
    """Joint angles; pairs are (left, right)."""

    hip: tuple[float, float] = (0.0, 0.0)
    knee: tuple[float, float] = (0.05, 0.05)
    foot_pitch: tuple[float, float] = (0.0, 0.0)  # sole angle in the world, not the ankle
    leg_abduction: tuple[float, float] = (0.0, 0.0)  # outward, about x
    shoulder: tuple[float, float] = (0.0, 0.0)
    elbow: tuple[float, float] = (0.15, 0.15)
    arm_abduction: tuple[float, float] = (0.12, 0.12)  # outward, about x
    lean: float = 0.0
    twist: float = 0.0  # pelvis yaw; the chest turns back by half of it
    head_pitch: float = 0.0
    extras: dict = field(default_factory=dict)


# Sagittal joint angles (degrees) over one gait cycle from heel strike (fraction of cycle),
# after the standard adult walking curves: the hip flexes about 30 degrees at heel strike and
# extends to -10 at push-off; the knee has a small loading flexion, then folds to about 60
# degrees in mid-swing; the sole lands toes-up, lies flat in stance, and peels off heel first.
_HIP = ((0.0, 30), (0.1, 25), (0.3, 5), (0.5, -10), (0.6, -5), (0.75, 20), (0.87, 33), (1.0, 30))
_KNEE = ((0.0, 5), (0.15, 18), (0.4, 5), (0.6, 38), (0.72, 62), (0.87, 30), (0.97, 3), (1.0, 5))
_PITCH = (
    (0.0, 20),
    (0.08, 0),
    (0.4, 0),
    (0.5, -15),
    (0.6, -45),
    (0.7, -25),
    (0.85, 0),
    (0.95, 15),
    (1.0, 20),
)


def _curve(keys: tuple[tuple[float, float], ...], phase: float) -> float:
    """Smoothly (cosine) interpolated key-frame curve at ``phase`` in [0, 1), radians."""
    t = phase % 1.0
    for (t0, a0), (t1, a1) in itertools.pairwise(keys):
        if t0 <= t <= t1:
            w = 0.5 - 0.5 * np.cos(np.pi * (t - t0) / (t1 - t0))
            return float(np.radians(a0 + w * (a1 - a0)))
    return float(np.radians(keys[-1][1]))


def walking_pose(phase: float, speed: float = 1.0) -> Pose:
    """Pose at ``phase`` in [0, 1) of a walking cycle; phase 0 is the right heel strike and
    the left leg runs half a cycle behind.

    ``speed`` (about 0.8 - 1.2) scales the swing amplitudes. The arms swing opposite to the
    legs by about +-17 degrees, elbows bending more on the forward swing.
    """
    legs = []
    for p in (phase + 0.5, phase):  # (left, right)
        legs.append(
            (
                speed * _curve(_HIP, p),
                np.radians(5) + speed * (_curve(_KNEE, p) - np.radians(5)),
                speed * _curve(_PITCH, p),
            )
        )
    swing = np.cos(2 * np.pi * phase)  # +1 when the right leg is forward
    arm_l, arm_r = 0.05 + 0.3 * speed * swing, 0.05 - 0.3 * speed * swing
    elbow_l = 0.25 + 0.25 * speed * (1 + swing) / 2
    elbow_r = 0.25 + 0.25 * speed * (1 - swing) / 2
    (hl, kl, pl), (hr, kr, pr) = legs
    return Pose(
        hip=(hl, hr),
        knee=(kl, kr),
        foot_pitch=(pl, pr),
        leg_abduction=(0.02, 0.02),
        shoulder=(float(arm_l), float(arm_r)),
        elbow=(float(elbow_l), float(elbow_r)),
        arm_abduction=(0.1, 0.1),
        lean=0.03 + 0.04 * speed,
        twist=float(0.07 * speed * swing),
    )


def standing_pose(rng: np.random.Generator) -> Pose:
    """A standing pose: relaxed (weight on one leg, arms hanging), looking at a phone held in
    front of the chest, or arms folded forward (carrying something)."""
    kind = rng.choice(3, p=[0.6, 0.25, 0.15])
    bent = rng.uniform(0.0, 0.25)
    side = int(rng.integers(2))
    knee = [0.04, 0.04]
    knee[side] += bent
    hip = [0.0, 0.0]
    hip[side] += bent / 2
    pose = Pose(
        hip=(hip[0], hip[1]),
        knee=(knee[0], knee[1]),
        leg_abduction=tuple(rng.uniform(0.0, 0.08, 2)),  # type: ignore[arg-type]
        shoulder=tuple(rng.uniform(-0.1, 0.12, 2)),  # type: ignore[arg-type]
        elbow=tuple(rng.uniform(0.08, 0.35, 2)),  # type: ignore[arg-type]
        arm_abduction=tuple(rng.uniform(0.08, 0.2, 2)),  # type: ignore[arg-type]
        lean=float(rng.uniform(-0.02, 0.05)),
        twist=float(rng.uniform(-0.1, 0.1)),
    )
    if kind == 1:  # phone in one hand, head bowed
        s, e = list(pose.shoulder), list(pose.elbow)
        hand = int(rng.integers(2))
        s[hand], e[hand] = rng.uniform(0.3, 0.5), rng.uniform(1.5, 1.8)
        pose.shoulder, pose.elbow = (s[0], s[1]), (e[0], e[1])
        pose.head_pitch = 0.35
        pose.extras["phone"] = hand
    elif kind == 2:  # both forearms forward
        pose.shoulder = (0.2, 0.2)
        pose.elbow = (1.3, 1.3)
        pose.arm_abduction = (0.2, 0.2)
    return pose
