"""Turntable cameras, renders and files."""

import numpy as np
import pytest
import torch
from PIL import Image

from gina3d.assets.turntable import (
    composite,
    look_at_camera,
    render_turntable,
    save_turntable,
    strip,
    turntable_cameras,
)
from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import points_to_pixels
from gina3d.geometry.transforms import invert

SIZE = np.array([4.6, 1.9, 1.6])


def corners(size):
    s = np.asarray(size) / 2
    return np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * s


def test_look_at_camera_conventions():
    cam, K = look_at_camera(SIZE, 64, azimuth_deg=0.0, elevation_deg=20.0)
    obj_from_cam = invert(cam)
    centre = obj_from_cam[:3, 3]
    assert centre[0] > 0 and abs(centre[1]) < 1e-9 and centre[2] > 0  # in front, above
    assert np.allclose(obj_from_cam[:3, 2], -centre / np.linalg.norm(centre))  # looks at origin
    assert obj_from_cam[2, 1] < 0  # camera y (image down) points down in the object frame
    # in front of the car looking back at it, the car's left (+y) is on the image's right
    px, _ = points_to_pixels(K, cam, np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.0]]))
    np.testing.assert_allclose(px[0], [32, 32], atol=1e-9)
    assert px[1, 0] > 32
    np.testing.assert_allclose(np.linalg.det(cam[:3, :3]), 1.0)


def test_turntable_cameras_orbit_and_frame_the_box():
    cams, Ks = turntable_cameras(SIZE, 8, 64)
    assert cams.shape == (8, 4, 4) and Ks.shape == (8, 3, 3)
    centres = np.array([invert(c)[:3, 3] for c in cams])
    dist = np.linalg.norm(centres, axis=1)
    np.testing.assert_allclose(dist, dist[0])
    np.testing.assert_allclose(centres[:, 2], centres[0, 2])  # same elevation
    az = np.degrees(np.arctan2(centres[:, 1], centres[:, 0]))
    np.testing.assert_allclose(np.diff(np.unwrap(np.radians(az))), np.radians(45.0), atol=1e-9)
    for cam, K in zip(cams, Ks):
        px, z = points_to_pixels(K, cam, corners(SIZE))
        assert np.all(z > 0) and np.all((px > 0) & (px < 64))
    with pytest.raises(Gina3dError):
        turntable_cameras(SIZE, 0, 64)


def test_render_shapes_and_background(model, tokens):
    with torch.no_grad():
        triplane = model.decode_indices(tokens[0][None])[0]
        frames = render_turntable(model, triplane, SIZE, views=3, image_size=16)
    assert frames.shape == (3, 16, 16, 3) and frames.dtype == np.uint8
    assert frames.min() < 200  # something is drawn
    with torch.no_grad():
        model.field.mlp[-1].bias[0] = -50.0  # empty field: only the background is left
        empty = render_turntable(model, triplane, SIZE, views=2, image_size=8, background=(0, 1, 0))
    assert np.all(empty == np.array([0, 255, 0], dtype=np.uint8))


def test_save_turntable_strip_and_gif(tmp_path):
    frames = np.stack([np.full((6, 5, 3), 40 * i, dtype=np.uint8) for i in range(4)])
    save_turntable(frames, tmp_path / "t.png", tmp_path / "t.gif")
    png = Image.open(tmp_path / "t.png")
    assert png.size == (20, 6)
    np.testing.assert_array_equal(np.asarray(png)[:, 5:10], frames[1])
    gif = Image.open(tmp_path / "t.gif")
    assert gif.n_frames == 4 and gif.size == (5, 6)
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(Gina3dError):
        strip(np.zeros((0, 4, 4, 3), np.uint8))


def test_composite_premultiplied_over_white():
    rgb = torch.zeros(1, 3, 2, 2)
    opacity = torch.tensor([[[0.0, 1.0], [0.5, 0.0]]])
    out = composite(rgb, opacity)
    assert out.shape == (1, 2, 2, 3) and out.dtype == np.uint8
    assert (out[0, 0, 0] == 255).all() and (out[0, 0, 1] == 0).all()
    assert (out[0, 1, 0] == 128).all()
    grey = composite(torch.full((1, 3, 1, 1), 0.25), torch.full((1, 1, 1), 0.5), (0.5,) * 3)
    assert (grey == 128).all()  # 0.25 + (1 - 0.5) * 0.5
