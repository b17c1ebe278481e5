"""``gina3d demo --out DIR``: the whole system end to end, about 10 minutes on 2 CPU cores.

Phases (each one progress line; ``DIR/logs/<phase>.log`` holds what its command printed):

1. ``synth``   a synthetic dataset of 32-pixel patches (``gina3d synth``) and its contact sheet
2. ``stage1``  the tri-plane tokenizer, preset ``demo``, a time budget (``gina3d train stage1``)
3. ``encode``  every patch's token grid (``gina3d encode``)
4. ``stage2``  MaskGIT over the token grids, preset ``demo`` (``gina3d train stage2``)
5. ``sample``  vehicles and pedestrians, unconditional and conditional, with meshes and
               turntables (``gina3d sample``)
6. ``eval``    reconstruction and generation metrics (``gina3d eval recon``, ``eval gen``
               with the FID Inception-v3)
7. ``report``  ``DIR/report.html`` (``gina3d report`` plus the demo's own overview)

Re-running with the same ``--out`` reuses finished phases (``DIR/.done/<phase>.json``); an
interrupted phase resumes (training continues with what is left of its time budget).
``--fast`` shrinks everything to seconds (for tests); its outputs are not meaningful.
"""

from __future__ import annotations

import argparse
import sys

from gina3d.cli.common import Parser, run
from gina3d.demo.pipeline import Demo
from gina3d.demo.settings import VEHICLE_SIZE, DemoSettings, SampleSet, demo_settings
from gina3d.errors import Gina3dError

__all__ = [
    "VEHICLE_SIZE",
    "Demo",
    "DemoSettings",
    "SampleSet",
    "build_parser",
    "demo_settings",
    "main",
]


def build_parser() -> Parser:
    p = Parser(
        prog="gina3d demo",
        description=__doc__.replace("``", "`"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    p.add_argument("--fast", action="store_true", help="tiny everything: seconds (tests)")
    p.add_argument("--threads", type=int, help="torch CPU threads and synth workers")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument(
        "--fid-network",
        default="default",
        choices=("default", "random-test"),
        help="FID features: default = the FID Inception-v3; random-test for tests only",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.threads is not None and args.threads < 1:
            raise Gina3dError(f"--threads must be at least 1, got {args.threads}")
        if args.device not in ("auto", "cpu") and not args.device.startswith("cuda"):
            raise Gina3dError(f"--device {args.device}: use auto, cpu or cuda")
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        demo = Demo(args, demo_settings(args.fast, args.fid_network))
        try:
            return demo.run()
        finally:
            demo.console.stream.close()

    return run("gina3d demo", body)


if __name__ == "__main__":
    sys.exit(main())
