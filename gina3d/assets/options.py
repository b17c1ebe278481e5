"""Command-line options shared by ``gina3d sample``, ``reconstruct`` and ``edit``."""

from __future__ import annotations

import math

from gina3d.assets.asset_spec import AssetOptions
from gina3d.errors import Gina3dError


def parse_size(text: str | None) -> list[float] | None:
    """ "4.6,1.9,1.6" -> [4.6, 1.9, 1.6] (length, width, height in metres, all > 0)."""
    if text is None:
        return None
    try:
        size = [float(v) for v in text.split(",")]
    except ValueError:
        raise Gina3dError(f"--size '{text}': expected three numbers, e.g. 4.6,1.9,1.6") from None
    if len(size) != 3 or not all(math.isfinite(s) and s > 0 for s in size):
        raise Gina3dError(f"--size '{text}': need three positive lengths in metres (L,W,H)")
    return size


def parse_strengths(text: str) -> list[float]:
    """ "0,0.1,0.3" -> sorted unique strengths, each in [0, 1]."""
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise Gina3dError(f"--strength '{text}': expected numbers, e.g. 0.3 or 0,0.1,0.3") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise Gina3dError(f"--strength '{text}': every strength must be in [0, 1]")
    return values


def check_class(name: str | None) -> str | None:
    """``--class`` checked against the dataset classes."""
    from gina3d.data.dataset import check_class as check

    return check(name, "--class")


def check_time(name: str | None) -> str | None:
    """``--time`` checked against the times of day."""
    from gina3d.data.dataset import check_time as check

    return check(name, "--time")


def add_asset_options(p) -> None:
    """--mesh-format/-resolution/-opacity/-texture, --texture-size, --faces, --export, --usdz,
    --views, --image-size, --device, --threads, --quiet."""
    p.add_argument("--mesh-format", default="glb", help="glb (default), ply or obj")
    p.add_argument(
        "--mesh-resolution", type=int, default=128, help="marching-cubes grid nodes per axis (128)"
    )
    p.add_argument(
        "--mesh-opacity",
        type=float,
        default=None,
        help="mesh surface: where light from outside the box has reached this opacity "
        "(default per class: vehicle 0.3, pedestrian and cyclist 0.1, no class 0.3; "
        "docs/assets.md)",
    )
    p.add_argument(
        "--mesh-texture",
        default="vertex",
        help="mesh colours: vertex (default) or uv (GLB: decimated, unwrapped, baked texture)",
    )
    add_texture_options(p)
    p.add_argument(
        "--export",
        default="",
        help="exports beside the mesh, e.g. usd or glb,usd,splat: asset.usda (+ "
        "asset_texture.png), asset.glb, splats.ply (3D Gaussians)",
    )
    add_splat_options(p)
    p.add_argument("--usdz", action="store_true", help="--export usd: one asset.usdz package")
    p.add_argument("--views", type=int, default=8, help="turntable views (default 8)")
    p.add_argument("--image-size", type=int, default=128, help="turntable view side in px (128)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_texture_options(p) -> None:
    """--texture-size and --faces (textured meshes: ``--mesh-texture uv``, exports)."""
    p.add_argument("--texture-size", type=int, default=512, help="baked texture side (512)")
    p.add_argument("--faces", type=int, default=20_000, help="face cap of textured meshes (20000)")


def add_splat_options(p) -> None:
    """--splats and --splat-steps (the ``splat`` export)."""
    p.add_argument("--splats", type=int, default=1024, help="splat export: Gaussians (1024)")
    p.add_argument("--splat-steps", type=int, default=100, help="splat export: fitting steps (100)")


def check_splat_flags(args) -> None:
    """Validate --splats and --splat-steps."""
    from gina3d.assets.splat_export import check_splat_options

    try:
        check_splat_options(args.splats, args.splat_steps)
    except Gina3dError as e:
        raise Gina3dError(f"--splats / --splat-steps: {e}") from None


def check_texture_flags(args) -> None:
    """Validate --texture-size and --faces."""
    from gina3d.assets.uv_atlas import check_max_faces, check_texture_size

    try:
        check_texture_size(args.texture_size)
        check_max_faces(args.faces)
    except Gina3dError as e:
        raise Gina3dError(f"--texture-size / --faces: {e}") from None


def check_asset_options(args) -> None:
    """Validate the shared options and apply --threads."""
    from gina3d.assets.asset_export import check_mesh_texture, parse_export_formats
    from gina3d.assets.mesh_export import check_format

    args.mesh_format = check_format(args.mesh_format)
    try:
        args.mesh_texture = check_mesh_texture(args.mesh_texture)
    except Gina3dError as e:
        raise Gina3dError(f"--mesh-texture: {e}") from None
    if args.mesh_texture == "uv" and args.mesh_format != "glb":
        raise Gina3dError(f"--mesh-texture uv needs --mesh-format glb, got {args.mesh_format}")
    try:
        args.export = parse_export_formats(args.export)
    except Gina3dError as e:
        raise Gina3dError(f"--export: {e}") from None
    check_texture_flags(args)
    check_splat_flags(args)
    if args.mesh_resolution < 8:
        raise Gina3dError(f"--mesh-resolution must be at least 8, got {args.mesh_resolution}")
    if args.mesh_opacity is not None and not 0.0 < args.mesh_opacity < 1.0:
        raise Gina3dError(f"--mesh-opacity must be in (0, 1), got {args.mesh_opacity}")
    if args.views < 1 or args.image_size < 8:
        raise Gina3dError("--views must be >= 1 and --image-size >= 8")
    check_device_options(args)


def check_device_options(args) -> None:
    """Validate --device (known, CUDA present when asked for) and apply --threads (when the
    command has it)."""
    import torch

    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            raise Gina3dError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise Gina3dError(f"--device: unknown torch device '{args.device}'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise Gina3dError(f"--device {args.device}: CUDA is not available on this machine")


def asset_options(args) -> AssetOptions:
    """``save_asset``'s options from the shared flags (``add_asset_options``)."""
    return AssetOptions(
        mesh_format=args.mesh_format,
        mesh_resolution=args.mesh_resolution,
        mesh_opacity=args.mesh_opacity,
        mesh_texture=args.mesh_texture,
        texture_size=args.texture_size,
        max_faces=args.faces,
        exports=tuple(args.export),
        usdz=args.usdz,
        splats=args.splats,
        splat_steps=args.splat_steps,
        views=args.views,
        image_size=args.image_size,
    )
