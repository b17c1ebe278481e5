"""``gina3d view``: a browser viewer of a dataset, a run's assets, live renders and sampling.

    gina3d view --data DATASET              browse patches: image, masks, LiDAR, box, camera
    gina3d view --run RUN                   browse RUN/assets/*; sample if RUN is stage 2
    gina3d view --assets DIR                browse the asset folders under DIR

Open the printed URL in a browser. The server binds 127.0.0.1 (this machine only) unless
--host says otherwise; it has no authentication, so --host 0.0.0.0 lets anyone who can
reach the port see the data and make it sample and write assets. Ctrl-C stops it.
docs/viewer.md describes every panel.
"""

from __future__ import annotations

import argparse
import os
import sys

from gina3d.cli.common import Parser, run

LOOPBACK = ("127.0.0.1", "localhost", "::1")


STOP_TIMEOUT_S = 10.0
"""Seconds the viewer's shutdown may take after Ctrl-C before the command ends anyway."""


def build_parser() -> Parser:
    p = Parser(
        prog="gina3d view",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", help="patch dataset directory to browse")
    p.add_argument("--run", help="run directory: its assets; sampling for a stage-2 run")
    p.add_argument("--assets", help="directory of asset folders (or one asset folder)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free)")
    p.add_argument("--samples-out", help="where sampled assets go (default RUN/assets/viewer)")
    p.add_argument("--live-size", type=int, default=96, help="live render height, px (96)")
    p.add_argument(
        "--live-interval", type=float, default=0.2, help="min seconds between live renders (0.2)"
    )
    p.add_argument(
        "--mesh-resolution", type=int, default=64, help="marching cubes of sampled assets (64)"
    )
    p.add_argument(
        "--export",
        default="",
        help="exports written with each sampled asset, e.g. usd or glb,usd,splat (docs/assets.md)",
    )
    p.add_argument("--usdz", action="store_true", help="--export usd: one asset.usdz package")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument(
        "--serve-seconds", type=float, help="stop after this many seconds (default: Ctrl-C)"
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="stop once a browser has received the scene (exit 1 if none within --serve-seconds)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        import signal

        from gina3d.errors import Gina3dError
        from gina3d.viewer.server import Viewer, ViewerConfig

        # a process started in the background (`cmd &`, CI runners) inherits SIGINT ignored,
        # and Python then never raises KeyboardInterrupt: a server must always stop on Ctrl-C
        signal.signal(signal.SIGINT, signal.default_int_handler)

        if args.serve_seconds is not None and args.serve_seconds <= 0:
            raise Gina3dError(f"--serve-seconds must be positive, got {args.serve_seconds}")
        from gina3d.assets.options import check_device_options

        check_device_options(args)
        from gina3d.assets.asset_export import parse_export_formats

        try:
            exports = tuple(parse_export_formats(args.export))
        except Gina3dError as e:
            raise Gina3dError(f"--export: {e}") from None
        cfg = ViewerConfig(
            host=args.host,
            port=args.port,
            data=args.data,
            run=args.run,
            assets=args.assets,
            samples_out=args.samples_out,
            live_size=args.live_size,
            live_interval_s=args.live_interval,
            mesh_resolution=args.mesh_resolution,
            exports=exports,
            usdz=args.usdz,
            device=args.device,
        )
        import logging

        # a browser's speculative connections that close before a request are not errors
        logging.getLogger("websockets.server").setLevel(logging.CRITICAL)
        viewer = Viewer(cfg)
        try:
            url = viewer.start()
            if args.host not in LOOPBACK:
                print(
                    f"gina3d view: warning: serving on {args.host} without authentication: "
                    "anyone who reaches this port sees the data and can sample",
                    file=sys.stderr,
                )
            shown = [n for n, v in (("dataset", cfg.data), ("run", cfg.run)) if v]
            shown += ["assets"] if cfg.assets else []
            print(f"gina3d view: {', '.join(shown)} at {url}  (Ctrl-C to stop)", flush=True)
            viewer.serve(args.serve_seconds, once=args.once)
            if args.once and not viewer.client_ready.is_set():
                print("gina3d view: no browser connected in time", file=sys.stderr)
                return 1
        except KeyboardInterrupt:
            print("gina3d view: stopped", file=sys.stderr)
        finally:
            # viser's server thread can be slow to wind down on a loaded machine: give the
            # shutdown a bounded time in a daemon thread so Ctrl-C always ends the command
            import threading

            stopper = threading.Thread(target=viewer.stop, daemon=True)
            stopper.start()
            stopper.join(STOP_TIMEOUT_S)
        return 0

    return run("gina3d view", body)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # exit without waiting for server threads that outlived the bounded shutdown above
    os._exit(code)
