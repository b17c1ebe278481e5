"""``gina3d <verb>``: the one entry point; each verb is also ``python -m gina3d.cli.<verb>``."""

from __future__ import annotations

import importlib
import sys

VERBS = {
    "demo": ("gina3d.cli.demo", "the main job end to end, about 10 minutes on 2 CPU cores"),
    "synth": ("gina3d.cli.synth", "build a patch dataset from the built-in synthetic world"),
    "inspect": ("gina3d.cli.inspect", "print a dataset's counts; write a contact sheet"),
    "train": ("gina3d.cli.train", "train stage 1 (tokenizer) or stage 2 (MaskGIT over its tokens)"),
    "eval": ("gina3d.cli.eval", "evaluate a trained model (recon: stage 1; gen: generated assets)"),
    "waymo": ("gina3d.cli.waymo", "convert Waymo Open Dataset v2 (assets | frames) to a dataset"),
    "encode": ("gina3d.cli.encode", "cache every patch's token grid for stage 2"),
    "sample": ("gina3d.cli.sample", "sample assets from a stage-2 run"),
    "reconstruct": ("gina3d.cli.reconstruct", "encode a patch into an asset, with variations"),
    "edit": ("gina3d.cli.edit", "swap token regions or planes between two assets"),
    "export": ("gina3d.cli.export", "textured GLB or OpenUSD files of asset folders"),
    "report": ("gina3d.cli.report", "write a run's HTML report"),
    "compose": ("gina3d.cli.compose", "insert assets into a frame: image, mask, boxes, LiDAR"),
    "view": ("gina3d.cli.view", "browser viewer: datasets, runs' assets, live renders, sampling"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        width = max(len(v) for v in VERBS)
        lines = [f"  {v:<{width}}  {help_}" for v, (_, help_) in VERBS.items()]
        print("usage: gina3d <verb> [options]\n\nverbs:\n" + "\n".join(lines))
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from gina3d import __version__

        print(f"gina3d {__version__}")
        return 0
    if argv[0] not in VERBS:
        print(
            f"gina3d: error: unknown verb '{argv[0]}' (verbs: {', '.join(VERBS)})", file=sys.stderr
        )
        return 2
    module = importlib.import_module(VERBS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
