"""``gina3d encode --run STAGE1_RUN [--data DATASET]``: cache every patch's token grid.

Encodes each patch with the stage-1 run's newest checkpoint and stores its token grid and
conditions (class, box size in metres, time of day, a 32-pixel copy of the patch) in
STAGE1_RUN/tokens/<split>/, with STAGE1_RUN/tokens/index.json. Re-running resumes: parts
already written for the same checkpoint and dataset are kept. ``gina3d train stage2``
reads the cache (and makes it when it is missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    p = Parser(prog="gina3d encode", description=__doc__)
    p.add_argument("--run", required=True, help="stage-1 run directory")
    p.add_argument("--data", help="patch dataset (default: the one the run was trained on)")
    p.add_argument("--splits", help="comma-separated splits (default: every split)")
    p.add_argument("--batch-size", type=int, default=32, help="patches per forward pass")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return p


def _encode(args) -> int:
    import torch

    from gina3d.errors import Gina3dError
    from gina3d.generation.token_cache import cache_dir, encode_dataset

    if args.batch_size < 1:
        raise Gina3dError(f"--batch-size {args.batch_size}: must be >= 1")
    check_writable(Path(args.run) / "tokens", "--run")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
    index = encode_dataset(args.run, args.data, splits, args.batch_size, device)
    counts = ", ".join(f"{k} {v['rows']}" for k, v in index["splits"].items())
    print(f"{cache_dir(args.run)}: token grids of step {index['step']} ({counts})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d encode", lambda: _encode(args))


if __name__ == "__main__":
    sys.exit(main())
