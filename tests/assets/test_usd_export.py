"""OpenUSD export: the stage read back with pxr.Usd (axes, units, extent, attributes,
texture coordinates, material)."""

import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gina3d.assets.mesh import extract_mesh
from gina3d.assets.texture_bake import textured_mesh
from gina3d.assets.usd_export import BOX_ATTR, CLASS_ATTR, MATERIAL, MESH, export_usd
from gina3d.errors import Gina3dError

pxr = pytest.importorskip("pxr")
from pxr import Usd, UsdGeom, UsdShade  # noqa: E402

SIZE = (4.6, 1.9, 1.6)  # a car's box: not a cube, so swapped axes would show


def car_fn(points: torch.Tensor):
    """A solid box 0.9 of the asset's box, coloured by position."""
    half = torch.tensor(SIZE) * 0.45
    inside = (points.abs() < half).all(dim=-1)
    rgb = (points / torch.tensor(SIZE) + 0.5).clamp(0, 1)
    return torch.where(inside, 1000.0, 0.0), rgb


@pytest.fixture(scope="module")
def textured():
    mesh = extract_mesh(car_fn, None, SIZE, 20)
    return textured_mesh(car_fn, mesh, texture_size=64, max_faces=1000)


def check_stage(stage, textured, class_name):
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    root = stage.GetDefaultPrim()
    assert root.GetAttribute(CLASS_ATTR).Get() == class_name
    assert list(root.GetAttribute(BOX_ATTR).Get()) == pytest.approx(SIZE)
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(MESH))
    points = np.array(mesh.GetPointsAttr().Get())
    assert points.shape == textured.mesh.vertices.shape
    lo, hi = textured.mesh.vertices.min(0), textured.mesh.vertices.max(0)
    extent = np.array(mesh.GetExtentAttr().Get())  # [2,3] metres, z up
    np.testing.assert_allclose(extent, [lo, hi], atol=0.01 * (hi - lo).max())
    length, width, height = extent[1] - extent[0]
    assert length > width > height and length <= SIZE[0] + 1e-5  # object axes, z up
    assert list(mesh.GetFaceVertexCountsAttr().Get()) == [3] * len(textured.mesh.faces)
    indices = np.array(mesh.GetFaceVertexIndicesAttr().Get()).reshape(-1, 3)
    assert np.array_equal(indices, textured.mesh.faces)
    assert len(mesh.GetNormalsAttr().Get()) == len(points)
    st = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
    assert st and st.GetInterpolation() == UsdGeom.Tokens.vertex
    uv = np.array(st.Get())
    assert uv.shape == (len(points), 2) and uv.min() >= 0 and uv.max() <= 1
    material, _ = UsdShade.MaterialBindingAPI(mesh.GetPrim()).ComputeBoundMaterial()
    assert material and material.GetPath() == MATERIAL
    shader = material.ComputeSurfaceSource()[0]
    assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
    source = shader.GetInput("diffuseColor").GetConnectedSources()[0][0].source
    texture = UsdShade.Shader(source.GetPrim())
    assert texture.GetIdAttr().Get() == "UsdUVTexture"
    return texture.GetInput("file").Get()


def test_usda_round_trip(tmp_path, textured):
    files = export_usd(textured, tmp_path / "car.usda", "vehicle", SIZE)
    assert files == {"stage": "car.usda", "texture": "car_texture.png"}
    stage = Usd.Stage.Open(str(tmp_path / "car.usda"))
    file = check_stage(stage, textured, "vehicle")
    png = Image.open(file.resolvedPath)
    assert np.array_equal(np.asarray(png.convert("RGB")), textured.texture)
    assert validation_errors(stage) == []


def validation_errors(stage) -> list[str]:
    """What USD's own validators (schema types, bindings, encapsulation) report."""
    from pxr import UsdValidation

    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    errors = UsdValidation.ValidationContext(validators).Validate(stage)
    return [f"{e.GetName()}: {e.GetMessage()}" for e in errors]


def test_usdz_packs_the_texture(tmp_path, textured):
    assert export_usd(textured, tmp_path / "car.usdz", None, SIZE) == {"stage": "car.usdz"}
    assert {p.name for p in tmp_path.iterdir()} == {"car.usdz"}
    names = zipfile.ZipFile(tmp_path / "car.usdz").namelist()
    assert names[0].endswith(".usda") or names[0].endswith(".usdc")
    assert "car_texture.png" in names
    stage = Usd.Stage.Open(str(tmp_path / "car.usdz"))
    file = check_stage(stage, textured, "")  # no class: an empty string
    assert file.resolvedPath and "car_texture.png" in file.resolvedPath
    assert validation_errors(stage) == []


def test_bad_usd_paths(tmp_path, textured):
    with pytest.raises(Gina3dError, match=r"\.usda or \.usdz"):
        export_usd(textured, tmp_path / "car.usd", "vehicle", SIZE)
