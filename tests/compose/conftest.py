"""Fixtures for scene composition: a box-world frame with an occluder in front of the spot
where an analytic sphere asset goes, and the tiny stage-1 run of the asset tests."""

import numpy as np
import pytest
import torch
from assets.conftest import box_data, shaped_stage1, stage1_run  # noqa: F401  (fixtures)
from boxworld import box, make_frame

from gina3d.assets.asset_field import FunctionField
from gina3d.geometry.transforms import pose_from_xyz_yaw

RADIUS = 0.8  # metres
SPHERE_SIZE = (2.0, 2.0, 2.0)  # the asset's box
SPHERE_CENTRE = (10.0, 0.0, 1.0)  # vehicle frame: 10 m ahead of the box-world camera
COLOUR = (0.8, 0.3, 0.2)
OCCLUDER_ID, WALL_ID = 2, 3


def sphere_fn(points: torch.Tensor):
    """Density 200 per normalised unit inside the sphere, 0 outside; a constant colour."""
    inside = points.norm(dim=-1) < RADIUS
    sigma = torch.where(inside, 200.0, 0.0)
    return sigma, torch.tensor(COLOUR).expand(len(points), 3)


@pytest.fixture
def sphere():
    return FunctionField(sphere_fn, SPHERE_SIZE, samples=48, importance=48)


@pytest.fixture
def sphere_pose():
    return pose_from_xyz_yaw(np.array(SPHERE_CENTRE), 0.3)


@pytest.fixture(scope="session")
def occluded_frame():
    """Camera at 1 m height looking along +x; a thin pole 6 m ahead, left of the sphere's
    spot, hides part of it; a wall 16 m ahead gives LiDAR returns behind the sphere."""
    boxes = [
        box(1, 12.0, -5.0),  # a car to the right, for the brightness rule
        box(OCCLUDER_ID, 6.0, 0.3, size=(0.3, 0.4, 2.5), cls="pedestrian"),
        box(WALL_ID, 16.0, 0.0, size=(0.5, 20.0, 6.0)),
    ]
    return make_frame(boxes)
