"""``gina3d waymo assets|frames --root DIR --out DATASET``: Waymo Open Dataset v2 to patches.

``assets`` reads the Perception Object Assets release (``{veh,ped}_asset_*`` folders);
``frames`` reads raw v2 perception logs (``camera_image``, ``lidar``, ...) and cuts patches
with the same code as the synthetic world. One task per segment on Dask (``--workers`` >
1 or ``--scheduler``); re-running the same command resumes. See docs/waymo.md.
"""

from __future__ import annotations

import sys

from gina3d.cli.common import Parser, run


def _common(p: Parser) -> None:
    from gina3d.data.filters import FilterConfig

    f = FilterConfig()
    p.add_argument("--root", required=True, help="split directory holding the component folders")
    p.add_argument("--out", required=True, help="dataset directory to create or resume")
    p.add_argument("--workers", type=int, default=1, help="Dask workers (1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    p.add_argument("--memory-limit", default="4GB", help="per local Dask worker (default 4GB)")
    p.add_argument("--segments", help="comma-separated segment names (default: all)")
    p.add_argument("--split", choices=("train", "val", "test"), help="put every segment here")
    p.add_argument("--seed", type=int, default=0, help="seed of the split by segment")
    p.add_argument("--resolution", type=int, default=64, help="patch side in pixels")
    p.add_argument("--max-distance", type=float, default=f.max_distance, help="metres")
    p.add_argument("--min-crop-px", type=float, default=f.min_crop_px, help="frame pixels")
    p.add_argument("--max-truncation", type=float, default=f.max_truncation, help="fraction")
    p.add_argument("--min-visibility", type=float, default=f.min_visibility, help="fraction")
    p.add_argument("--min-object-pixels", type=int, default=f.min_object_pixels, help="pixels")


def build_parser() -> Parser:
    p = Parser(prog="gina3d waymo", description=__doc__)
    sub = p.add_subparsers(dest="kind", required=True, parser_class=Parser)
    a = sub.add_parser("assets", help="the object-asset release -> patches")
    _common(a)
    a.add_argument("--no-refined-pose", action="store_true", help="keep labelled box frames")
    fr = sub.add_parser("frames", help="raw perception logs -> frames -> patches")
    _common(fr)
    fr.add_argument("--no-undistort", action="store_true", help="keep images as recorded")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from gina3d.data.filters import FilterConfig
        from gina3d.data.sources.waymo.convert import ConvertConfig, convert_dataset
        from gina3d.errors import Gina3dError

        filters = FilterConfig(
            max_distance=args.max_distance,
            min_crop_px=args.min_crop_px,
            max_truncation=args.max_truncation,
            min_visibility=args.min_visibility,
            min_object_pixels=args.min_object_pixels,
        )
        try:
            filters.validate()
        except ValueError as e:
            raise Gina3dError(str(e)) from None
        if not 8 <= args.resolution <= 1024:
            raise Gina3dError(f"--resolution {args.resolution}: must lie in [8, 1024]")
        segments = [s for s in (args.segments or "").split(",") if s] or None
        if args.kind == "assets":
            from gina3d.data.sources.waymo.asset_record import AssetConfig
            from gina3d.data.sources.waymo.layout import scan_assets

            layout = scan_assets(args.root, segments)
            task = AssetConfig(
                resolution=args.resolution,
                use_refined_pose=not args.no_refined_pose,
                filters=filters,
            )
        else:
            from gina3d.data.patches import PatchConfig
            from gina3d.data.sources.waymo.frames import FrameConfig
            from gina3d.data.sources.waymo.layout import scan_frames

            layout = scan_frames(args.root, segments)
            task = FrameConfig(
                patches=PatchConfig(resolution=args.resolution),
                filters=filters,
                undistort=not args.no_undistort,
            )
        cfg = ConvertConfig(
            workers=args.workers,
            scheduler=args.scheduler,
            memory_limit=args.memory_limit,
            split=args.split,
            seed=args.seed,
        )
        m = convert_dataset(args.kind, layout, args.out, task, cfg)
        splits = ", ".join(f"{k} {v}" for k, v in sorted(m["per_split"].items())) or "none"
        print(
            f"{args.out}: {m['num_patches']} patches ({splits}) from {len(layout.segments)} "
            f"segments in {m['build_seconds']:.1f} s; report: {args.out}/waymo_report.json"
        )
        w = m["waymo"]
        lines = {
            "missing folders": "missing_folders",
            "missing segment files": "missing_files",
            "rows without a join partner": "unmatched_rows",
            "rows skipped": "skipped_rows",
        }
        for name, key in lines.items():
            value = w[key]
            if value:
                items = value if isinstance(value, list) else [f"{k} {v}" for k, v in value.items()]
                print(f"{name}: {', '.join(items)}")
        return 0

    return run("gina3d waymo", body)


if __name__ == "__main__":
    sys.exit(main())
