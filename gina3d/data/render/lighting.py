"""Illumination of the synthetic world (sun, sky, street lamps) and the camera sensor model.

Radiance is in arbitrary linear units in which a white surface facing a high sun is about 2.5;
each time of day carries a nominal ``exposure`` that maps its typical radiance to display
range, the way a camera's auto-exposure would. ``apply_sensor`` turns a rendered linear frame
into the uint8 image a camera would record: exposure, blur, noise, tone mapping, sRGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

TIMES_OF_DAY = ("day", "dusk", "night")

# Reference exposure of a bright day; noise grows with the gain relative to it.
_DAY_EXPOSURE = 0.45


@dataclass
class Lighting:
    """Everything the renderer needs to light one frame.

    time_of_day: one of ``TIMES_OF_DAY``.
    sun_direction: [3] world unit vector towards the sun (the moon at night).
    sun_color: [3] irradiance of the sun on a surface facing it (linear RGB).
    sky_color: [3] ambient irradiance from the sky on an upward-facing surface.
    ground_color: [3] ambient irradiance bounced from the ground on a downward-facing surface.
    light_positions: [M,3] world positions of point lights (street lamp heads); the renderer
        uses the 16 nearest to the camera.
    light_colors: [M,3] point-light intensities; irradiance at distance d is
        ``color / (1 + d^2)``, faded to zero at ``light_range``.
    light_range: metres beyond which a point light contributes nothing.
    emissive_gain: multiplier of the meshes' ``emissive`` colours when their lights are on.
    sky_zenith, sky_horizon: [3] background radiance straight up and at the horizon.
    exposure: nominal exposure (multiplier of radiance before tone mapping).
    """

    time_of_day: str
    sun_direction: np.ndarray
    sun_color: np.ndarray
    sky_color: np.ndarray
    ground_color: np.ndarray
    light_positions: np.ndarray
    light_colors: np.ndarray
    light_range: float
    emissive_gain: float
    sky_zenith: np.ndarray
    sky_horizon: np.ndarray
    exposure: float

    @property
    def shadows(self) -> bool:
        """Whether the sun casts shadows (not at night, where the moon is too dim to matter)."""
        return self.time_of_day != "night"


def _sun(elevation_deg: float, azimuth_rad: float) -> np.ndarray:
    el = np.radians(elevation_deg)
    return np.array(
        [np.cos(el) * np.cos(azimuth_rad), np.cos(el) * np.sin(azimuth_rad), np.sin(el)]
    )


def _jitter(rng: np.random.Generator, color: tuple[float, float, float], rel: float) -> np.ndarray:
    """A colour scaled by a random factor exp(N(0, rel)) per channel."""
    return np.asarray(color, dtype=np.float64) * np.exp(rng.normal(0.0, rel, size=3))


def sample_lighting(
    rng: np.random.Generator, time_of_day: str, lamp_positions: np.ndarray | None = None
) -> Lighting:
    """Draw the lighting of one scene.

    time_of_day: "day" (high sun at a random azimuth, bright sky, lamps off), "dusk" (low
        orange sun 2-12 deg above the horizon, dim bluish ambient, lamps on) or "night" (dim
        moonlight, very dark ambient, lamps on as warm point lights).
    lamp_positions: [M,3] world positions of street-lamp heads (may be empty or None).
    """
    if time_of_day not in TIMES_OF_DAY:
        raise ValueError(f"time_of_day must be one of {TIMES_OF_DAY}, got {time_of_day!r}")
    lamps = np.zeros((0, 3)) if lamp_positions is None else np.asarray(lamp_positions, float)
    lamps = lamps.reshape(-1, 3)
    azimuth = rng.uniform(-np.pi, np.pi)
    if time_of_day == "day":
        sun_dir = _sun(rng.uniform(35.0, 75.0), azimuth)
        sun_color = _jitter(rng, (1.0, 0.96, 0.9), 0.03) * rng.uniform(2.0, 2.6)
        sky = _jitter(rng, (0.33, 0.4, 0.52), 0.05) * rng.uniform(0.8, 1.2)
        ground = np.array([0.16, 0.15, 0.13]) * rng.uniform(0.8, 1.2)
        zenith = _jitter(rng, (0.25, 0.45, 0.95), 0.08) * rng.uniform(1.2, 1.8)
        horizon = _jitter(rng, (0.75, 0.85, 1.0), 0.04) * rng.uniform(1.4, 2.0)
        lamp_power, gain, exposure = 0.0, 0.3, _DAY_EXPOSURE
    elif time_of_day == "dusk":
        sun_dir = _sun(rng.uniform(2.0, 12.0), azimuth)
        sun_color = _jitter(rng, (1.0, 0.5, 0.22), 0.06) * rng.uniform(0.5, 0.8)
        sky = _jitter(rng, (0.1, 0.11, 0.2), 0.08) * rng.uniform(0.8, 1.2)
        ground = np.array([0.05, 0.04, 0.035]) * rng.uniform(0.8, 1.2)
        zenith = _jitter(rng, (0.05, 0.08, 0.22), 0.08)
        horizon = _jitter(rng, (0.9, 0.45, 0.2), 0.08) * rng.uniform(0.5, 0.8)
        lamp_power, gain, exposure = rng.uniform(14.0, 22.0), 1.0, 1.4
    else:
        sun_dir = _sun(rng.uniform(25.0, 60.0), azimuth)  # the moon
        sun_color = _jitter(rng, (0.025, 0.03, 0.045), 0.1)
        sky = _jitter(rng, (0.008, 0.01, 0.018), 0.1)
        ground = np.array([0.004, 0.0035, 0.003]) * rng.uniform(0.8, 1.2)
        zenith = _jitter(rng, (0.003, 0.004, 0.01), 0.1)
        horizon = _jitter(rng, (0.02, 0.018, 0.022), 0.1)
        lamp_power, gain, exposure = rng.uniform(18.0, 28.0), 1.5, 2.0
    if lamp_power > 0 and len(lamps):
        # Warm sodium/LED mix: each lamp gets a slightly different colour and strength.
        warmth = rng.uniform(0.0, 1.0, size=(len(lamps), 1))
        sodium, led = np.array([1.0, 0.62, 0.3]), np.array([1.0, 0.88, 0.7])
        colors = (warmth * sodium + (1 - warmth) * led) * lamp_power
        colors *= rng.uniform(0.8, 1.2, size=(len(lamps), 1))
    else:
        lamps, colors = np.zeros((0, 3)), np.zeros((0, 3))
    return Lighting(
        time_of_day=time_of_day,
        sun_direction=sun_dir,
        sun_color=sun_color,
        sky_color=sky,
        ground_color=ground,
        light_positions=lamps,
        light_colors=colors,
        light_range=25.0,
        emissive_gain=gain,
        sky_zenith=zenith,
        sky_horizon=horizon,
        exposure=exposure,
    )


def _aces(x: np.ndarray) -> np.ndarray:
    """Narkowicz's fit of the ACES filmic tone curve, [0, inf) -> [0, 1)."""
    return (x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14)


def _srgb_encode(x: np.ndarray) -> np.ndarray:
    """Linear [0,1] -> sRGB-encoded [0,1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _motion_blur(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Average of ``length`` copies shifted along a line at ``angle`` (edge pixels repeated)."""
    h, w = img.shape[:2]
    pad = length
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    out = np.zeros_like(img)
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, length):
        dy, dx = int(round(t * np.sin(angle))), int(round(t * np.cos(angle)))
        out += padded[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
    return out / length


def apply_sensor(
    rgb_linear: np.ndarray, rng: np.random.Generator, lighting: Lighting
) -> np.ndarray:
    """Turn rendered linear radiance [H,W,3] float32 into a camera image [H,W,3] uint8.

    Steps: exposure (the lighting's nominal exposure, a random jitter, and a partial
    auto-exposure towards a mid-grey average so that night is dark but not black), blur
    (none, a small Gaussian or a short motion blur, at random), photon and read noise
    (stronger when the gain is high, i.e. at night), ACES tone mapping and sRGB encoding.
    Deterministic given ``rng``.
    """
    img = np.asarray(rgb_linear, dtype=np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_linear must be [H,W,3], got shape {img.shape}")
    exposure = lighting.exposure * float(np.exp(rng.normal(0.0, 0.12)))
    lum = img[::4, ::4] @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    log_avg = float(np.exp(np.mean(np.log(lum * exposure + 1e-4))))
    exposure *= float(np.clip((0.18 / max(log_avg, 1e-6)) ** 0.2, 0.7, 1.4))
    img = img * np.float32(exposure)

    blur = rng.uniform()
    if blur < 0.3:
        sigma = rng.uniform(0.3, 0.8)
        img = ndimage.gaussian_filter(img, sigma=(sigma, sigma, 0.0), mode="nearest")
    elif blur < 0.45:
        img = _motion_blur(img, int(rng.integers(2, 5)), rng.normal(0.0, 0.3))

    gain = exposure / _DAY_EXPOSURE  # analogue gain relative to a bright day
    shot = np.float32(0.0008 * gain)
    read = np.float32(0.0008 * gain)
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    img = img + noise * np.sqrt(np.maximum(img, 0.0) * shot + read * read)
    out = _srgb_encode(_aces(np.maximum(img, 0.0)))
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
