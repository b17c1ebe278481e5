"""The moderngl rasteriser: exact projection from K, ids, depth, masks and shading."""

import numpy as np
import pytest

from gina3d.data.render.lighting import Lighting, sample_lighting
from gina3d.data.render.raster import Draw, Renderer
from gina3d.errors import Gina3dError
from gina3d.geometry.mesh import Mesh
from gina3d.geometry.transforms import OPENCV_FROM_FLU

W, H = 160, 120
K = np.array([[150.0, 0.0, 81.3], [0.0, 140.0, 57.8], [0.0, 0.0, 1.0]])
CAM = OPENCV_FROM_FLU  # camera at the world origin looking along +x, y left, z up


@pytest.fixture(scope="module")
def renderer():
    r = Renderer()
    try:
        assert r.ctx is not None
    except Gina3dError as exc:
        pytest.skip(str(exc))
    yield r
    r.clear_cache()


def box(size, color=(0.5, 0.5, 0.5), emissive=None) -> Mesh:
    """Axis-aligned box [3] centred at the origin, faces counter-clockwise from outside."""
    s = np.asarray(size, float) / 2
    v = np.array([[x, y, z] for x in (-s[0], s[0]) for y in (-s[1], s[1]) for z in (-s[2], s[2])])
    f = [
        [0, 1, 3],
        [0, 3, 2],
        [4, 6, 7],
        [4, 7, 5],
        [0, 4, 5],
        [0, 5, 1],
        [2, 3, 7],
        [2, 7, 6],
        [0, 2, 6],
        [0, 6, 4],
        [1, 5, 7],
        [1, 7, 3],
    ]
    return Mesh(v, f, color, emissive)


def at(x, y, z):
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def lighting(tod="day", sun=(0.0, 0.0, 1.0)) -> Lighting:
    out = sample_lighting(np.random.default_rng(0), tod)
    out.sun_direction = np.asarray(sun, float) / np.linalg.norm(sun)
    return out


def unproject(u, v, depth):
    """World point (x forward, y left, z up) seen at pixel coordinates (u, v), camera z."""
    cam = np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0]) * depth
    return OPENCV_FROM_FLU[:3, :3].T @ cam


def test_box_centre_pixel_and_depth(renderer):
    draws = [Draw(box((0.4, 0.4, 0.4)), at(10.0, 1.2, -0.7), instance_id=7, semantic_id=3)]
    out = renderer.render(draws, K, CAM, W, H, lighting())
    assert out.rgb.shape == (H, W, 3) and out.rgb.dtype == np.float32
    assert out.instance.dtype == np.int32 and out.semantic.dtype == np.uint8
    assert out.depth.dtype == np.float32
    face_centre = np.array([9.8, 1.2, -0.7])  # the face towards the camera
    cam = OPENCV_FROM_FLU[:3, :3] @ face_centre
    u, v = K[0, 0] * cam[0] / cam[2] + K[0, 2], K[1, 1] * cam[1] / cam[2] + K[1, 2]
    i, j = int(np.floor(v)), int(np.floor(u))
    assert out.instance[i, j] == 7 and out.semantic[i, j] == 3
    assert abs(out.depth[i, j] - 9.8) < 1e-3 * 9.8
    assert u < W / 2 and v > H / 2  # left of and below the centre: y left, z down


def test_quad_covers_exactly_the_pixels_whose_centres_it_contains(renderer):
    u0, u1, v0, v1, z = 40.3, 60.7, 30.6, 50.2, 5.0
    corners = [unproject(u, v, z) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
    quad = Mesh(corners, [[0, 1, 2], [0, 2, 3]], (1.0, 1.0, 1.0))
    out = renderer.render([Draw(quad, np.eye(4), 5, 1)], K, CAM, W, H, lighting())
    expected = np.zeros((H, W), bool)
    expected[31:50, 40:61] = True  # centres j + 0.5 in [40.3, 60.7], i + 0.5 in [30.6, 50.2]
    np.testing.assert_array_equal(out.instance == 5, expected)
    np.testing.assert_allclose(out.depth[expected], z, rtol=1e-5)
    mask = renderer.render_mask([Draw(quad, np.eye(4), 5, 1)], K, CAM, W, H)
    np.testing.assert_array_equal(mask, expected)


def test_left_right_and_up_down(renderer):
    draws = [
        Draw(box((1, 1, 1)), at(10, 3.5, 0), instance_id=1),  # left
        Draw(box((1, 1, 1)), at(10, -3.5, 0), instance_id=2),  # right
        Draw(box((1, 1, 1)), at(10, 0, 2.5), instance_id=3),  # up
    ]
    out = renderer.render(draws, K, CAM, W, H, lighting())
    cols = {k: np.nonzero(out.instance == k)[1].mean() for k in (1, 2, 3)}
    rows = {k: np.nonzero(out.instance == k)[0].mean() for k in (1, 2, 3)}
    assert cols[1] < W / 2 - 20 and cols[2] > W / 2 + 20
    assert rows[3] < H / 2 - 20 and abs(rows[1] - K[1, 2]) < 3


def test_occlusion_sky_and_mask(renderer):
    near, far = Draw(box((1, 1, 1)), at(6, 0, 0), 1, 1), Draw(box((3, 3, 3)), at(12, 0, 0), 2, 2)
    out = renderer.render([far, near], K, CAM, W, H, lighting())
    ci, cj = int(K[1, 2]), int(K[0, 2])
    assert out.instance[ci, cj] == 1 and abs(out.depth[ci, cj] - 5.5) < 5.5e-3
    assert (out.instance == 2).any()
    assert out.instance[2, 2] == 0 and out.semantic[2, 2] == 0 and np.isinf(out.depth[2, 2])
    assert np.all(out.rgb[2, 2] > 0)  # sky colour
    assert np.all(np.isinf(out.depth[out.instance == 0]))
    mask_near = renderer.render_mask([near], K, CAM, W, H)
    np.testing.assert_array_equal(mask_near, out.instance == 1)
    mask_far = renderer.render_mask([far], K, CAM, W, H)  # amodal: includes occluded parts
    assert mask_far[ci, cj] and mask_far.sum() > (out.instance == 2).sum()


GROUND = Mesh(
    [[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]],
    [[0, 1, 2], [0, 2, 3]],
    (0.4, 0.4, 0.4),
)
RAISED = at(0, 0, 0)
RAISED[2, 3] = 3.0  # the camera 3 m above the ground
CAM_UP = OPENCV_FROM_FLU @ np.linalg.inv(RAISED)


def test_day_brighter_than_night_and_emissive_at_night(renderer):
    lit = box((1, 1, 1), (0.3, 0.3, 0.3), emissive=(4.0, 3.0, 2.0))
    draws = [Draw(GROUND, np.eye(4), 0, 1), Draw(lit, at(8, 0, 2.0), 1, 2, lights_on=False)]
    day = renderer.render(draws, K, CAM_UP, W, H, lighting("day", (0.3, 0.2, 1.0)))
    night = renderer.render(draws, K, CAM_UP, W, H, lighting("night"))
    ground = day.semantic == 1
    assert day.rgb[ground].mean() > 10 * night.rgb[ground].mean()
    draws[1].lights_on = True
    night_on = renderer.render(draws, K, CAM_UP, W, H, lighting("night"))
    obj = night.instance == 1
    assert night_on.rgb[obj].mean() > 20 * night.rgb[obj].mean()


def test_point_light_brightens_ground_at_night(renderer):
    light = lighting("night")
    dark = renderer.render([Draw(GROUND, np.eye(4), 0, 1)], K, CAM_UP, W, H, light)
    light.light_positions = np.array([[10.0, 0.0, 5.0]])
    light.light_colors = np.array([[20.0, 15.0, 10.0]])
    lamp = renderer.render([Draw(GROUND, np.eye(4), 0, 1)], K, CAM_UP, W, H, light)
    pool = lamp.semantic == 1
    assert lamp.rgb[pool].mean() > 5 * dark.rgb[pool].mean()


def test_texture_shows_both_colours(renderer):
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[:, :4] = (255, 0, 0)
    tex[:, 4:] = (0, 0, 255)
    quad = Mesh(
        [[8, 2, -1.5], [8, -2, -1.5], [8, -2, 1.5], [8, 2, 1.5]],
        [[0, 1, 2], [0, 2, 3]],
        (1.0, 1.0, 1.0),
        uvs=np.array([[0, 0], [1, 0], [1, 1], [0, 1]]),
        texture=tex,
    )
    out = renderer.render([Draw(quad, np.eye(4), 4, 1)], K, CAM, W, H, lighting())
    rgb = out.rgb[out.instance == 4]
    red = rgb[:, 0] > 3 * rgb[:, 2]
    blue = rgb[:, 2] > 3 * rgb[:, 0]
    assert red.mean() > 0.3 and blue.mean() > 0.3
    cols = np.nonzero(out.instance == 4)[1]
    redcols = cols[red]
    assert redcols.mean() < cols.mean()  # u = 0 (red) is on the left (+y) edge


def test_box_casts_a_shadow_by_day(renderer):
    draws = [Draw(GROUND, np.eye(4), 0, 1), Draw(box((2, 2, 2)), at(10, 0, 1), 1, 2)]
    light = lighting("day", sun=(0.0, 1.0, 1.0))  # from the left: shadow towards -y (right)
    out = renderer.render(draws, K, CAM_UP, W, H, light)

    def ground_px(x, y):
        cam = OPENCV_FROM_FLU[:3, :3] @ (np.array([x, y, 0.0]) - [0, 0, 3.0])
        return int(cam[1] / cam[2] * K[1, 1] + K[1, 2]), int(cam[0] / cam[2] * K[0, 0] + K[0, 2])

    shadow, sunny = ground_px(10.5, -1.8), ground_px(10.5, 1.8)
    assert out.instance[shadow] == 0 and out.instance[sunny] == 0
    assert out.rgb[shadow].mean() < 0.5 * out.rgb[sunny].mean()
    night = renderer.render(draws, K, CAM_UP, W, H, lighting("night", sun=(0.0, 1.0, 1.0)))
    assert abs(night.rgb[shadow].mean() / night.rgb[sunny].mean() - 1) < 0.05  # no shadow


def test_mesh_cache_and_sizes(renderer):
    m = box((1, 1, 1))
    d = [Draw(m, at(5, 0, 0), 1, 1)]
    a = renderer.render(d, K, CAM, W, H, lighting())
    assert id(m) in renderer._meshes
    b = renderer.render(d, K, CAM, W // 2, H // 2, lighting())
    assert b.instance.shape == (H // 2, W // 2)
    c = renderer.render(d, K, CAM, W, H, lighting())
    np.testing.assert_array_equal(a.instance, c.instance)
    renderer.clear_cache()
    assert not renderer._meshes


def test_vertex_colours_interpolate(renderer):
    colors = [(1, 0, 0), (1, 0, 0), (0, 0, 1), (0, 0, 1)]  # red on the left, blue on the right
    quad = Mesh(
        [[8, 2, -1.5], [8, 2, 1.5], [8, -2, 1.5], [8, -2, -1.5]], [[0, 1, 2], [0, 2, 3]], colors
    )
    out = renderer.render([Draw(quad, np.eye(4), 4, 1)], K, CAM, W, H, lighting())
    row = out.rgb[int(K[1, 2])][out.instance[int(K[1, 2])] == 4]
    ratio = row[:, 0] / (row[:, 0] + row[:, 2])
    assert ratio[0] > 0.9 and ratio[-1] < 0.1 and np.all(np.diff(ratio) < 1e-3)


def test_missing_egl_is_a_one_line_error(monkeypatch):
    import moderngl

    def fail(**kwargs):
        raise RuntimeError("eglGetDisplay failed\nno display")

    monkeypatch.setattr(moderngl, "create_standalone_context", fail)
    with pytest.raises(Gina3dError) as err:
        Renderer().ctx  # noqa: B018
    message = str(err.value)
    assert "\n" not in message
    assert "libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1" in message


def test_a_renderer_still_draws_after_another_one_is_created(renderer):
    draw = Draw(box((1, 1, 1)), at(6, 0, 0), 1, 1)
    before = renderer.render_mask([draw], K, CAM, W, H)
    other = Renderer()
    assert other.render_mask([draw], K, CAM, W, H).sum() == before.sum() > 0
    # the newest context was current: the first renderer must switch back to its own
    np.testing.assert_array_equal(renderer.render_mask([draw], K, CAM, W, H), before)
    out = renderer.render([draw], K, CAM, W, H, lighting())
    assert (out.instance == 1).sum() == before.sum()
    other.clear_cache()
