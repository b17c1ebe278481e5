"""``gina3d synth --out DIR``: build an object-patch dataset from the built-in synthetic world.

Re-running the same command resumes an interrupted build (finished shards are kept).
"""

from __future__ import annotations

import sys

from gina3d.cli.common import Parser, run


def build_parser() -> Parser:
    from gina3d.data.filters import FilterConfig
    from gina3d.data.patches import PatchConfig
    from gina3d.data.sources.synthetic.rig import RIGS
    from gina3d.data.sources.synthetic.world import SynthConfig

    f, pc, sc = FilterConfig(), PatchConfig(), SynthConfig()
    p = Parser(prog="gina3d synth", description=__doc__)
    p.add_argument("--out", required=True, help="dataset directory to create or resume")
    p.add_argument(
        "--scenes", type=int, default=sc.scenes, help=f"number of scenes (default {sc.scenes})"
    )
    p.add_argument("--seed", type=int, default=0, help="world seed; same seed, same dataset")
    p.add_argument(
        "--frames",
        type=int,
        default=sc.frames_per_scene,
        help=f"time steps per scene (default {sc.frames_per_scene})",
    )
    p.add_argument(
        "--frame-interval",
        type=float,
        default=sc.frame_interval,
        help=f"seconds between time steps (default {sc.frame_interval:g})",
    )
    p.add_argument(
        "--rig",
        choices=sorted(RIGS),
        default=sc.rig,
        help=f"cameras: waymo (5) or surround (7, two look back; default {sc.rig})",
    )
    p.add_argument(
        "--ego-speed",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=list(sc.ego_speed),
        help="range of the ego vehicle's speed in m/s (default %(default)s)",
    )
    p.add_argument(
        "--ego-stopped-share",
        type=float,
        default=sc.ego_stopped_share,
        help=f"share of scenes where the ego stands still (default {sc.ego_stopped_share:g})",
    )
    p.add_argument("--resolution", type=int, default=pc.resolution, help="patch side in pixels")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--assets", metavar="DIR", help="your meshes: DIR/<class or body type>/*.glb")
    p.add_argument(
        "--user-asset-fraction",
        type=float,
        default=0.5,
        help="share of objects drawn from --assets when a class has some",
    )
    p.add_argument(
        "--camera-scale",
        type=float,
        default=1 / 3,
        help="camera resolution relative to Waymo's 1920-pixel width",
    )
    p.add_argument(
        "--save-frames",
        action="store_true",
        help="also keep every frame (images, depth, segmentation, LiDAR, boxes)",
    )
    p.add_argument("--scenes-per-shard", type=int, default=2, help="scenes per Parquet shard")
    p.add_argument("--max-distance", type=float, default=f.max_distance, help="metres")
    p.add_argument("--min-crop-px", type=float, default=f.min_crop_px, help="frame pixels")
    p.add_argument("--max-truncation", type=float, default=f.max_truncation, help="fraction")
    p.add_argument("--min-visibility", type=float, default=f.min_visibility, help="fraction")
    p.add_argument(
        "--min-object-pixels",
        type=int,
        default=f.min_object_pixels,
        help="visible object pixels in the patch",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from gina3d.data.build import BuildConfig, build_dataset
        from gina3d.data.filters import FilterConfig
        from gina3d.data.patches import PatchConfig
        from gina3d.data.sources.synthetic.world import SynthConfig, SyntheticSource

        cfg = SynthConfig(
            scenes=args.scenes,
            frames_per_scene=args.frames,
            frame_interval=args.frame_interval,
            rig=args.rig,
            ego_speed=(args.ego_speed[0], args.ego_speed[1]),
            ego_stopped_share=args.ego_stopped_share,
            camera_scale=args.camera_scale,
            assets=args.assets,
            user_asset_fraction=args.user_asset_fraction,
        )
        build = BuildConfig(
            scenes_per_shard=args.scenes_per_shard,
            workers=args.workers,
            save_frames=args.save_frames,
            patches=PatchConfig(resolution=args.resolution),
            filters=FilterConfig(
                max_distance=args.max_distance,
                min_crop_px=args.min_crop_px,
                max_truncation=args.max_truncation,
                min_visibility=args.min_visibility,
                min_object_pixels=args.min_object_pixels,
            ),
        )
        build.validate()
        source = SyntheticSource(cfg, args.seed)
        m = build_dataset(source, args.out, build, seed=args.seed)
        splits = ", ".join(f"{k} {v}" for k, v in m["per_split"].items())
        print(
            f"{args.out}: {m['num_patches']} patches ({splits}) from {args.scenes} scenes"
            f" in {m['build_seconds']:.1f} s"
        )
        return 0

    return run("gina3d synth", body)


if __name__ == "__main__":
    sys.exit(main())
