"""``gina3d report --run RUN``: write a run's HTML report (default ``RUN/report.html``).

One self-contained page: metrics with their protocol (``RUN/eval/*.json``), training
curves (``RUN/metrics.jsonl``), sample grids and reconstruction examples (``RUN/samples``),
assets with turntables (``RUN/assets`` or ``--assets``) and the run's config. Sections
whose inputs are missing are left out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    p = Parser(prog="gina3d report", description=__doc__)
    p.add_argument("--run", required=True, help="run directory")
    p.add_argument("--out", help="HTML file to write (default RUN/report.html)")
    p.add_argument(
        "--assets",
        metavar="DIR",
        help="asset folders to show (DIR/*/ with turntable.png|gif, asset.json, mesh.glb; "
        "default RUN/assets)",
    )
    return p


def _report(args) -> int:
    from gina3d.evaluation.report import write_report

    target = Path(args.out) if args.out else Path(args.run) / "report.html"
    check_writable(target.parent, "--out" if args.out else "--run")
    path = write_report(args.run, args.out, args.assets)
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d report", lambda: _report(args))


if __name__ == "__main__":
    sys.exit(main())
