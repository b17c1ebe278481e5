"""``gina3d train stage1 --data DATASET --preset NAME --out RUN``: train a stage.

Run it again with the same arguments to resume from the newest checkpoint (``--steps`` and
``--time-budget`` may change between runs; other settings are pinned by RUN/config.yaml). Launch on
several GPUs (or CPU processes) with torchrun:
``torchrun --nproc_per_node 2 -m gina3d.cli.train stage1 --data D --preset cpu --out R``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, run


def build_parser() -> Parser:
    p = Parser(prog="gina3d train", description=__doc__)
    sub = p.add_subparsers(dest="stage", required=True, parser_class=Parser)
    s1 = sub.add_parser("stage1", help="the tri-plane tokenizer (encoder, codebook, decoder)")
    s1.add_argument("--data", required=True, help="patch dataset directory")
    s1.add_argument("--preset", default="cpu", help="tiny, cpu, gpu128 or gpu256 (default cpu)")
    s1.add_argument("--out", required=True, help="run directory (created, or resumed)")
    s1.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="stop cleanly (final checkpoint) after this many minutes",
    )
    s1.add_argument("--steps", type=int, help="override train.max_steps")
    s1.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set loss.occlusion_aware=false",
    )
    s1.add_argument("--device", default="auto", help="auto, cpu or cuda")
    s1.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return p


def _stage1(args) -> int:
    import torch

    from gina3d.config import apply_overrides, load_yaml, save_yaml, to_dict
    from gina3d.data.dataset import PatchDataset
    from gina3d.data.shards import load_manifest
    from gina3d.errors import Gina3dError
    from gina3d.training.distributed import init_distributed, shutdown
    from gina3d.training.loop import train
    from gina3d.training.presets import Stage1Config, stage1_preset
    from gina3d.training.stage1 import Stage1Task

    if args.time_budget is not None and args.time_budget <= 0:
        raise Gina3dError(f"--time-budget {args.time_budget}: must be positive minutes")
    if args.threads:
        torch.set_num_threads(args.threads)
    manifest = load_manifest(args.data)
    cfg = stage1_preset(args.preset, int(manifest["resolution"]))
    cfg.data = str(Path(args.data).resolve())
    if args.steps is not None:
        args.set.append(f"train.max_steps={args.steps}")
    cfg = apply_overrides(cfg, args.set)
    try:
        cfg.model.validate()
    except ValueError as e:
        raise Gina3dError(f"model config: {e}") from None
    run_dir = Path(args.out)
    saved = run_dir / "config.yaml"
    if saved.exists():
        old = load_yaml(Stage1Config, saved)
        old.train.max_steps = cfg.train.max_steps  # a stopping rule, like --time-budget
        if to_dict(old) != to_dict(cfg):
            a, b = to_dict(old), to_dict(cfg)
            diff = [
                f"{s}.{k}"
                for s in a
                if isinstance(a[s], dict)
                for k in a[s]
                if a[s][k] != b[s].get(k)
            ]
            diff += [s for s in a if not isinstance(a[s], dict) and a[s] != b[s]]
            raise Gina3dError(
                f"{run_dir}: was started with other settings (differ in: "
                f"{', '.join(diff)}); repeat the original command or use a new --out"
            )
    info = init_distributed(args.device)
    try:
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_yaml(cfg, saved)
        dataset = PatchDataset(cfg.data, split="train", max_lidar_points=64)
        task = Stage1Task(cfg, info)
        state = train(task, dataset, cfg.train, run_dir, info, args.time_budget)
        if info.is_main:
            print(
                f"{run_dir}: step {state['step']}, {state['train_seconds'] / 60:.1f} min trained"
                f" ({state['stop_reason']}), {state['nonfinite_skipped']} non-finite steps skipped"
            )
    finally:
        shutdown(info)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d train", lambda: _stage1(args))


if __name__ == "__main__":
    sys.exit(main())
