"""OpenUSD files of a textured asset mesh: ``.usda`` with its texture beside it, or ``.usdz``.

The stage (``pxr`` from the ``usd-core`` package) is in the object frame as it is: z up
(``upAxis = "Z"``), metres (``metersPerUnit = 1``), origin at the box centre, x forward,
y left. Layout::

    /asset                    Xform, the default prim, kind "component"; custom attributes
                              gina3d:class (string, "" when not given) and
                              gina3d:boxSize (double3, metres: length x, width y, height z)
    /asset/mesh               Mesh: points, faceVertexCounts (all 3), faceVertexIndices
                              (counter-clockwise seen from outside: USD's default
                              rightHanded orientation), normals (vertex), primvars:st
                              (texCoord2f, vertex), extent, subdivisionScheme "none";
                              bound to /asset/material
    /asset/material           Material whose surface is a UsdPreviewSurface
        surface               UsdPreviewSurface: diffuseColor from the texture, roughness 1,
                              metallic 0
        st_reader             UsdPrimvarReader_float2 reading "st"
        base_color            UsdUVTexture: file = the PNG, st from st_reader, sRGB,
                              wrap clamp

``.usda``: the PNG is written beside it (``<stem>_texture.png``) and referenced by its
relative path. ``.usdz``: the same layer, in USD's binary crate format (``.usdc``), and
the PNG packaged into one zip (``UsdUtils.CreateNewUsdzPackage``). Texture coordinates
follow ``uv_atlas`` (v up), which is USD's convention too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from gina3d.atomic import atomic_write_bytes
from gina3d.errors import Gina3dError

ROOT, MESH, MATERIAL = "/asset", "/asset/mesh", "/asset/material"
CLASS_ATTR, BOX_ATTR = "gina3d:class", "gina3d:boxSize"


def _pxr():
    try:
        from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
    except ImportError:
        raise Gina3dError("USD export needs usd-core: pip install 'gina3d[export]'") from None
    return Gf, Kind, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt


def texture_png(texture: np.ndarray) -> bytes:
    """A uint8 [H,W,3] texture as PNG bytes."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(texture)).save(buf, format="PNG")
    return buf.getvalue()


def build_stage(textured, texture_file: str, class_name: str | None, box_size):
    """An in-memory Usd.Stage of ``textured`` (a texture_bake.TexturedMesh) whose material
    reads the texture at ``texture_file`` (a path relative to the layer)."""
    Gf, Kind, Sdf, Usd, UsdGeom, UsdShade, _, Vt = _pxr()
    m = textured.mesh
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, ROOT).GetPrim()
    stage.SetDefaultPrim(root)
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    root.CreateAttribute(CLASS_ATTR, Sdf.ValueTypeNames.String, custom=True).Set(class_name or "")
    size = Gf.Vec3d(*(float(s) for s in np.asarray(box_size, np.float64)))
    root.CreateAttribute(BOX_ATTR, Sdf.ValueTypeNames.Double3, custom=True).Set(size)

    mesh = UsdGeom.Mesh.Define(stage, MESH)
    points = np.asarray(m.vertices, np.float32)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(m.faces), 3, np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(m.faces.astype(np.int32).ravel()))
    mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.asarray(m.normals, np.float32)))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    lo, hi = points.min(axis=0), points.max(axis=0)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*lo.tolist()), Gf.Vec3f(*hi.tolist())]))
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
        "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex
    )
    st.Set(Vt.Vec2fArray.FromNumpy(np.asarray(m.uv, np.float32)))

    material = UsdShade.Material.Define(stage, MATERIAL)
    surface = UsdShade.Shader.Define(stage, f"{MATERIAL}/surface")
    surface.CreateIdAttr("UsdPreviewSurface")
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(1.0)
    surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    reader = UsdShade.Shader.Define(stage, f"{MATERIAL}/st_reader")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
    reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
    tex = UsdShade.Shader.Define(stage, f"{MATERIAL}/base_color")
    tex.CreateIdAttr("UsdUVTexture")
    tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(texture_file)
    tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
        reader.ConnectableAPI(), "result"
    )
    tex.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    tex.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("clamp")
    tex.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("clamp")
    tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
        tex.ConnectableAPI(), "rgb"
    )
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    return stage


def export_usd(
    textured, path: str | os.PathLike, class_name: str | None, box_size
) -> dict[str, str]:
    """Write ``path`` (``.usda``: plus ``<stem>_texture.png`` beside it; ``.usdz``: one
    package), atomically. Returns the files written, by role (``stage``, ``texture``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".usda", ".usdz"):
        raise Gina3dError(f"{path}: a USD export is .usda or .usdz")
    if len(textured.mesh.faces) == 0:
        raise Gina3dError(f"{path}: the mesh has no faces (nothing to export)")
    png = texture_png(textured.texture)
    texture_name = f"{path.stem}_texture.png"
    stage = build_stage(textured, f"./{texture_name}", class_name, box_size)
    if suffix == ".usda":
        atomic_write_bytes(path.with_name(texture_name), png)
        atomic_write_bytes(path, stage.GetRootLayer().ExportToString().encode())
        return {"stage": path.name, "texture": texture_name}
    _, _, Sdf, _, _, _, UsdUtils, _ = _pxr()
    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / f"{path.stem}.usdc"  # binary crate inside the package
        (Path(tmp) / texture_name).write_bytes(png)
        if not stage.GetRootLayer().Export(str(layer)):
            raise Gina3dError(f"{path}: writing the USD layer failed")
        package = Path(tmp) / path.name
        if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(layer)), str(package)):
            raise Gina3dError(f"{path}: packaging the USDZ failed")
        atomic_write_bytes(path, package.read_bytes())
    return {"stage": path.name}
