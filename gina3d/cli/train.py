"""``gina3d train stage1 --data DATASET --preset NAME --out RUN``: train a stage.

``gina3d train stage2 --run STAGE1_RUN --preset NAME --out RUN``: MaskGIT over the stage-1
run's token grids (encoded first, into STAGE1_RUN/tokens/, when there is no current cache).

Run it again with the same arguments to resume from the newest checkpoint (``--steps`` and
``--time-budget`` may change between runs; other settings are pinned by RUN/config.yaml). Launch on
several GPUs (or CPU processes) with torchrun:
``torchrun --nproc_per_node 2 -m gina3d.cli.train stage1 --data D --preset cpu --out R``
(for stage 2 write ``--stage1-run S1`` instead of ``--run S1``: torchrun would read ``--run``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    p = Parser(prog="gina3d train", description=__doc__)
    sub = p.add_subparsers(dest="stage", required=True, parser_class=Parser)
    s1 = sub.add_parser("stage1", help="the tri-plane tokenizer (encoder, codebook, decoder)")
    s1.add_argument("--data", required=True, help="patch dataset directory")
    s1.add_argument(
        "--preset", default="cpu", help="tiny, demo, cpu, gpu128 or gpu256 (default cpu)"
    )
    s1.add_argument("--out", required=True, help="run directory (created, or resumed)")
    _common(s1, "loss.occlusion_aware=false")
    s2 = sub.add_parser("stage2", help="MaskGIT over the stage-1 token grids (generation)")
    s2.add_argument(
        "--run",
        "--stage1-run",
        dest="run",
        required=True,
        help="stage-1 run directory (its tokenizer); under torchrun spell it --stage1-run "
        "(torchrun takes --run for its own --run-path)",
    )
    s2.add_argument("--preset", default="cpu", help="tiny, demo, cpu or gpu (default cpu)")
    s2.add_argument("--out", required=True, help="stage-2 run directory (created, or resumed)")
    _common(s2, "loss.image_dropout=0.3")
    return p


def _common(sp: Parser, example: str) -> None:
    sp.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="stop cleanly (final checkpoint) after this many minutes",
    )
    sp.add_argument("--steps", type=int, help="override train.max_steps")
    sp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config field, e.g. --set {example}",
    )
    sp.add_argument("--device", default="auto", help="auto, cpu or cuda")
    sp.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")


def check_same_config(cls, saved: Path, cfg) -> None:
    """Refuse to resume ``saved``'s run with other settings (max_steps may change)."""
    from gina3d.config import load_yaml, to_dict
    from gina3d.errors import Gina3dError

    old = load_yaml(cls, saved)
    old.train.max_steps = cfg.train.max_steps  # a stopping rule, like --time-budget
    a, b = to_dict(old), to_dict(cfg)
    if a == b:
        return
    diff = [f"{s}.{k}" for s in a if isinstance(a[s], dict) for k in a[s] if a[s][k] != b[s].get(k)]
    diff += [s for s in a if not isinstance(a[s], dict) and a[s] != b[s]]
    raise Gina3dError(
        f"{saved.parent}: was started with other settings (differ in: "
        f"{', '.join(diff)}); repeat the original command or use a new --out"
    )


def validate_configs(cfg) -> None:
    """One-line errors for out-of-range ``--set`` values, before anything is built."""
    from gina3d.errors import Gina3dError

    for name in ("model", "train"):
        try:
            getattr(cfg, name).validate()
        except ValueError as e:
            raise Gina3dError(f"{name} config: {e}") from None
    check = getattr(cfg.loss, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as e:
            raise Gina3dError(f"loss config: {e}") from None


def _stage1(args) -> int:
    import torch

    from gina3d.config import apply_overrides, save_yaml
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
    validate_configs(cfg)
    if cfg.model.image_size != int(manifest["resolution"]):
        raise Gina3dError(
            f"model.image_size={cfg.model.image_size}: the patches of {args.data} are "
            f"{manifest['resolution']} pixels (leave model.image_size unset to follow them)"
        )
    run_dir = Path(args.out)
    check_writable(run_dir, "--out")
    saved = run_dir / "config.yaml"
    if saved.exists():
        check_same_config(Stage1Config, saved, cfg)
    info = init_distributed(args.device)
    try:
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_yaml(cfg, saved)
        dataset = PatchDataset(cfg.data, split="train", max_lidar_points=64)
        if cfg.loss.cross_view_k > 0:
            from gina3d.data.track_views import CrossViewDataset

            dataset = CrossViewDataset(
                dataset, cfg.loss.cross_view_k, cfg.loss.cross_view_max_gap_s, cfg.train.seed
            )
        task = Stage1Task(cfg, info)
        state = train(task, dataset, cfg.train, run_dir, info, args.time_budget)
        if info.is_main:
            print(
                f"{run_dir}: step {state['step']}, {state['train_seconds'] / 60:.1f} min trained"
                f" ({state['stop_reason']}), {state['nonfinite_skipped']} non-finite steps skipped"
            )
    finally:
        shutdown(info)
    return exit_code(state)


def _stage2(args) -> int:
    import torch

    from gina3d.config import apply_overrides, save_yaml
    from gina3d.errors import Gina3dError
    from gina3d.generation.token_cache import TokenDataset, ensure_token_cache, load_token_cache
    from gina3d.training.checkpoint import latest_checkpoint, load_stage1, load_state
    from gina3d.training.distributed import barrier, init_distributed, shutdown
    from gina3d.training.loop import train
    from gina3d.training.stage2 import Stage2Task, pin_stage1
    from gina3d.training.stage2_presets import Stage2Config, stage2_preset

    if args.time_budget is not None and args.time_budget <= 0:
        raise Gina3dError(f"--time-budget {args.time_budget}: must be positive minutes")
    if args.threads:
        torch.set_num_threads(args.threads)
    stage1_run = Path(args.run).resolve()
    stage1, _ = load_stage1(stage1_run)  # a one-line error unless a stage-1 run
    step1 = int(load_state(latest_checkpoint(stage1_run))["step"])
    cfg = stage2_preset(args.preset)
    if args.steps is not None:
        args.set.append(f"train.max_steps={args.steps}")
    cfg = apply_overrides(cfg, args.set)
    cfg.stage1_run, cfg.stage1_step = str(stage1_run), step1
    cfg.model.plane_tokens = stage1.cfg.plane_tokens  # the token grid is stage 1's
    if not any(item.split("=", 1)[0].strip() == "model.token_split" for item in args.set):
        # by default MaskGIT's cells are those of the stage-1 decoder; --set
        # model.token_split=N picks others (any divisor of the token grid's side)
        cfg.model.token_split = stage1.cfg.token_split
    cfg.model.codebook_size = stage1.cfg.codebook_size
    validate_configs(cfg)
    run_dir = Path(args.out)
    check_writable(run_dir, "--out")
    if run_dir.resolve() == stage1_run:
        raise Gina3dError(f"--out {run_dir}: is the stage-1 run; give stage 2 its own directory")
    saved = run_dir / "config.yaml"
    if saved.exists():
        pinned = run_dir / "stage1" / "state.json"
        if pinned.exists():
            old_step = int(load_state(pinned.parent)["step"])
            if old_step != step1:
                raise Gina3dError(
                    f"{run_dir}: trained on tokens of stage-1 step {old_step}, but {stage1_run} "
                    f"is now at step {step1}; use a new --out"
                )
        check_same_config(Stage2Config, saved, cfg)
    info = init_distributed(args.device)
    try:
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_yaml(cfg, saved)
            ensure_token_cache(stage1_run, step1, device=str(info.device))
            pin_stage1(stage1_run, run_dir, step1)
        barrier(info)
        cache = load_token_cache(stage1_run, "train")
        if cache.step != step1:
            raise Gina3dError(f"{stage1_run}: changed while starting (step {cache.step}); retry")
        task = Stage2Task(cfg, info, stage1.to(info.device))
        state = train(task, TokenDataset(cache), cfg.train, run_dir, info, args.time_budget)
        if info.is_main:
            print(
                f"{run_dir}: step {state['step']}, {state['train_seconds'] / 60:.1f} min trained"
                f" ({state['stop_reason']}), {len(cache)} token grids"
            )
    finally:
        shutdown(info)
    return exit_code(state)


def exit_code(state: dict) -> int:
    """0 for a run that finished (steps or time budget); 130 after Ctrl-C and 143 after
    SIGTERM (the final checkpoint is written either way), so a scheduler can tell."""
    if state.get("stop_reason") != "interrupted":
        return 0
    return 143 if state.get("signal") == "SIGTERM" else 130


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    body = _stage1 if args.stage == "stage1" else _stage2
    return run("gina3d train", lambda: body(args))


if __name__ == "__main__":
    sys.exit(main())
