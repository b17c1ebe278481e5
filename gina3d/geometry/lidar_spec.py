"""A spinning LiDAR's beam pattern: the sensor model shared by every source and by LiDAR
simulation of composed assets.

LiDAR frame: x forward, y left, z up (metres), placed in the vehicle frame by
``vehicle_from_lidar``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gina3d.geometry.transforms import make_transform


@dataclass
class LidarSpec:
    """A spinning top LiDAR like Waymo's TOP sensor.

    vehicle_from_lidar: [4,4] pose of the LiDAR frame (x forward, y left, z up) in the vehicle
        frame.
    beams: number of laser rows, evenly spread over [min_elevation_deg, max_elevation_deg];
        beam 0 is the top row.
    azimuth_samples: columns per revolution; column k looks at azimuth
        pi - 2 pi (k + 0.5) / azimuth_samples (Waymo range-image order: the middle column looks
        forward, azimuth decreases to the right).
    max_range: metres; farther hits are dropped.
    range_noise_std: metres of Gaussian noise along the ray.
    dropout: probability that a return is lost.
    """

    vehicle_from_lidar: np.ndarray = field(
        default_factory=lambda: make_transform(np.eye(3), np.array([1.43, 0.0, 2.18]))
    )
    beams: int = 64
    min_elevation_deg: float = -17.6
    max_elevation_deg: float = 2.4
    azimuth_samples: int = 1024
    max_range: float = 75.0
    range_noise_std: float = 0.02
    dropout: float = 0.02

    def elevations(self) -> np.ndarray:
        """[beams] float64 beam elevations in radians, top beam first."""
        return np.radians(np.linspace(self.max_elevation_deg, self.min_elevation_deg, self.beams))

    def azimuths(self) -> np.ndarray:
        """[azimuth_samples] float64 column azimuths in radians (see the class docstring)."""
        k = np.arange(self.azimuth_samples, dtype=np.float64)
        return np.pi - 2.0 * np.pi * (k + 0.5) / self.azimuth_samples

    def ray_directions(self) -> np.ndarray:
        """[beams, azimuth_samples, 3] float64 unit ray directions in the LiDAR frame."""
        el = self.elevations()[:, None]
        az = self.azimuths()[None, :]
        return np.stack(
            np.broadcast_arrays(np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)),
            axis=-1,
        )
