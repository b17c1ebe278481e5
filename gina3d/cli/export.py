"""``gina3d export ASSET_DIR [ASSET_DIR ...] --format glb|usd|splat``: files for simulators.

For each asset folder (written by ``sample``, ``reconstruct`` or ``edit``), the tri-plane
is decoded by the stage-1 decoder its asset.json references, the surface is extracted
with the recorded mesh settings, decimated to ``--faces``, UV-unwrapped and its colour
baked into a ``--texture-size`` texture; then written as

* ``--format glb``: ``asset.glb`` (PBR material with the texture; y-up node like
  ``mesh.glb``);
* ``--format usd``: ``asset.usda`` + ``asset_texture.png``, or with ``--usdz`` one
  ``asset.usdz`` (z up, metres);
* ``--format splat``: ``splats.ply``, ``--splats`` 3D Gaussians started on the surface and
  fitted for ``--splat-steps`` steps to the field's own renders (the 3DGS binary PLY).

Files go into each asset folder, or with ``--out DIR`` to ``DIR/<folder name>.glb`` and so
on, ``DIR/<folder name>_splats.ply`` (folder names must then differ). docs/assets.md
describes the formats.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    from gina3d.assets.options import add_splat_options, add_texture_options

    p = Parser(prog="gina3d export", description=__doc__)
    p.add_argument("assets", nargs="+", metavar="ASSET_DIR", help="asset folders")
    p.add_argument(
        "--format",
        dest="formats",
        default="glb",
        help="glb (default), usd, splat, or several: glb,usd,splat",
    )
    p.add_argument("--out", help="output folder (default: each asset folder)")
    add_texture_options(p)
    add_splat_options(p)
    p.add_argument("--usdz", action="store_true", help="USD as one .usdz package")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return p


def _export(args) -> int:
    from gina3d.assets.asset_export import STEM, export_asset, parse_export_formats
    from gina3d.assets.asset_io import load_asset
    from gina3d.assets.decoder_ref import load_decoder
    from gina3d.assets.options import (
        check_device_options,
        check_splat_flags,
        check_texture_flags,
    )
    from gina3d.errors import Gina3dError

    try:
        formats = parse_export_formats(args.formats)
    except Gina3dError as e:
        raise Gina3dError(f"--format: {e}") from None
    if not formats:
        raise Gina3dError("--format: give glb, usd, splat or several, e.g. glb,usd")
    check_texture_flags(args)
    check_splat_flags(args)
    check_device_options(args)
    assets = [load_asset(path) for path in args.assets]  # every folder checked first
    if args.out is None:
        for asset in assets:
            check_writable(asset.path, "ASSET_DIR")
    else:
        check_writable(args.out, "--out")
        names = [a.path.resolve().name for a in assets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise Gina3dError(f"--out {args.out}: asset folders share a name ({twice[0]})")
    decoders: dict[str, object] = {}
    for asset in assets:
        key = str(asset.decoder.get("checkpoint"))
        if key not in decoders:
            decoders[key] = load_decoder(asset, args.device)[0]
        out_dir = asset.path if args.out is None else Path(args.out)
        stem = STEM if args.out is None else asset.path.resolve().name
        summary = export_asset(
            asset,
            decoders[key],
            formats,
            out_dir,
            stem,
            texture_size=args.texture_size,
            max_faces=args.faces,
            usdz=args.usdz,
            splats=args.splats,
            splat_steps=args.splat_steps,
        )
        files = [f for entry in summary["formats"].values() for f in entry["files"]]
        seconds = sum(summary["seconds"].values()) + sum(
            e["seconds"] for e in summary["formats"].values()
        )
        notes = []
        if summary["faces"] is not None:
            notes += [f"{summary['faces']} faces", f"{summary['texture_size']}^2 texture"]
        if "splat" in summary["formats"]:
            sp = summary["formats"]["splat"]
            notes.append(f"{sp['splats']} splats, held-out PSNR {sp['psnr_heldout']:.2f} dB")
        print(
            f"{asset.path} -> {', '.join(str(out_dir / f) for f in files)} "
            f"({', '.join(notes)}, {seconds:.2f} s)"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d export", lambda: _export(args))


if __name__ == "__main__":
    sys.exit(main())
