"""``gina3d compose``: insert assets into a dataset frame: image, instance mask, boxes, LiDAR.

Each ``--asset DIR`` (an asset folder, docs/assets.md) is followed by its ``--box
x,y,z,yaw`` (box centre in the vehicle frame in metres, heading in radians about +z) and
optionally ``--size l,w,h`` (default: the asset's own size). Frames are the ones
``gina3d synth --save-frames`` keeps (``--frames`` is the dataset or its ``frames/``
directory, ``--frame`` is SCENE:INDEX). Writes to ``--out``: image.png, instance.png
(16-bit ids), boxes.json, compose.json (what was done) and, with ``--lidar``, lidar.npz
and lidar.ply. docs/compose.md states the rules.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run

PROG = "gina3d compose"


class _AssetGroup(argparse.Action):
    """--asset starts a group; --box and --size fill the latest one."""

    def __call__(self, parser, namespace, value, option_string=None):
        groups = getattr(namespace, "assets", None) or []
        if self.dest == "asset":
            groups.append({"dir": value, "box": None, "size": None})
        elif not groups:
            parser.error(f"{option_string} must follow an --asset")
        elif groups[-1][self.dest] is not None:
            parser.error(f"{option_string} given twice for --asset {groups[-1]['dir']}")
        else:
            groups[-1][self.dest] = value
        namespace.assets = groups


def build_parser() -> Parser:
    p = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--frames", required=True, help="dataset directory or its frames/ directory")
    p.add_argument("--frame", required=True, help="SCENE:INDEX, e.g. scene-00000:0")
    p.add_argument("--camera", default="FRONT", help="camera name (default FRONT)")
    group = {"action": _AssetGroup, "default": None}
    p.add_argument("--asset", metavar="DIR", help="asset folder (repeatable)", **group)
    p.add_argument("--box", metavar="X,Y,Z,YAW", help="its box centre (m) and yaw (rad)", **group)
    p.add_argument("--size", metavar="L,W,H", help="its box size (default: asset's)", **group)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--lidar", action="store_true", help="also simulate and merge LiDAR returns")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="LiDAR stop opacity of density assets (0.5); sdf assets stop at their zero level",
    )
    p.add_argument("--brightness", default="objects", help="objects (default), surround, none")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return p


def parse_box(text: str | None, k: int) -> list[float]:
    """ "10,0,0.8,1.57" -> [x, y, z, yaw]."""
    import math

    from gina3d.errors import Gina3dError

    if text is None:
        raise Gina3dError(f"asset {k}: no --box X,Y,Z,YAW after its --asset")
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise Gina3dError(f"--box '{text}': expected four numbers X,Y,Z,YAW, e.g. 10,0,0.8,0")
    return box


def _placements(args) -> list[tuple]:
    import numpy as np

    from gina3d.assets.asset_io import load_asset
    from gina3d.assets.options import parse_size
    from gina3d.errors import Gina3dError
    from gina3d.geometry.transforms import pose_from_xyz_yaw

    if not getattr(args, "assets", None):
        raise Gina3dError("give at least one --asset DIR --box X,Y,Z,YAW")
    out = []
    for k, g in enumerate(args.assets):
        x, y, z, yaw = parse_box(g["box"], k)
        size = parse_size(g["size"])
        asset = load_asset(g["dir"])
        out.append((asset, pose_from_xyz_yaw(np.array([x, y, z]), yaw), size))
    return out


def _compose(args) -> int:
    from gina3d.assets.asset_field import prepare_insertions
    from gina3d.assets.compose import ComposeConfig, compose_frame
    from gina3d.assets.compose_output import write_outputs
    from gina3d.assets.frame_camera import find_frame, frame_camera, lidar_spec_for
    from gina3d.assets.lidar_sim import LidarSimConfig, simulate_lidar
    from gina3d.assets.options import check_device_options

    start = time.perf_counter()
    check_device_options(args)
    check_writable(args.out, "--out")
    cfg = ComposeConfig(brightness=args.brightness)
    cfg.validate()
    lidar_cfg = LidarSimConfig(threshold=args.threshold)
    lidar_cfg.validate()
    frame, path = find_frame(args.frames, args.frame)
    frame_camera(frame, args.camera)  # fail early on a wrong camera name
    placements = _placements(args)
    insertions = prepare_insertions(frame, placements, device=args.device)
    result = compose_frame(frame, args.camera, insertions, cfg=cfg)
    for k, rep in enumerate(result.inserted):
        if rep["status"] != "ok":
            where = "behind the camera" if rep["status"] == "behind_camera" else "out of view"
            print(
                f"{PROG}: warning: asset {k} ({args.assets[k]['dir']}): box {where} of "
                f"{args.camera}; nothing drawn{', LiDAR still simulated' if args.lidar else ''}",
                file=sys.stderr,
            )
    lidar = None
    if args.lidar:
        spec = lidar_spec_for(frame, path)
        lidar = simulate_lidar(frame, insertions, spec=spec, cfg=lidar_cfg)
    out = Path(args.out)
    info = {"path": str(Path(path).resolve()), "scene_id": frame.scene_id}
    info.update(frame_index=frame.frame_index, source=frame.source, camera=args.camera)
    written = write_outputs(out, result, lidar, info, lidar_cfg.threshold, start)
    for k, rep in enumerate(result.inserted):
        px = rep.get("pixels", {})
        gain = rep.get("brightness", {}).get("gain")
        if rep["status"] == "ok" and px.get("visible", 0) == 0:
            hidden = "hidden by the scene" if px.get("rendered", 0) else "no opaque pixel"
            print(
                f"{PROG}: warning: asset {k} ({args.assets[k]['dir']}): in view but 0 pixels "
                f"visible ({hidden})",
                file=sys.stderr,
            )
        print(
            f"{rep['object_id']} (id {rep['instance_id']}): {rep['status']}, "
            f"{px.get('visible', 0)} px visible, {px.get('occluded', 0)} occluded"
            + ("" if gain is None else f", gain {gain:.2f}")
        )
    if lidar is not None:
        print(f"LiDAR: {lidar.added} returns added, {lidar.removed} removed ({lidar.beams})")
    print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _compose(args))


if __name__ == "__main__":
    sys.exit(main())
