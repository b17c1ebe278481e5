"""Open the demo's report.html in headless chromium, save a screenshot, print one JSON object.

    .venv/bin/python benchmarks/demo_report_screenshot.py [--demo-out demo_out] [--png shot.png]
    .venv/bin/python benchmarks/demo_report_screenshot.py --make-fast /tmp/demo_fast  # runs it

Reports the screenshot's non-background fraction (pixels that differ from the page's white),
the same for the part of the page below the overview tables, and which of the things a
person wants to see the page holds (sample images, turntables, mesh previews and links,
metrics). ``{"skipped": reason}`` when chromium is not installed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(browser: str, page: Path, png: Path, width: int, height: int) -> float:
    """Render ``page`` with headless chromium into ``png``; returns the seconds it took."""
    import time

    profile = tempfile.mkdtemp(prefix="gina3d-chromium-")
    cmd = [
        browser,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        page.resolve().as_uri(),
    ]
    t0 = time.time()
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return time.time() - t0


def content_checks(html: str) -> dict:
    """What the page shows, from its markup."""
    imgs = re.findall(r"<img [^>]*>", html)
    alt = [re.search(r'alt="([^"]*)"', t).group(1) if 'alt="' in t else "" for t in imgs]
    return {
        "images": len(imgs),
        "turntables": sum("turntable" in a for a in alt),
        "mesh_previews": sum(a.endswith(" mesh") for a in alt),
        "mesh_links": len(re.findall(r'href="[^"]*mesh\.(?:glb|ply|obj)"', html)),
        "sample_grids": sum("stage_sample" in a for a in alt),
        "reconstruction_examples": "stage-1 reconstructions" in alt,
        "metrics": all(k in html for k in ("fid", "psnr_visible", "Headline metrics")),
    }


def non_background(png: Path, top: int = 0) -> float:
    """Share of pixels (rows from ``top`` on) farther than 8 levels from white."""
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)[top:]
    if img.size == 0:
        return 0.0
    return round(float((np.abs(img - 255).max(axis=2) > 8).mean()), 4)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--demo-out", default="demo_out", help="the demo's --out (default demo_out)")
    p.add_argument("--make-fast", metavar="DIR", help="first run `gina3d demo --fast --out DIR`")
    p.add_argument("--png", help="screenshot file (default DEMO_OUT/report_screenshot.png)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=2000)
    args = p.parse_args(argv)

    browser = find_chromium()
    if browser is None:
        print(json.dumps({"skipped": "chromium is not installed (apt-get install chromium)"}))
        return 0
    out = Path(args.make_fast or args.demo_out)
    if args.make_fast:
        from gina3d.cli.demo import main as demo_main

        if demo_main(["--out", str(out), "--fast", "--threads", "1"]) != 0:
            print(json.dumps({"error": f"gina3d demo --fast --out {out} failed"}))
            return 1
    page = out / "report.html"
    if not page.exists():
        print(json.dumps({"error": f"{page}: no report; run `make demo` (or --make-fast DIR)"}))
        return 2
    png = Path(args.png) if args.png else out / "report_screenshot.png"
    seconds = screenshot(browser, page, png, args.width, args.height)
    from PIL import Image

    size = Image.open(png).size
    result = {
        "report": str(page),
        "screenshot": str(png),
        "size": list(size),
        "chromium_seconds": round(seconds, 2),
        "non_background_fraction": non_background(png),
        "non_background_fraction_below_900px": non_background(png, top=900),
        "page": content_checks(page.read_text(encoding="utf-8")),
        "browser": browser,
    }
    checks = result["page"]
    result["shows_everything"] = bool(
        checks["turntables"]
        and checks["mesh_previews"]
        and checks["mesh_links"]
        and checks["sample_grids"]
        and checks["metrics"]
        and result["non_background_fraction"] > 0.05
    )
    print(json.dumps(result))
    return 0 if result["shows_everything"] else 1


if __name__ == "__main__":
    sys.exit(main())
