"""Users' mesh folders: textures and colours kept, glTF y-up to z-up, scale rule, centring,
class/subtype from folder names, and one-line errors naming the path."""

import numpy as np
import pytest
import trimesh
from PIL import Image

from gina3d.data.sources.synthetic.user_assets import load_user_assets
from gina3d.data.sources.synthetic.vehicles import typical_vehicle_length
from gina3d.errors import Gina3dError

TEXTURE = (np.arange(8 * 16 * 3).reshape(8, 16, 3) * 5 % 256).astype(np.uint8)  # [h=8,w=16,3]


def textured_box(extents):
    """trimesh box with per-vertex uvs and an image texture (white base colour)."""
    box = trimesh.creation.box(extents=extents)
    uv = np.random.default_rng(0).uniform(0.05, 0.95, (len(box.vertices), 2))
    material = trimesh.visual.material.PBRMaterial(
        baseColorTexture=Image.fromarray(TEXTURE), baseColorFactor=[255, 255, 255, 255]
    )
    box.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    return box, uv


def coloured_box(extents, rgba):
    box = trimesh.creation.box(extents=extents)
    box.visual.vertex_colors = np.tile(rgba, (len(box.vertices), 1))
    return box


def write(path, mesh_or_scene):
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh_or_scene.export(str(path))
    return path


def by_source(assets):
    return {a.source.split("/")[-2] + "/" + a.source.split("/")[-1]: a for a in assets}


@pytest.fixture
def asset_dir(tmp_path):
    # glTF extents (X, Y, Z) = (1.8 left, 1.5 up, 4.5 front): a car in metres.
    car, uv = textured_box((1.8, 1.5, 4.5))
    write(tmp_path / "sedan" / "car.glb", car)
    # Two parts placed by node transforms: a textured hull and a red cabin up, front, left.
    hull, _ = textured_box((1.0, 1.0, 4.0))
    cabin = coloured_box((0.6, 0.5, 1.0), [255, 0, 0, 255])
    scene = trimesh.Scene()
    scene.add_geometry(hull, node_name="hull")
    scene.add_geometry(
        cabin,
        node_name="cabin",
        transform=trimesh.transformations.translation_matrix([0.2, 0.75, 1.0]),
    )
    write(tmp_path / "vehicle" / "two_parts.glb", scene)
    # A pedestrian in centimetres, z up, vertex colours.
    write(tmp_path / "pedestrian" / "walker.ply", coloured_box((40, 50, 175), [10, 200, 30, 255]))
    # OBJ in metres (kept) and in millimetres (rescaled to the bus length).
    write(tmp_path / "bus" / "a.obj", trimesh.creation.box(extents=(12.0, 2.5, 3.2)))
    write(tmp_path / "bus" / "b.obj", trimesh.creation.box(extents=(12000.0, 2500.0, 3200.0)))
    (tmp_path / "bus" / "notes.txt").write_text("ignored")
    # A PLY van with one colour per face.
    van = trimesh.creation.box(extents=(5.0, 2.0, 2.2))
    van.visual.face_colors = [[20 * k, 0, 100, 255] for k in range(12)]
    write(tmp_path / "van" / "faces.ply", van)
    return tmp_path, uv


def test_loads_every_file_with_class_and_subtype(asset_dir):
    root, _ = asset_dir
    assets = load_user_assets(root)
    names = [(a.cls, a.subtype, a.source.rsplit("/", 1)[-1]) for a in assets]
    assert names == [
        ("vehicle", "bus", "a.obj"),
        ("vehicle", "bus", "b.obj"),
        ("pedestrian", "pedestrian", "walker.ply"),
        ("vehicle", "sedan", "car.glb"),
        ("vehicle", "van", "faces.ply"),
        ("vehicle", "vehicle", "two_parts.glb"),
    ]
    for a in assets:
        lo, hi = a.mesh.bounds
        np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-5)
        assert a.mesh.faces.max() < len(a.mesh.vertices)


def test_gltf_texture_kept_and_rotated_to_z_up(asset_dir):
    root, uv = asset_dir
    car = by_source(load_user_assets(root))["sedan/car.glb"]
    np.testing.assert_allclose(car.size, (4.5, 1.8, 1.5), atol=1e-5)  # glTF Z,X,Y -> x,y,z
    m = car.mesh
    assert m.texture is not None and m.uvs is not None
    np.testing.assert_array_equal(m.texture, TEXTURE)
    np.testing.assert_allclose(m.colors, 1.0)
    # uvs are stored top-down (t = 1 - v) for the renderer
    expected = np.stack([uv[:, 0], 1 - uv[:, 1]], axis=1)  # [8,2]
    gap = np.linalg.norm(m.uvs[:, None, :] - expected[None], axis=2)  # [V,8]
    assert gap.min(axis=1).max() < 1e-5 and gap.min(axis=0).max() < 1e-5


def test_gltf_axes_and_mixed_parts_atlas(asset_dir):
    root, _ = asset_dir
    a = by_source(load_user_assets(root))["vehicle/two_parts.glb"]
    m = a.mesh
    v = m.vertices
    top = v[:, 2] > v[:, 2].max() - 1e-4  # the cabin's roof
    assert v[top, 0].mean() > 0.5  # glTF +Z (front) -> +x
    assert v[top, 1].mean() > 0.1  # glTF +X -> +y (left)
    assert a.size[0] == pytest.approx(4.0)  # plausible length: not rescaled
    red = np.all(np.isclose(m.colors, (1.0, 0.0, 0.0), atol=1e-6), axis=1)
    assert red.sum() == 8  # the cabin's vertex colours
    assert m.texture.shape == (8, 16 + 8, 3)  # the image plus a white block for colours
    h, w = m.texture.shape[:2]
    px = (m.uvs[red] * (w, h)).astype(int)
    np.testing.assert_array_equal(m.texture[px[:, 1], px[:, 0]], 255)
    np.testing.assert_array_equal(m.texture[:, :16], TEXTURE)


def test_scale_rule_and_vertex_colours(asset_dir):
    root, _ = asset_dir
    assets = by_source(load_user_assets(root))
    walker = assets["pedestrian/walker.ply"]
    np.testing.assert_allclose(walker.size, np.array([40, 50, 175]) * 1.7 / 175, rtol=1e-5)
    np.testing.assert_allclose(
        walker.mesh.colors, np.broadcast_to((10 / 255, 200 / 255, 30 / 255), (8, 3)), atol=1e-6
    )
    assert walker.mesh.texture is None
    van = assets["van/faces.ply"].mesh  # face colours: vertices unshared, one colour per face
    assert len(van.vertices) == 3 * len(van.faces) == 36
    tri_colors = van.colors[van.faces]  # [F,3,3]
    np.testing.assert_allclose(tri_colors, tri_colors[:, :1].repeat(3, axis=1))
    assert len(np.unique(tri_colors[:, 0, 0])) == 12
    np.testing.assert_allclose(assets["bus/a.obj"].size, (12.0, 2.5, 3.2), rtol=1e-5)
    scaled = assets["bus/b.obj"].size
    assert scaled[0] == pytest.approx(typical_vehicle_length("bus"), rel=1e-5)
    np.testing.assert_allclose(scaled / scaled[0], np.array([12.0, 2.5, 3.2]) / 12.0, rtol=1e-5)


def test_errors_name_the_path(tmp_path):
    def check(directory, fragment):
        with pytest.raises(Gina3dError) as err:
            load_user_assets(directory)
        message = str(err.value)
        assert "\n" not in message and fragment in message
        return message

    missing = tmp_path / "nope"
    check(missing, str(missing))
    (tmp_path / "empty" / "sedan").mkdir(parents=True)
    (tmp_path / "empty" / "sedan" / "readme.txt").write_text("x")
    (tmp_path / "empty" / "loose.glb").write_bytes(b"")  # not in a class folder: ignored
    check(tmp_path / "empty", str(tmp_path / "empty"))
    bad = tmp_path / "bad" / "bus" / "broken.glb"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"definitely not a glb file" * 4)
    assert "cannot read" in check(tmp_path / "bad", str(bad))
    hollow = tmp_path / "hollow" / "sedan" / "nothing.obj"
    hollow.parent.mkdir(parents=True)
    hollow.write_text("# an OBJ without faces\nv 0 0 0\nv 1 0 0\n")
    assert "no triangles" in check(tmp_path / "hollow", str(hollow))
