"""``gina3d inspect DATASET``: counts of a patch dataset, as text or JSON, and a contact sheet."""

from __future__ import annotations

import json
import sys

from gina3d.cli.common import Parser, run


def build_parser() -> Parser:
    p = Parser(prog="gina3d inspect", description=__doc__)
    p.add_argument("dataset", help="dataset directory (holds manifest.json)")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.add_argument("--sheet", metavar="PATH", help="write a contact-sheet PNG of patches here")
    p.add_argument("--count", type=int, default=24, help="patches on the contact sheet")
    p.add_argument("--seed", type=int, default=0, help="seed for picking contact-sheet patches")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        from gina3d.data.stats import dataset_stats, format_stats

        stats = dataset_stats(args.dataset)
        if args.sheet:
            from gina3d.data.contact_sheet import write_contact_sheet

            shown = write_contact_sheet(args.dataset, args.sheet, args.count, args.seed)
            stats["sheet"] = {"path": args.sheet, "patches": shown}
        if args.json:
            print(json.dumps(stats))
        else:
            print(format_stats(stats))
            if args.sheet:
                print(f"contact sheet: {args.sheet} ({stats['sheet']['patches']} patches)")
        return 0

    return run("gina3d inspect", body)


if __name__ == "__main__":
    sys.exit(main())
