"""``gina3d eval recon|gen --run RUN --data DATASET``: evaluate a trained model.

Sub-verbs:

* ``recon``: stage-1 reconstruction metrics on held-out patches (PSNR and SSIM of the
  visible object, LiDAR depth error, codebook perplexity and usage, amodal silhouette IoU
  at the input and at novel views on synthetic data); writes ``RUN/eval/recon.json``.
* ``gen``: generation metrics of a stage-2 run (FID and KID against held-out patches at
  their cameras, geometry consistency, COV / MMD / 1-NNA of meshes against reference
  shapes, and the real-vs-real floor); writes ``RUN/eval/gen.json``
  (``gina3d.evaluation.gen_eval``, docs/evaluation.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run
from gina3d.errors import Gina3dError


def _views(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise Gina3dError(f"--views: '{text}' is not a comma-separated list of degrees") from None


def build_parser() -> Parser:
    p = Parser(prog="gina3d eval", description=__doc__)
    sub = p.add_subparsers(dest="what", metavar="{recon,gen}", parser_class=Parser)
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
    r.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    r.add_argument(
        "--max-objects",
        type=int,
        help="held-out views: evaluate a seeded random subset of N tracks (default all)",
    )
    r.add_argument(
        "--max-targets",
        type=int,
        default=8,
        help="held-out views: other observations scored per track (default 8)",
    )
    r.add_argument(
        "--no-heldout",
        action="store_true",
        help="skip the held-out-view and ground-truth-shape metrics",
    )
    r.add_argument(
        "--network",
        default="default",
        help="rfid's feature network: default (the FID Inception-v3) or random-test",
    )
    r.add_argument("--no-rfid", action="store_true", help="skip rfid (no feature network)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_gen(sub)
    return p


# GenEvalConfig fields without an `eval gen` flag (library use; gen.json records them)
GEN_LIBRARY_ONLY = (
    "min_lidar_points",
    "kid_subsets",
    "kid_subset_size",
    "background",
    "normalisation",
    "consistency_elevation_deg",
    "opacity_threshold",
    "occlusion_tolerance",
    "consistency_threshold",
)


def _add_gen(sub) -> None:
    from gina3d.cli.dataclass_flags import add_dataclass_flags
    from gina3d.evaluation.gen_config import GenEvalConfig

    g = sub.add_parser(
        "gen",
        help="stage-2 generation metrics -> RUN/eval/gen.json",
        description="Sample N assets from a stage-2 run (class mix of training, size and time "
        "of held-out patches), render each at the camera of a held-out patch of its class, mesh "
        "it, and score: FID/KID against the held-out patches, geometry consistency, COV/MMD/"
        "1-NNA against reference shapes (ground-truth meshes on synthetic data, aggregated "
        "LiDAR points otherwise), and the real-vs-real floor. Writes RUN/eval/gen.json.",
    )
    g.add_argument("--run", required=True, help="stage-2 run directory (gina3d train stage2)")
    g.add_argument("--data", required=True, help="dataset directory (holds manifest.json)")
    g.add_argument("--split", default="test", help="held-out split (default test)")
    add_dataclass_flags(g, GenEvalConfig, skip=GEN_LIBRARY_ONLY)
    g.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def load_model(run_dir: Path, device: str):
    """The stage-1 model of a run (eval mode) and its config dict."""
    from gina3d.training.checkpoint import load_stage1

    return load_stage1(run_dir, device=device)


def _check_inputs(args) -> None:
    from gina3d.assets.options import check_device_options
    from gina3d.data.shards import load_manifest

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise Gina3dError(f"{run_dir}: no such run directory")
    manifest = load_manifest(args.data)
    splits = sorted({s["split"] for s in manifest["shards"]})
    if args.split not in splits:
        raise Gina3dError(f"{args.data}: no split '{args.split}' (splits: {', '.join(splits)})")
    if getattr(args, "max_patches", None) is not None and args.max_patches < 1:
        raise Gina3dError(f"--max-patches must be at least 1 (got {args.max_patches})")
    if args.batch_size < 1:
        raise Gina3dError(f"--batch-size must be at least 1 (got {args.batch_size})")
    for name in ("max_objects", "max_targets"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise Gina3dError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
    check_device_options(args)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _recon(args) -> int:
    from gina3d.atomic import atomic_write_json
    from gina3d.evaluation.recon import evaluate_reconstruction

    views = _views(args.views)
    _check_inputs(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    run_dir = Path(args.run)
    check_writable(run_dir / "eval", "--run")  # before the metrics are computed
    network = None
    if not args.no_rfid:  # refuses when it is missing, before any work
        from gina3d.evaluation.gen_eval import feature_network

        network = feature_network(args.network, args.seed)
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
        network=network,
    )
    if not args.no_heldout:
        _add_heldout(result, model, args)
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
        "rfid",
        "rfid_half",
        "rfid_floor",
        "psnr_heldout_view",
        "psnr_heldout_view_gain",
        "ssim_heldout_view",
        "psnr_heldout_mean_colour",
        "chamfer_gt",
    ):
        if key in result:
            print(f"  {key:<24} {_fmt(result[key])}")
    for key, why in p["skipped"].items():
        print(f"  skipped {key}: {why}")
    print(f"wrote {out}")
    return 0


def _add_heldout(result: dict, model, args) -> None:
    """Merge the held-out-view and ground-truth-shape metrics into ``result``."""
    import torch

    from gina3d.data.dataset import PatchDataset
    from gina3d.evaluation.heldout_views import evaluate_heldout_views

    held = evaluate_heldout_views(
        model,
        PatchDataset(args.data, split=args.split),
        torch.device(args.device),
        max_objects=args.max_objects,
        max_targets=args.max_targets,
        seed=args.seed,
        progress=not args.quiet,
    )
    for cls, metrics in held.pop("per_class").items():
        row = result["per_class"].setdefault(cls, {})
        row.update({k: v for k, v in metrics.items() if k != "num_objects"})
        row["num_objects"] = metrics["num_objects"]
    result["protocol"]["heldout"] = held.pop("protocol")
    result.update(held)


def _gen(args) -> int:
    from gina3d.assets.options import check_device_options
    from gina3d.assets.run_models import load_models, run_kind
    from gina3d.atomic import atomic_write_json
    from gina3d.cli.dataclass_flags import dataclass_from_args
    from gina3d.evaluation.gen_config import GenEvalConfig
    from gina3d.evaluation.gen_eval import evaluate_gen_run, feature_network

    check_device_options(args)
    settings = dataclass_from_args(GenEvalConfig, args)
    _check_inputs(args)
    settings.validate()
    run_dir = Path(args.run)
    if run_kind(run_dir) != "stage2":
        raise Gina3dError(
            f"{run_dir}: a stage-1 run; eval gen needs a stage-2 run (gina3d train stage2)"
        )
    network = feature_network(settings.network, settings.seed)  # refuses when it is missing
    if settings.network != "default":
        print(f"warning: feature network '{network.name}': FID/KID for tests only")
    models = load_models(run_dir, args.device)
    result = evaluate_gen_run(
        models,
        args.data,
        args.split,
        network,
        settings,
        progress=not args.quiet,
    )
    out = run_dir / "eval" / "gen.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    p = result["protocol"]
    print(
        f"evaluated {p['images']['num_generated']} generated vs {p['images']['num_real']} real "
        f"{args.split} images, {p['shapes']['num_generated']} vs "
        f"{p['shapes']['num_reference']} shapes ({p['shapes']['reference']['kind']})"
    )
    floor = result["real_vs_real"] or {}
    matched = result["matched"] or {}
    print(f"  {'metric':<8} {'all':>10} {'matched':>10} {'real_vs_real':>13}")
    for key in ("fid", "kid", "cov", "mmd", "one_nna"):
        row = (_fmt(result.get(key)), _fmt(matched.get(key)), _fmt(floor.get(key)))
        print(f"  {key:<8} {row[0]:>10} {row[1]:>10} {row[2]:>13}")
    gc = result["geometry_consistency"] or {}
    print(f"  geometry_consistency depth_abs_rel {_fmt(gc.get('depth_abs_rel'))}")
    for key, why in p["skipped"].items():
        print(f"  skipped {key}: {why}")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    body = _gen if args.what == "gen" else _recon
    return run(f"gina3d eval {args.what}", lambda: body(args))


if __name__ == "__main__":
    sys.exit(main())
