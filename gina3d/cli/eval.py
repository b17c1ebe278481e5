"""``gina3d eval recon --run RUN --data DATASET``: evaluate a trained model.

Sub-verbs:

* ``recon``: stage-1 reconstruction metrics on held-out patches (PSNR and SSIM of the
  visible object, LiDAR depth error, codebook perplexity and usage, amodal silhouette IoU
  at the input and at novel views on synthetic data); writes ``RUN/eval/recon.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, run
from gina3d.errors import Gina3dError


def _views(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise Gina3dError(f"--views: '{text}' is not a comma-separated list of degrees") from None


def build_parser() -> Parser:
    p = Parser(prog="gina3d eval", description=__doc__)
    sub = p.add_subparsers(dest="what", metavar="{recon}", parser_class=Parser)
    sub.required = True
    r = sub.add_parser(
        "recon",
        help="stage-1 reconstruction metrics -> RUN/eval/recon.json",
        description="Stage-1 reconstruction metrics on held-out patches; writes "
        "RUN/eval/recon.json. Amodal metrics need a synthetic dataset (amodal masks; meshes "
        "for novel views) and are skipped otherwise (the protocol says so).",
    )
    r.add_argument("--run", required=True, help="training run directory (holds the checkpoint)")
    r.add_argument("--data", required=True, help="dataset directory (holds manifest.json)")
    r.add_argument("--split", default="test", help="split to evaluate (default test)")
    r.add_argument("--max-patches", type=int, help="evaluate a seeded random subset of N")
    r.add_argument("--seed", type=int, default=0, help="seed of the --max-patches subset")
    r.add_argument("--batch-size", type=int, default=8, help="patches per batch (default 8)")
    r.add_argument(
        "--views", default="90,180,270", help="novel-view azimuths in degrees (default 90,180,270)"
    )
    r.add_argument("--device", default="cpu", help="torch device (default cpu)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def load_model(run_dir: Path, device: str):
    """The stage-1 model of a run (eval mode) and its config dict."""
    try:
        from gina3d.training.checkpoint import load_stage1
    except ImportError as e:
        raise Gina3dError(f"cannot load stage-1 checkpoints in this install ({e})") from None
    return load_stage1(run_dir, device=device)


def _check_inputs(args) -> None:
    from gina3d.data.shards import load_manifest

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise Gina3dError(f"{run_dir}: no such run directory")
    manifest = load_manifest(args.data)
    splits = sorted({s["split"] for s in manifest["shards"]})
    if args.split not in splits:
        raise Gina3dError(f"{args.data}: no split '{args.split}' (splits: {', '.join(splits)})")
    if args.max_patches is not None and args.max_patches < 1:
        raise Gina3dError(f"--max-patches must be at least 1 (got {args.max_patches})")
    if args.batch_size < 1:
        raise Gina3dError(f"--batch-size must be at least 1 (got {args.batch_size})")
    import torch

    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise Gina3dError(f"--device: unknown torch device '{args.device}'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise Gina3dError(f"--device {args.device}: CUDA is not available on this machine")


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _recon(args) -> int:
    from gina3d.atomic import atomic_write_json
    from gina3d.evaluation.recon import evaluate_reconstruction

    views = _views(args.views)
    _check_inputs(args)
    run_dir = Path(args.run)
    model, _cfg = load_model(run_dir, args.device)
    result = evaluate_reconstruction(
        model,
        args.data,
        split=args.split,
        max_patches=args.max_patches,
        views=views,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        model_info={"run": str(run_dir.resolve())},
    )
    out = run_dir / "eval" / "recon.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    p = result["protocol"]
    print(f"evaluated {result['num_patches']} {args.split} patches ({p['num_occluded']} occluded)")
    for key in (
        "psnr_visible",
        "ssim_visible",
        "lidar_depth_abs_rel",
        "codebook_perplexity",
        "codebook_usage",
        "amodal_iou_input",
        "amodal_iou_input_all",
        "amodal_iou_novel",
    ):
        print(f"  {key:<22} {_fmt(result[key])}")
    for key, why in p["skipped"].items():
        print(f"  skipped {key}: {why}")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(f"gina3d eval {args.what}", lambda: _recon(args))


if __name__ == "__main__":
    sys.exit(main())
