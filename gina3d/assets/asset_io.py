"""The asset folder: save a token grid as a neural asset, mesh and turntable; load it back.

Layout (docs/assets.md describes every key)::

    DIR/triplane.safetensors   "triplane" [3,F,R,R] float32 and "tokens" [T] int64
    DIR/mesh.glb               (or mesh.ply / mesh.obj) object frame, metres, vertex colours
    DIR/turntable.png          V views side by side;  DIR/turntable.gif  the same, animated
    DIR/asset.json             decoder reference, class, size, seed, conditions, tokens, ...
    DIR/asset.usda, ...        textured exports when asked (asset_mesh.py, asset_export.py)

Every file is written atomically, and ``asset.json`` last (an existing one is removed
first): a folder with an ``asset.json`` is complete. ``save_asset`` takes the asset as an
``AssetContents`` and the file options as ``AssetOptions`` (``asset_spec.py``), checks
them all, then writes the files one step each.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gina3d.assets.asset_mesh import check_texture_options, write_mesh_files
from gina3d.assets.asset_spec import AssetContents, AssetOptions
from gina3d.atomic import atomic_write_bytes, atomic_write_json
from gina3d.errors import Gina3dError

FORMAT = "gina3d-asset"
VERSION = 1
TRIPLANE_FILE = "triplane.safetensors"
ASSET_FILE = "asset.json"
__all__ = ["Asset", "AssetContents", "AssetOptions", "load_asset", "save_asset"]


@dataclass
class Asset:
    """A loaded asset folder."""

    path: Path
    tokens: Tensor  # [T] int64
    triplane: Tensor  # [3,F,R,R] float32
    class_name: str | None
    size_m: np.ndarray  # (3,) metres: length (x), width (y), height (z)
    seed: int | None
    conditions: dict
    decoder: dict
    mesh_path: Path | None
    meta: dict = field(default_factory=dict)


def check_tokens(tokens, cfg) -> Tensor:
    """Token grid as int64 [T] on the CPU, checked against a stage-1 ModelConfig."""
    t = torch.as_tensor(tokens).detach().cpu()
    if t.dim() != 1 or t.shape[0] != cfg.num_tokens:
        raise Gina3dError(
            f"token grid must be [{cfg.num_tokens}] (3 x {cfg.plane_tokens} x "
            f"{cfg.plane_tokens}), got {list(t.shape)}"
        )
    if t.is_floating_point() or t.dtype == torch.bool:
        raise Gina3dError(f"token grid must hold integers, got {t.dtype}")
    t = t.long()
    if int(t.min()) < 0 or int(t.max()) >= cfg.codebook_size:
        raise Gina3dError(
            f"token values must be in [0, {cfg.codebook_size}), got {int(t.min())}..{int(t.max())}"
        )
    return t


def _finite_dict(conditions: dict | None, name: str) -> dict:
    conditions = dict(conditions or {})
    try:
        json.dumps(conditions, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise Gina3dError(f"{name} must be plain JSON values ({e})") from None
    return conditions


@torch.no_grad()
def save_asset(
    out_dir: str | os.PathLike,
    stage1_model,
    stage1_run: str | os.PathLike,
    contents: AssetContents,
    options: AssetOptions | None = None,
) -> Path:
    """Decode ``contents.tokens`` [T] with ``stage1_model`` (of the stage-1 run or checkpoint
    folder ``stage1_run``) and write the asset folder ``out_dir``: tri-plane, mesh,
    turntable, then ``asset.json``. ``options`` (default ``AssetOptions()``) place the mesh
    surface (``gina3d/assets/surface.py``), texture it, add exports (``asset_mesh.py``) and
    size the turntable. Every input is checked
    before anything is written. Returns the folder's path.
    """
    from gina3d.assets.decoder_ref import decoder_reference

    start = time.perf_counter()
    options = options or AssetOptions()
    contents, fmt = _checked(stage1_model.cfg, contents, options)
    decoder = decoder_reference(stage1_run, stage1_model)
    out = _prepare_dir(out_dir, fmt)
    device = next(stage1_model.parameters()).device
    triplane = stage1_model.decode_indices(contents.tokens[None].to(device))[0].float()
    t_decode = time.perf_counter()  # triplane [3,F,R,R]
    _write_triplane(out, triplane, contents.tokens)
    mesh, exports = write_mesh_files(out, stage1_model, triplane, contents, options, fmt)
    t_mesh = time.perf_counter()
    turntable = _write_turntable(out, stage1_model, triplane, contents.size_m, options)
    t_turn = time.perf_counter()
    meta = _asset_meta(stage1_model.cfg, decoder, contents, triplane, mesh, turntable)
    meta["exports"] = exports
    meta["timing_s"] = {
        "decode": round(t_decode - start, 4),
        "mesh": round(t_mesh - t_decode, 4),
        "turntable": round(t_turn - t_mesh, 4),
        "total": round(time.perf_counter() - start, 4),
    }
    meta["extra"] = contents.extra
    atomic_write_json(out / ASSET_FILE, meta)
    return out


def _checked(cfg, contents: AssetContents, options: AssetOptions) -> tuple[AssetContents, str]:
    """The contents checked and normalised (tokens int64 [T] on the CPU, size (3,) float64
    metres, conditions and extra plain dicts) and the mesh format; Gina3dError otherwise."""
    from gina3d.assets.mesh import check_size
    from gina3d.assets.mesh_export import check_format
    from gina3d.data.dataset import check_class

    tokens = check_tokens(contents.tokens, cfg)
    class_name = check_class(contents.class_name)
    size = check_size(contents.size_m)
    fmt = check_format(options.mesh_format)
    check_texture_options(options, fmt)
    conditions = _finite_dict(contents.conditions, "conditions")
    extra = _finite_dict(contents.extra, "extra")
    seed = contents.seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise Gina3dError(f"seed must be an integer or None, got {seed!r}")
    views, image_size, resolution = options.views, options.image_size, options.mesh_resolution
    if views < 1 or image_size < 1 or resolution < 2:
        raise Gina3dError(
            f"need views >= 1, image_size >= 1 and mesh_resolution >= 2 "
            f"(got {views}, {image_size}, {resolution})"
        )
    return AssetContents(tokens, size, class_name, seed, conditions, extra), fmt


def _prepare_dir(out_dir: str | os.PathLike, fmt: str) -> Path:
    """The folder, made; its asset.json (complete-marker), other-format meshes and exports
    removed."""
    from gina3d.assets.asset_export import EXPORT_FILES
    from gina3d.assets.mesh_export import MESH_FORMATS

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise Gina3dError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    (out / ASSET_FILE).unlink(missing_ok=True)  # incomplete until rewritten last
    for other in MESH_FORMATS:
        if other != fmt:
            (out / f"mesh.{other}").unlink(missing_ok=True)
    for name in EXPORT_FILES:  # exports of an earlier write
        (out / name).unlink(missing_ok=True)
    return out


def _write_triplane(out: Path, triplane: Tensor, tokens: Tensor) -> None:
    """triplane.safetensors: the tri-plane [3,F,R,R] and the token grid [T]."""
    from safetensors.torch import save as safetensors_bytes

    tensors = {"triplane": triplane.cpu().contiguous(), "tokens": tokens.contiguous()}
    atomic_write_bytes(out / TRIPLANE_FILE, safetensors_bytes(tensors, metadata={"format": FORMAT}))


def _write_turntable(out: Path, model, triplane: Tensor, size, options: AssetOptions) -> dict:
    """turntable.png and turntable.gif; returns asset.json's ``turntable`` entry."""
    from gina3d.assets.turntable import ELEVATION_DEG, FOV_DEG, render_turntable, save_turntable

    views, image_size = options.views, options.image_size
    frames = render_turntable(model, triplane, size, views, image_size)  # [V,H,W,3]
    save_turntable(frames, out / "turntable.png", out / "turntable.gif")
    return {
        "png": "turntable.png",
        "gif": "turntable.gif",
        "views": views,
        "image_size": image_size,
        "elevation_deg": ELEVATION_DEG,
        "fov_deg": FOV_DEG,
    }


def _asset_meta(
    cfg, decoder: dict, c: AssetContents, triplane: Tensor, mesh: dict, turntable: dict
) -> dict:
    """asset.json up to ``turntable`` (``save_asset`` adds ``timing_s`` and ``extra``)."""
    h = cfg.plane_tokens
    return {
        "format": FORMAT,
        "version": VERSION,
        "decoder": decoder,
        "class": c.class_name,
        "size_m": [float(s) for s in c.size_m],
        "seed": None if c.seed is None else int(c.seed),
        "conditions": c.conditions,
        "token_grid": {"shape": [3, h, h], "codebook_size": cfg.codebook_size},
        "tokens": c.tokens.tolist(),
        "triplane": {"file": TRIPLANE_FILE, "shape": list(triplane.shape)},
        "mesh": mesh,
        "turntable": turntable,
    }


def load_asset(path: str | os.PathLike) -> Asset:
    """Read an asset folder written by ``save_asset`` (Gina3dError if absent or corrupt)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_dir():
        raise Gina3dError(f"{path}: no such asset directory")
    meta_path = path / ASSET_FILE
    if not meta_path.exists():
        raise Gina3dError(f"{path}: not an asset folder (no {ASSET_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise Gina3dError(f"{meta_path}: unreadable ({str(e).splitlines()[0]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise Gina3dError(f"{meta_path}: not a {FORMAT} file")
    for key in ("decoder", "size_m", "tokens", "class", "seed", "conditions"):
        if key not in meta:
            raise Gina3dError(f"{meta_path}: missing key '{key}'")
    try:
        tensors = load_file(str(path / TRIPLANE_FILE))
    except Exception as e:  # safetensors raises its own error types
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise Gina3dError(f"{path / TRIPLANE_FILE}: unreadable ({msg})") from None
    if "triplane" not in tensors or "tokens" not in tensors:
        raise Gina3dError(f"{path / TRIPLANE_FILE}: needs tensors 'triplane' and 'tokens'")
    tokens = tensors["tokens"].long()
    if tokens.tolist() != list(meta["tokens"]):
        raise Gina3dError(f"{path}: tokens in {ASSET_FILE} and {TRIPLANE_FILE} differ")
    size = np.asarray(meta["size_m"], dtype=np.float64)
    if size.shape != (3,) or not all(math.isfinite(s) and s > 0 for s in size):
        raise Gina3dError(f"{meta_path}: size_m must be three positive lengths")
    mesh_file = (meta.get("mesh") or {}).get("file")
    mesh_path = path / mesh_file if mesh_file and (path / mesh_file).exists() else None
    return Asset(
        path=path,
        tokens=tokens,
        triplane=tensors["triplane"].float(),
        class_name=meta["class"],
        size_m=size,
        seed=meta["seed"],
        conditions=dict(meta["conditions"] or {}),
        decoder=dict(meta["decoder"]),
        mesh_path=mesh_path,
        meta=meta,
    )
