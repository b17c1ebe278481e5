"""LiDAR depth supervision: rendered expected ray distance vs the LiDAR return's distance.

``lidar_depth`` (from the dataset) holds the distance along each pixel's ray of the nearest
LiDAR point projected into it, 0 where there is none. The loss is the L1 error on rays
with a return, divided by the box diagonal so that it is scale-free (a 5 cm error costs a
pedestrian more than a bus).
"""

from __future__ import annotations

from torch import Tensor

from gina3d.losses.reconstruction import masked_mean


def lidar_depth_l1(depth: Tensor, lidar_depth: Tensor, box_size: Tensor, weights: Tensor) -> Tensor:
    """Mean |depth - lidar| / diagonal over rays with a return.

    depth, lidar_depth, weights [B,N]; box_size [B,3]. ``weights`` lets the caller drop rays
    (e.g. occluder pixels); rays with ``lidar_depth <= 0`` are always dropped.
    """
    diag = box_size.float().norm(dim=-1, keepdim=True)  # [B,1]
    valid = (lidar_depth > 0).float() * weights  # [B,N]
    err = (depth.float() - lidar_depth.float()).abs() / diag  # [B,N]
    return masked_mean(err, valid)
