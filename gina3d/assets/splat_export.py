"""The ``splat`` export of an asset: Gaussians fitted to its field, written as ``splats.ply``.

``write_splats`` starts ``n`` Gaussians on the asset's extracted surface, fits them to the
field's own renders (``splat_fit``, on the decoder's device) and writes the 3DGS binary PLY
(``splat_ply``). In an asset folder the file is ``splats.ply``; with another stem (``gina3d
export --out``) ``<stem>_splats.ply``. The asset.json / summary entry records the file, its
bytes, the seconds and the fit's held-out PSNR against the field.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gina3d.errors import Gina3dError

DEFAULT_SPLATS = 1024
DEFAULT_SPLAT_STEPS = 100
MAX_SPLATS = 200_000
MAX_SPLAT_STEPS = 100_000
SPLAT_FILE = "splats.ply"


def check_splat_options(n: int, steps: int) -> tuple[int, int]:
    """(n, steps) as ints, or Gina3dError: n in 1..200000, steps in 0..100000."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SPLATS:
        raise Gina3dError(f"number of splats must be in 1..{MAX_SPLATS}, got {n}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_SPLAT_STEPS:
        raise Gina3dError(f"splat steps must be in 0..{MAX_SPLAT_STEPS}, got {steps}")
    return n, steps


def splat_path(out_dir: str | os.PathLike, stem: str, default_stem: str = "asset") -> Path:
    """``splats.ply`` for the asset folder's own stem, else ``<stem>_splats.ply``."""
    name = SPLAT_FILE if stem == default_stem else f"{stem}_{SPLAT_FILE}"
    return Path(out_dir) / name


def write_splats(
    field,
    fn,
    mesh,
    path: str | os.PathLike,
    n: int = DEFAULT_SPLATS,
    steps: int = DEFAULT_SPLAT_STEPS,
    seed: int = 0,
    device: str = "cpu",
) -> dict:
    """Fit ``n`` splats for ``steps`` steps to ``field`` (an AssetField; ``fn`` its density
    function, ``mesh`` its surface) and write them to ``path``. Returns the export entry:
    files, bytes, seconds, and the fit's report (PSNR at held-out views, seconds)."""
    from gina3d.assets.splat_fit import SplatFitConfig, fit_splats
    from gina3d.assets.splat_ply import write_splat_ply

    n, steps = check_splat_options(n, steps)
    path = Path(path)
    if len(mesh.faces) == 0:
        raise Gina3dError(f"{path}: the mesh has no faces (nothing to export)")
    start = time.perf_counter()
    splats, report = fit_splats(
        field, fn, mesh, SplatFitConfig(n=n, steps=steps, seed=seed), device
    )
    write_splat_ply(splats, path)
    return {
        "files": [path.name],
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - start, 4),
        "splats": n,
        "steps": steps,
        "psnr_heldout": report["psnr"],
        "psnr_init": report["psnr_init"],
        "fit": report,
    }
