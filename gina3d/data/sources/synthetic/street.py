"""The static street of one synthetic scene: road, markings, sidewalks, buildings, props.

World frame: x along the main road, y to its left, z up, metres; the ground is z = 0 and
sidewalks are raised by ``CURB``. Traffic drives on the right: lanes with y < 0 head +x.
Every piece carries a semantic class (``SEMANTIC``) so frames get semantic segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gina3d.data.sources.synthetic.primitives import box, cylinder, ellipsoid, panel
from gina3d.geometry.mesh import Mesh

SEMANTIC = {
    "sky": 0,
    "road": 1,
    "lane_marking": 2,
    "sidewalk": 3,
    "building": 4,
    "pole": 5,
    "vegetation": 6,
    "sign": 7,
    "vehicle": 8,
    "pedestrian": 9,
}
LANE = 3.5
PARKING = 2.4
SIDEWALK = 3.5
CURB = 0.15
X_MIN, X_MAX = -60.0, 150.0


@dataclass
class Street:
    """Static geometry and the places where traffic can go."""

    lanes_per_side: int
    parking: bool
    half_width: float  # road edge |y| (curb line)
    cross_x: float | None  # centre of a crossing street, if any
    cross_half_width: float
    meshes: dict[str, list[Mesh]] = field(default_factory=dict)
    lamp_positions: list[np.ndarray] = field(default_factory=list)

    def add(self, semantic: str, mesh: Mesh) -> None:
        self.meshes.setdefault(semantic, []).append(mesh)

    def in_cross_street(self, x: float, margin: float = 0.0) -> bool:
        return self.cross_x is not None and abs(x - self.cross_x) < self.cross_half_width + margin

    def lane_centres(self, heading_plus_x: bool) -> list[float]:
        """y of lane centres (right-hand traffic: +x lanes have y < 0)."""
        sign = -1.0 if heading_plus_x else 1.0
        return [sign * (i + 0.5) * LANE for i in range(self.lanes_per_side)]


def _grey(rng: np.random.Generator, base: float, jitter: float = 0.04) -> np.ndarray:
    return np.clip(base + rng.uniform(-jitter, jitter) + rng.normal(0, 0.01, 3), 0, 1)


def _spans(street: Street, lo: float, hi: float, margin: float) -> list[tuple[float, float]]:
    """[lo, hi] minus the crossing street (grown by ``margin``)."""
    if street.cross_x is None:
        return [(lo, hi)]
    a = street.cross_x - street.cross_half_width - margin
    b = street.cross_x + street.cross_half_width + margin
    return [(lo, a), (b, hi)]


def _road(street: Street, rng: np.random.Generator) -> None:
    length, w = X_MAX - X_MIN, 2 * street.half_width
    asphalt = _grey(rng, 0.22)
    street.add("road", box((length, w, 0.1), ((X_MIN + X_MAX) / 2, 0, -0.05), asphalt))
    street.add("road", box((length, 200.0, 0.1), ((X_MIN + X_MAX) / 2, 0, -0.06), _grey(rng, 0.3)))
    white, yellow = np.array([0.85, 0.85, 0.82]), np.array([0.85, 0.7, 0.15])
    for y in (-0.12, 0.12):  # double yellow centre line
        for lo, hi in _spans(street, X_MIN, X_MAX, 2.0):
            street.add(
                "lane_marking", box((hi - lo, 0.12, 0.02), ((lo + hi) / 2, y, 0.005), yellow)
            )
    for i in range(1, street.lanes_per_side):
        for sign in (-1, 1):
            for x in np.arange(X_MIN, X_MAX, 9.0):
                if not street.in_cross_street(x, 2.0):
                    c = (x + 1.5, sign * i * LANE, 0.005)
                    street.add("lane_marking", box((3.0, 0.12, 0.02), c, white))
    if street.cross_x is not None:
        cw = street.cross_half_width
        street.add("road", box((2 * cw, 200.0, 0.1), (street.cross_x, 0, -0.049), asphalt))
        for side in (-1, 1):  # zebra crossings on the main road, before and after the junction
            x = street.cross_x + side * (cw + 2.0)
            for y in np.arange(-street.half_width + 0.5, street.half_width, 1.0):
                street.add("lane_marking", box((3.0, 0.5, 0.02), (x, y, 0.006), white))


def _sidewalks(street: Street, rng: np.random.Generator) -> None:
    slab = _grey(rng, 0.55)
    y_mid = street.half_width + SIDEWALK / 2
    for sign in (-1, 1):
        for lo, hi in _spans(street, X_MIN, X_MAX, 0.0):
            c = ((lo + hi) / 2, sign * y_mid, CURB / 2)
            street.add("sidewalk", box((hi - lo, SIDEWALK, CURB), c, slab))


def _building(street: Street, rng: np.random.Generator, x0: float, x1: float, sign: int) -> None:
    depth, height = rng.uniform(8, 16), rng.choice([rng.uniform(5, 12), rng.uniform(12, 35)])
    y_face = street.half_width + SIDEWALK + rng.uniform(0, 3)
    colour = [
        np.array([0.55, 0.3, 0.22]),  # brick
        np.array([0.7, 0.68, 0.62]),  # concrete
        np.array([0.78, 0.72, 0.58]),  # sandstone
        np.array([0.35, 0.42, 0.5]),  # glass-blue
        np.array([0.9, 0.9, 0.88]),  # white render
    ][rng.integers(5)] * rng.uniform(0.85, 1.1)
    c = ((x0 + x1) / 2, sign * (y_face + depth / 2), height / 2)
    street.add("building", box((x1 - x0, depth, height), c, np.clip(colour, 0, 1)))
    lit_share = 0.35 if rng.random() < 0.8 else 0.0
    floor_h, win_w = rng.uniform(3.0, 3.6), rng.uniform(1.0, 1.8)
    glass = np.array([0.12, 0.15, 0.2])
    for z in np.arange(1.2, height - 1.0, floor_h):
        for x in np.arange(x0 + 1.0, x1 - win_w - 0.5, win_w * 2.0):
            y = sign * y_face
            corners = [(x, y, z), (x + win_w, y, z), (x + win_w, y, z + 1.4), (x, y, z + 1.4)]
            glow = rng.uniform(0.8, 1.6) * np.array([1.0, 0.8, 0.5])
            emissive = glow if rng.random() < lit_share else None
            street.add("building", panel(corners, (0, -sign, 0), glass, emissive, offset=0.02))


def _buildings(street: Street, rng: np.random.Generator) -> None:
    for sign in (-1, 1):
        for lo, hi in _spans(street, X_MIN, X_MAX, 2.0):
            x = lo
            while x < hi - 6.0:
                w = min(rng.uniform(8, 28), hi - x)
                if rng.random() < 0.85:
                    _building(street, rng, x, x + w, sign)
                x += w + (rng.uniform(2, 6) if rng.random() < 0.3 else 0.0)


def _props(street: Street, rng: np.random.Generator) -> None:
    metal = np.array([0.3, 0.31, 0.33])
    for sign in (-1, 1):
        y_pole = sign * (street.half_width + 0.4)
        for x in np.arange(X_MIN + rng.uniform(0, 20), X_MAX, rng.uniform(24, 34)):
            if street.in_cross_street(x, 1.0):
                continue
            top = rng.uniform(6.5, 8.0)
            street.add("pole", cylinder((x, y_pole, CURB), (x, y_pole, top), 0.09, metal))
            arm_end = y_pole - sign * 1.6
            street.add("pole", box((0.12, 1.7, 0.12), (x, (y_pole + arm_end) / 2, top), metal))
            head = np.array([x, arm_end, top - 0.12])
            street.add("pole", box((0.6, 0.35, 0.14), head, metal, emissive=(2.5, 2.1, 1.5)))
            street.lamp_positions.append(head - [0, 0, 0.2])
        y_tree = sign * (street.half_width + 1.3)
        for x in np.arange(X_MIN + rng.uniform(5, 15), X_MAX, rng.uniform(9, 16)):
            if street.in_cross_street(x, 2.0) or rng.random() < 0.35:
                continue
            h = rng.uniform(2.5, 4.0)
            bark = np.array([0.3, 0.22, 0.15])
            street.add("vegetation", cylinder((x, y_tree, CURB), (x, y_tree, h), 0.15, bark))
            leaf = np.clip(np.array([0.2, 0.42, 0.16]) * rng.uniform(0.7, 1.3, 3), 0, 1)
            r = rng.uniform(1.2, 2.2)
            c = (x, y_tree, h + r * 0.7)
            street.add("vegetation", ellipsoid(c, (r, r, r * 1.2), leaf, segments=8, rings=5))
        for x in rng.uniform(X_MIN, X_MAX, rng.integers(2, 6)):  # sign posts and bins
            if street.in_cross_street(x, 1.0):
                continue
            y = sign * (street.half_width + rng.uniform(0.3, 0.8))
            if rng.random() < 0.5:
                street.add("sign", cylinder((x, y, CURB), (x, y, 2.6), 0.04, metal))
                face = np.array([[0.8, 0.1, 0.1], [0.1, 0.3, 0.7], [0.9, 0.9, 0.9]])[
                    rng.integers(3)
                ]
                street.add("sign", box((0.05, 0.7, 0.7), (x, y, 2.6), face))
            else:
                street.add("sign", cylinder((x, y, CURB), (x, y, CURB + 1.0), 0.3, _grey(rng, 0.2)))


def make_street(rng: np.random.Generator) -> Street:
    """Draw one street: lanes, parking, maybe a junction, buildings and props."""
    lanes = int(rng.integers(1, 3))
    parking = bool(rng.random() < 0.85)
    half = lanes * LANE + (PARKING if parking else 0.0)
    cross = float(rng.uniform(25, 70)) if rng.random() < 0.5 else None
    street = Street(lanes, parking, half, cross, LANE + 0.5)
    _road(street, rng)
    _sidewalks(street, rng)
    _buildings(street, rng)
    _props(street, rng)
    return street
