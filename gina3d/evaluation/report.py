"""A run's HTML report: one self-contained page from whatever the run directory holds.

Sections, each present only when its inputs are (a stage-1-only run gives a valid page):

* metrics with their protocol: every ``RUN/eval/*.json`` (``recon.json``, ``gen.json``, ...);
  for results with a ``real_vs_real`` block, a table of generated vs matched vs the floor;
* training curves from ``RUN/metrics.jsonl`` (losses, codebook perplexity and usage, ...),
  drawn as PNG plots by ``plots.py``;
* sample grids from ``RUN/samples/*.png``: per name, the latest and a few earlier steps;
  ``stage_sample`` grids are stage-1 reconstruction examples with their masks;
* assets (``RUN/assets/*/`` or another folder): turntables, ``asset.json``, a mesh link;
* the run's ``config.yaml``.

Images are embedded as base64 data URIs so the page can be mailed or moved alone; a file
larger than ``EMBED_LIMIT`` (and every mesh) is linked by its path relative to the page.
The page is well-formed XML (XHTML syntax), which the tests check.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
from pathlib import Path

from gina3d.errors import Gina3dError
from gina3d.evaluation.plots import Series, line_plot, png_bytes
from gina3d.training.run_log import read_metrics

EMBED_LIMIT = 2 * 2**20  # bytes per embedded file
SAMPLE_STEPS = 4  # sample grids shown per name (the latest and evenly spaced earlier ones)
MAX_ASSETS = 24
MAX_PLOTS = 16
LOSS_TERMS = {
    "rgb_l1",
    "rgb_l2",
    "mask",
    "background_opacity",
    "lidar_depth",
    "distortion",
    "codebook",
}
LOSS_TERMS |= {"perceptual", "adversarial"}
CURVE_GROUPS = [  # (title, y label, log scale, predicate on the metric name)
    ("total loss", "loss", False, lambda k: k == "loss"),
    ("discriminator", "value", False, lambda k: k.startswith("disc_") or k == "r1"),
    ("loss terms", "loss", False, lambda k: k in LOSS_TERMS or k.endswith("_loss")),
    ("codebook perplexity", "perplexity", False, lambda k: "perplexity" in k),
    ("codebook usage", "share of codes used", False, lambda k: "usage" in k),
    ("codebook restarts", "codes restarted", False, lambda k: "restart" in k),
    ("PSNR", "dB", False, lambda k: "psnr" in k),
    ("opacity", "mean opacity", False, lambda k: k.startswith("opacity")),
    ("throughput", "per second", False, lambda k: k.endswith("_per_s")),
    ("learning rate", "lr", True, lambda k: k == "lr" or k.startswith("lr_")),
]
SAMPLE_LEGENDS = {  # (run kind, sample name) -> what a grid shows
    ("stage1", "stage_sample"): "Stage-1 reconstruction examples. Each row: input patch | "
    "masks (red object, green occluder, blue background) | reconstruction | rendered opacity | "
    "novel views at 90, 180, 270 degrees azimuth.",
    ("stage2", "stage_sample"): "Stage-2 samples. Each row: condition image | the row's real "
    "token grid decoded (front) | a grid sampled under the row's conditions: front, 3/4 and "
    "side views.",
}
CSS = (
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;font-size:13px}th{background:#f3f3f3}img{max-width:100%;"
    "image-rendering:pixelated;border:1px solid #ddd;margin:4px}.grid{display:flex;"
    "flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;padding:8px;width:280px}"
    "pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}.note{color:#777}"
)


def escape(text) -> str:
    """``text`` as HTML text or attribute value."""
    return html.escape(str(text), quote=True)


_e = escape


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, list | tuple):
        if len(value) > 8 and any(isinstance(v, dict | list) for v in value):
            return f"{len(value)} entries (see the JSON file)"  # per-asset records
        return _e(json.dumps(value))
    return _e(value)


def embed_image(path: Path, out_dir: Path, alt: str, width: int | None = None) -> str:
    """An <img/> (PNG, or GIF by suffix) with the file embedded, or linked by its path
    relative to the page's folder ``out_dir`` when larger than ``EMBED_LIMIT``."""
    if path.stat().st_size > EMBED_LIMIT:
        src = os.path.relpath(path, out_dir)
    else:
        mime = "image/gif" if path.suffix.lower() == ".gif" else "image/png"
        src = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    size = f' width="{width}"' if width else ""
    return f'<img src="{_e(src)}" alt="{_e(alt)}" title="{_e(alt)}"{size}/>'


def _flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".") if value else [(name, "{}")]
        else:
            rows.append((name, value))
    return rows


def _table(rows, header=("name", "value")) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _metrics_section(run_dir: Path) -> str:
    files = sorted((run_dir / "eval").glob("*.json"))
    if not files:
        return ""
    parts = ["<h2>Metrics</h2>"]
    for path in files:
        parts.append(f"<h3>{_e(path.stem)} <span class='note'>({_e(path.name)})</span></h3>")
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            parts.append(f"<p class='note'>unreadable: {_e(e)}</p>")
            continue
        if not isinstance(result, dict):
            parts.append("<p class='note'>not a JSON object</p>")
            continue
        protocol = result.get("protocol")
        values = {k: v for k, v in result.items() if k not in ("protocol", "real_vs_real")}
        values = {k: v for k, v in values.items() if k != "matched"}
        parts.append(_table(_flatten(values)))
        floor = result.get("real_vs_real")
        if isinstance(floor, dict):
            parts.append(_floor_table(result, floor))
        if isinstance(protocol, dict):
            parts.append("<details><summary>protocol</summary>")
            parts.append(_table(_flatten(protocol), ("field", "value")) + "</details>")
    return "\n".join(parts)


def _floor_table(result: dict, floor: dict) -> str:
    matched = result.get("matched") if isinstance(result.get("matched"), dict) else {}
    keys = [k for k in ("fid", "kid", "cov", "mmd", "one_nna") if k in floor or k in result]
    rows = [(k, result.get(k), matched.get(k), floor.get(k)) for k in keys]
    header = ("metric", "generated vs real", "matched sizes", "real vs real (floor)")
    return "<p>Generated against the real-vs-real floor:</p>" + _table(rows, header)


def _curves_section(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = sorted({k for r in rows for k in r if k not in ("step", "time")})
    groups: list[tuple[str, str, bool, list[str]]] = []
    taken: set[str] = set()
    for title, ylabel, log_y, pred in CURVE_GROUPS:
        members = [k for k in keys if k not in taken and pred(k)]
        taken.update(members)
        if members:
            groups.append((title, ylabel, log_y, members))
    groups += [(k, k, False, [k]) for k in keys if k not in taken]
    parts = ["<h2>Training curves</h2>", "<div class='grid'>"]
    for title, ylabel, log_y, members in groups[:MAX_PLOTS]:
        series = []
        for k in members:
            pts = [(r["step"], r[k]) for r in rows if k in r and "step" in r]
            series.append(Series(k, [p[0] for p in pts], [float(p[1]) for p in pts]))
        png = png_bytes(line_plot(series, title=title, ylabel=ylabel, log_y=log_y))
        src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append(f'<img src="{src}" alt="{_e(title)}" title="{_e(", ".join(members))}"/>')
    parts.append("</div>")
    if len(groups) > MAX_PLOTS:
        parts.append(f"<p class='note'>{len(groups) - MAX_PLOTS} more curves not drawn</p>")
    return "\n".join(parts)


def run_kind(run_dir: Path) -> str:
    """``stage2`` for a stage-2 run (it pins its stage-1 checkpoint in ``RUN/stage1``, its
    config names ``stage1_run``), else ``stage1``."""
    config = run_dir / "config.yaml"
    text = config.read_text() if config.exists() else ""
    is_stage2 = (run_dir / "stage1").is_dir() or "\nstage1_run:" in "\n" + text
    return "stage2" if is_stage2 else "stage1"


def _samples_section(run_dir: Path, out_dir: Path) -> str:
    by_name: dict[str, list[tuple[int, Path]]] = {}
    for path in sorted((run_dir / "samples").glob("*.png")):
        name, _, step = path.stem.rpartition("-")
        key = name if step.isdigit() and name else path.stem
        by_name.setdefault(key, []).append((int(step) if step.isdigit() else -1, path))
    if not by_name:
        return ""
    parts = ["<h2>Samples and reconstruction examples</h2>"]
    for name, items in sorted(by_name.items()):
        items.sort()
        count = min(SAMPLE_STEPS, len(items))
        spread = {round(i * (len(items) - 1) / max(1, count - 1)) for i in range(count)}
        pick = sorted(spread, reverse=True)  # latest first
        parts.append(f"<h3>{_e(name)}</h3>")
        legend = SAMPLE_LEGENDS.get((run_kind(run_dir), name))
        if legend:
            parts.append(f"<p>{_e(legend)}</p>")
        for i in pick:
            step, path = items[i]
            label = f"{name} at step {step}" if step >= 0 else name
            parts.append(f"<p class='note'>{_e(label)}</p>" + embed_image(path, out_dir, label))
    return "\n".join(parts)


def asset_dirs(run_dir: Path, assets: str | os.PathLike | None = None) -> list[Path]:
    """Asset folders: ``assets`` itself when it holds asset.json, else its sub-folders and
    their sub-folders that do (``RUN/assets/viewer/sample_NNN``); without ``assets``, those
    of ``RUN/assets``."""
    root = Path(assets) if assets is not None else run_dir / "assets"
    if assets is not None and not root.is_dir():
        raise Gina3dError(f"{root}: no such assets directory")
    if (root / "asset.json").exists():
        return [root]
    found = [*root.glob("*/asset.json"), *root.glob("*/*/asset.json")]
    return sorted(p.parent for p in found)


def _asset_card(folder: Path, out_dir: Path, images: bool = True) -> str:
    parts = [f"<div class='card'><b>{_e(folder.name)}</b><br/>"]
    if images:
        parts.append(_turntable(folder, out_dir))
    meta = folder / "asset.json"
    if meta.exists():
        try:
            info = json.loads(meta.read_text())
            rows = [(k, v) for k, v in _flatten(info) if not isinstance(v, list) or len(v) <= 4]
            parts.append(
                "<details><summary>asset.json</summary>" + _table(rows[:30]) + "</details>"
            )
        except (OSError, json.JSONDecodeError, AttributeError) as e:
            parts.append(f"<p class='note'>asset.json unreadable: {_e(e)}</p>")
    for mesh in sorted(folder.glob("mesh.*")):
        href = os.path.relpath(mesh, out_dir)
        parts.append(f'<br/><a href="{_e(href)}">{_e(mesh.name)}</a>')
    return "".join(parts) + "</div>"


def _turntable(folder: Path, out_dir: Path) -> str:
    """The asset's turntable: the GIF when small enough to embed, else the PNG strip."""
    gif, png = folder / "turntable.gif", folder / "turntable.png"
    if gif.exists() and gif.stat().st_size <= EMBED_LIMIT:
        return embed_image(gif, out_dir, f"{folder.name} turntable")
    if png.exists():
        return embed_image(png, out_dir, f"{folder.name} turntable")
    if gif.exists():
        return embed_image(gif, out_dir, f"{folder.name} turntable")
    return ""


def _assets_section(folders: list[Path], out_dir: Path, images: bool = True) -> str:
    if not folders:
        return ""
    cards = [_asset_card(f, out_dir, images) for f in folders[:MAX_ASSETS]]
    more = len(folders) - MAX_ASSETS
    note = f"<p class='note'>{more} more assets not shown</p>" if more > 0 else ""
    return "<h2>Assets</h2><div class='grid'>" + "".join(cards) + "</div>" + note


def build_report(
    run_dir: Path,
    out_path: Path,
    assets: str | os.PathLike | None = None,
    asset_images: bool = True,
) -> str:
    """The report page of ``run_dir`` as a string; links are relative to ``out_path``.

    ``asset_images=False`` leaves the turntables out of the asset cards (for a page that
    shows them elsewhere, like ``gina3d demo``'s)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise Gina3dError(f"{run_dir}: no such run directory")
    out_dir = Path(out_path).resolve().parent
    rows = read_metrics(run_dir)
    last = max((r["step"] for r in rows if "step" in r), default=None)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _metrics_section(run_dir),
        _curves_section(rows),
        _samples_section(run_dir, out_dir),
        _assets_section(asset_dirs(run_dir, assets), out_dir, asset_images),
    ]
    body = [s for s in sections if s]
    if not body:
        body = ["<p class='note'>This run has no metrics, evaluations, samples or assets yet.</p>"]
    config = run_dir / "config.yaml"
    if config.exists():
        body.append("<h2>Config</h2><details><summary>config.yaml</summary><pre>"
                    f"{_e(config.read_text())}</pre></details>")  # fmt: skip
    head = (
        '<head><meta charset="utf-8"/><meta name="viewport" content="width=device-width"/>'
        f"<title>gina3d report: {_e(run_dir.name)}</title><style>{CSS}</style></head>"
    )
    intro = (
        f"<h1>gina3d report: {_e(run_dir.name)}</h1><p class='note'>{run_kind(run_dir)} run "
        f"{_e(run_dir.resolve())}"
        f"; last logged step {_fmt(last)}; written {_e(now)}</p>"
    )
    page = "\n".join([intro, *body])
    return f'<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">{head}<body>{page}</body></html>\n'


def write_report(
    run_dir: str | os.PathLike,
    out: str | os.PathLike | None = None,
    assets: str | os.PathLike | None = None,
) -> Path:
    """Write the report (default ``RUN/report.html``) atomically; returns its path."""
    from gina3d.atomic import atomic_write_bytes

    out_path = Path(out) if out is not None else Path(run_dir) / "report.html"
    page = build_report(Path(run_dir), out_path, assets)
    if not out_path.parent.is_dir():
        raise Gina3dError(f"{out_path.parent}: no such directory for the report")
    atomic_write_bytes(out_path, page.encode("utf-8"))
    return out_path
