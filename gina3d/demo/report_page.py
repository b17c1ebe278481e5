"""``DIR/report.html`` of ``gina3d demo``: ``gina3d report``'s page of the stage-2 run (metrics,
curves, samples, assets) with the demo's overview (phases, headline metrics, every sample set
with turntables and mesh previews, reconstructions, the dataset) inserted after its title."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from gina3d.demo.console import fmt_s
from gina3d.evaluation.report import embed_image
from gina3d.evaluation.report import escape as _e


class Demo(Protocol):
    """What the page reads of a demo run (``gina3d.demo.pipeline.Demo`` has it)."""

    s: object  # DemoSettings
    out: Path
    logs: Path
    run1: Path
    run2: Path
    assets: Path
    PHASES: tuple
    LABELS: dict
    timings: dict


def _num(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return _e(v)


HEADLINE = [  # (file, key path, label, how to read it)
    ("recon", "psnr_visible", "PSNR of the visible object (dB)", "higher is better"),
    ("recon", "ssim_visible", "SSIM of the visible object", "higher is better, at most 1"),
    ("recon", "amodal_iou_input", "amodal silhouette IoU, occluded inputs", "higher is better"),
    ("recon", "amodal_iou_novel", "silhouette IoU at novel views", "higher is better"),
    ("recon", "lidar_depth_abs_rel", "LiDAR depth error (abs rel)", "lower is better"),
    ("recon", "codebook_usage", "share of codes in use", "higher is better"),
    ("gen", "fid", "FID, generated vs held-out patches", "lower is better"),
    ("gen", "matched.fid", "FID, generated subsampled (matched)", "compare with the floor"),
    ("gen", "real_vs_real.fid", "FID, real vs real (the floor)", "best reachable at this size"),
    ("gen", "kid", "KID", "lower is better, 0 = no detectable gap"),
    ("gen", "cov", "COV of reference shapes", "higher is better, at most 1"),
    ("gen", "mmd", "MMD (Chamfer)", "lower is better"),
    ("gen", "one_nna", "1-NNA", "0.5 is ideal"),
    ("gen", "geometry_consistency.depth_abs_rel", "cross-view depth consistency", "lower"),
]


def _get(obj, path: str):
    for k in path.split("."):
        obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def _overview(demo: Demo, previews: dict[str, Path], page_dir: Path) -> str:
    def rel(p: Path) -> str:
        return _e(os.path.relpath(p, page_dir))

    def img(path: Path, alt: str, width: int) -> str:
        return embed_image(path, page_dir, alt, width)

    s = demo.s
    parts = [
        "<p>What <code>gina3d demo</code> built: a synthetic dataset, the stage-1 tokenizer "
        f"(preset <code>{_e(s.stage1_preset)}</code>), the stage-2 MaskGIT (preset "
        f"<code>{_e(s.stage2_preset)}</code>), sampled assets with meshes, and their "
        "evaluation. "
        + ("<b>--fast: tiny settings, the numbers mean nothing.</b> " if s.fast else "")
        + "Stage-1 report (training curves, reconstruction examples): "
        f'<a href="{rel(demo.run1 / "report.html")}">{rel(demo.run1 / "report.html")}</a>; '
        f'timings <a href="{rel(demo.out / "demo.json")}">demo.json</a>; logs in '
        f"<code>{rel(demo.logs)}/</code>.</p>"
    ]
    rows = []
    for phase in demo.PHASES:
        t = demo.timings.get(phase)
        if t is not None:
            secs = "-" if phase == "report" else fmt_s(t["seconds"])
            rows.append(
                f"<tr><td>{_e(demo.LABELS[phase])}</td><td>{_e(secs)}</td>"
                f"<td>{_e(t['summary'])}</td></tr>"
            )
    phases = "<table><tr><th>phase</th><th>time</th><th>result</th></tr>" + "".join(rows)
    results = {}
    for name, path in (("recon", demo.run1 / "eval" / "recon.json"),
                       ("gen", demo.run2 / "eval" / "gen.json")):  # fmt: skip
        try:
            results[name] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            results[name] = {}
    rows = [
        f"<tr><td>{_e(src)}</td><td>{_e(label)}</td><td>{_num(_get(results[src], key))}</td>"
        f"<td class='note'>{_e(how)}</td></tr>"
        for src, key, label, how in HEADLINE
        if _get(results[src], key) is not None
    ]
    metrics = (
        "<table><tr><th>from</th><th>metric</th><th>value</th><th>reading</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    gen_p = results["gen"].get("protocol", {})
    recon_p = results["recon"].get("protocol", {})
    skipped = ", ".join(recon_p.get("skipped") or {})
    note = (
        f"<p class='note'>recon: {_e(results['recon'].get('num_patches', '?'))} test patches "
        f"({rel(demo.run1 / 'eval' / 'recon.json')}; protocol in the stage-1 report"
        f"{'; skipped: ' + _e(skipped) if skipped else ''}). gen: "
        f"{_e(_get(gen_p, 'images.num_generated'))} generated vs "
        f"{_e(_get(gen_p, 'images.num_real'))} real test images, features "
        f"{_e(results['gen'].get('network', '?'))}; full tables with protocol under Metrics "
        "below. Sets this small: read FID against the real-vs-real floor.</p>"
    )
    parts.append(
        "<div style='display:flex;gap:16px;align-items:flex-start'>"
        "<div style='flex:1 1 0;min-width:0'><h3>Phases</h3>" + phases + "</table></div>"
        "<div style='flex:1 1 0;min-width:0'><h3>Headline metrics</h3>" + metrics + "</div>"
        "</div>" + note
    )
    # sample sets: turntables and mesh previews
    parts.append(
        "<h3>Sampled assets</h3><p>Per set: the conditions given to stage 2. Per asset: the "
        "turntable (the neural field, volume rendered) and a render of the exported mesh "
        "(marching cubes, vertex colours) linked to the mesh file. Folders: "
        f"<code>{rel(demo.assets)}/</code>.</p>"
    )
    for sset in s.sample_sets:
        record = demo.assets / f"{sset.name}.json"
        info = json.loads(record.read_text()) if record.exists() else {}
        ham = _get(info, "token_hamming.mean")
        err = info.get("mesh_size_error_max_mean")
        cells = []
        for k in range(sset.n):
            folder = demo.assets / f"{sset.name}-{k:02d}"
            cell = [f"<div class='card' style='width:auto'><b>{_e(folder.name)}</b><br/>"]
            for tt in (folder / "turntable.gif", folder / "turntable.png"):
                if tt.exists():
                    cell.append(img(tt, f"{folder.name} turntable", 128))
                    break
            if folder.name in previews:
                cell.append(img(previews[folder.name], f"{folder.name} mesh", 128))
            for mesh in sorted(folder.glob("mesh.*")):
                cell.append(f'<br/><a href="{rel(mesh)}">{_e(mesh.name)}</a> (mesh, right)')
            cells.append("".join(cell) + "</div>")
        parts.append(
            f"<p><b>{_e(sset.name)}</b>: {_e(sset.what)}: "
            f"<code>gina3d sample {_e(' '.join(sset.options))}</code>"
            f"<span class='note'> (mean pairwise token Hamming {_num(ham)}, mesh size error "
            f"{_num(err)})</span></p><div class='grid'>" + "".join(cells) + "</div>"
        )
    # reconstructions and data
    grids = sorted((demo.run1 / "samples").glob("stage_sample-*.png"))
    if grids:
        parts.append(
            "<h3>Stage-1 reconstructions</h3><p>Each row: input patch | masks | "
            "reconstruction | rendered opacity | novel views at 90, 180, 270 degrees "
            f"({_e(grids[-1].stem)}).</p>" + img(grids[-1], "stage-1 reconstructions", 672)
        )
    sheet = demo.out / "contact_sheet.png"
    if sheet.exists():
        parts.append(
            "<h3>Dataset</h3><p>Patches of the synthetic dataset: patch, masks (object green, "
            f"occluder red), LiDAR depth ({rel(sheet)}).</p>" + img(sheet, "contact sheet", 640)
        )
    parts.append(
        "<hr/><p class='note'>Below: <code>gina3d report</code>'s page of the stage-2 run "
        "(its metrics with protocol, curves, sample grids, every asset's asset.json and "
        "mesh links).</p>"
    )
    return "\n".join(parts)


def write_demo_report(demo: Demo, previews: dict[str, Path]) -> Path:
    """DIR/report.html: the stage-2 run's report with the demo's overview after its title."""
    from gina3d.atomic import atomic_write_bytes
    from gina3d.evaluation.report import build_report

    out = demo.out / "report.html"
    page = build_report(demo.run2, out, demo.assets, asset_images=False)  # shown above
    overview = _overview(demo, previews, out.resolve().parent)
    h1 = page.index("<h1>")
    cut = page.index("</p>", h1) + len("</p>")  # after the title and its note
    intro = page[h1:cut].replace("gina3d report: ", "gina3d demo report: ", 1)
    page = page[:h1] + intro + "\n" + overview + page[cut:]
    page = page.replace("<title>gina3d report:", "<title>gina3d demo report:", 1)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
