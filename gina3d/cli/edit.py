"""``gina3d edit --a ASSET --b ASSET --planes xy,xz | --region front_half --out DIR``.

Makes a new asset from asset A's token grid with some tokens taken from asset B: whole
planes (``--planes``, names among xy, xz, yz), a half of the box (``--region``:
front_half, rear_half, left_half, right_half, top_half, bottom_half; the two planes that
contain the region's axis are edited, see docs/assets.md) or an explicit mask
(``--mask FILE``: a .npy bool array [T] or [3,h,h], True = from B). Both assets must come
from the same stage-1 decoder. The new asset keeps A's class, size and conditions and
records both sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gina3d.cli.common import Parser, check_writable, run


def build_parser() -> Parser:
    from gina3d.assets.options import add_asset_options

    p = Parser(prog="gina3d edit", description=__doc__)
    p.add_argument("--a", required=True, help="asset folder A (the base)")
    p.add_argument("--b", required=True, help="asset folder B (tokens taken from it)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--planes", help="planes taken from B, e.g. xy,xz")
    what.add_argument("--region", help="half-box taken from B, e.g. front_half")
    what.add_argument("--mask", help=".npy bool mask [T] or [3,h,h] (True = from B)")
    p.add_argument("--out", required=True, help="output asset folder")
    p.add_argument("--size", help="box L,W,H in metres (default: A's)")
    add_asset_options(p)
    return p


def _mask(path: str):
    import numpy as np

    from gina3d.errors import Gina3dError

    try:
        return np.load(path, allow_pickle=False).astype(bool)
    except (OSError, ValueError) as e:
        raise Gina3dError(f"{path}: cannot read mask ({str(e).splitlines()[0]})") from None


def _edit(args) -> int:
    from gina3d.assets import editing
    from gina3d.assets.asset_io import AssetContents, load_asset, save_asset
    from gina3d.assets.decoder_ref import load_decoder, same_decoder
    from gina3d.assets.options import asset_options, check_asset_options, parse_size
    from gina3d.errors import Gina3dError

    check_asset_options(args)
    size = parse_size(args.size)
    check_writable(args.out, "--out")
    a, b = load_asset(args.a), load_asset(args.b)
    ha, hb = (x.decoder.get("model_config_sha256") for x in (a, b))
    for path, digest in ((args.a, ha), (args.b, hb)):
        if not digest:
            raise Gina3dError(
                f"{path}: asset.json names no decoder config hash (decoder.model_config_sha256), "
                "so it cannot be matched with the other asset's decoder"
            )
    if ha != hb:
        raise Gina3dError(f"{args.a} and {args.b} come from different stage-1 decoders")
    if not same_decoder(a.decoder, b.decoder):
        raise Gina3dError(
            f"{args.a} and {args.b} were decoded by different stage-1 weights (another run "
            "or step of the same preset): their tokens do not mean the same"
        )
    if args.planes:
        tokens, what = editing.swap_planes(a.tokens, b.tokens, args.planes), {"planes": args.planes}
    elif args.region:
        tokens, what = editing.swap_region(a.tokens, b.tokens, args.region), {"region": args.region}
    else:
        tokens = editing.swap_mask(a.tokens, b.tokens, _mask(args.mask))
        what = {"mask": str(Path(args.mask).resolve())}
    model, ckpt = load_decoder(a, args.device)
    changed = int((tokens != a.tokens).sum())
    extra = {"edit": {"a": str(a.path.resolve()), "b": str(b.path.resolve()), **what}}
    extra["edit"]["tokens_from_b"] = changed
    contents = AssetContents(
        tokens=tokens,
        size_m=size if size is not None else a.size_m,
        class_name=a.class_name,
        seed=a.seed,
        conditions=a.conditions,
        extra=extra,
    )
    out = save_asset(args.out, model, ckpt, contents, asset_options(args))
    print(f"edited asset -> {out} ({changed} of {tokens.numel()} tokens differ from A)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("gina3d edit", lambda: _edit(args))


if __name__ == "__main__":
    sys.exit(main())
