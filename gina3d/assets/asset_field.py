"""What scene composition asks of an asset: render a camera window, and density at points.

Compositing (``compose.py``) and LiDAR simulation (``lidar_sim.py``) talk to an asset only
through the small ``AssetField`` protocol, so a decoded tri-plane (``Stage1Field``, which
renders with ``Stage1Model.render_image``) and an analytic field whose surface is known
exactly (``FunctionField``, used by the tests) are interchangeable.

Units: points are in the object frame in metres (box centre, x forward, y left, z up);
density is per *normalised* unit, as in ``models/field.py`` (the box spans 2 units on every
axis), so a ray with unit direction ``d`` gathers optical depth at ``|d / half|``
normalised units per metre.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from gina3d.assets.triplane_field import Stage1Field, float_tensor


class AssetField(Protocol):
    """A neural or analytic asset in its box of ``size`` (3,) metres (length, width, height)."""

    size: np.ndarray
    surface: str
    """"sdf" when ``sdf`` gives the surface (its zero level), else "density" (opacity)."""

    def render(
        self, K: np.ndarray, cam_from_obj: np.ndarray, height: int, width: int
    ) -> dict[str, np.ndarray]:
        """rgb [H,W,3] premultiplied in [0,1], opacity [H,W], depth [H,W] (expected metric
        distance along each pixel's ray, 0 where nothing is hit). K [3,3]; OpenCV camera."""
        ...

    def density(self, points: np.ndarray) -> np.ndarray:
        """Object-frame points [M,3] (metres, inside the box) -> sigma [M] per normalised unit."""
        ...

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Object-frame points [M,3] (metres) -> signed distance [M] (negative inside);
        only when ``surface == "sdf"``."""
        ...


class FunctionField:
    """An analytic field: ``fn(points [M,3] metres) -> (sigma [M], rgb [M,3])`` (tensors).

    Rendered by the same volume renderer as the tri-planes (``models/renderer.py``), with
    ``samples`` stratified and ``importance`` importance samples per ray. ``sdf_fn``
    (points [M,3] metres -> signed distance [M], tensors) makes its zero level the surface.
    """

    def __init__(
        self,
        fn: Callable[[Tensor], tuple[Tensor, Tensor]],
        size,
        samples: int = 64,
        importance: int = 64,
        chunk: int = 8192,
        sdf_fn: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.fn, self.size = fn, np.asarray(size, dtype=np.float64)
        self.samples, self.importance, self.chunk = samples, importance, chunk
        self.sdf_fn = sdf_fn
        self.surface = "density" if sdf_fn is None else "sdf"

    def _field(self, triplane: Tensor, points: Tensor) -> dict[str, Tensor]:
        """The renderer's field call: normalised points [B,M,3] -> sigma [B,M], rgb [B,M,3]."""
        half = torch.as_tensor(self.size / 2.0, dtype=torch.float32)
        b, m, _ = points.shape
        sigma, rgb = self.fn((points * half).reshape(b * m, 3))
        return {"sigma": sigma.reshape(b, m).float(), "rgb": rgb.reshape(b, m, 3).float()}

    @torch.no_grad()
    def render(self, K, cam_from_obj, height, width) -> dict[str, np.ndarray]:
        from gina3d.models.renderer import render_rays
        from gina3d.models.stage1 import image_rays

        K_t, pose = float_tensor(K, "cpu")[None], float_tensor(cam_from_obj, "cpu")[None]
        origins, dirs = image_rays(K_t, pose, height, width)  # [1,H*W,3]
        box = torch.as_tensor(self.size, dtype=torch.float32)[None]
        parts: dict[str, list[Tensor]] = {}
        for s in range(0, height * width, self.chunk):
            sl = slice(s, s + self.chunk)
            rays = (origins[:, sl], dirs[:, sl], box, self.samples, self.importance)
            out = render_rays(self._field, torch.zeros(1), *rays, perturb=False)
            for key in ("rgb", "opacity", "depth"):
                parts.setdefault(key, []).append(out[key])
        full = {k: torch.cat(v, dim=1) for k, v in parts.items()}
        return {
            "rgb": full["rgb"].view(height, width, 3).numpy(),
            "opacity": full["opacity"].view(height, width).numpy(),
            "depth": full["depth"].view(height, width).numpy(),
        }

    @torch.no_grad()
    def density(self, points: np.ndarray) -> np.ndarray:
        sigma, _ = self.fn(torch.as_tensor(points, dtype=torch.float32))
        return sigma.double().numpy()

    @torch.no_grad()
    def sdf(self, points: np.ndarray) -> np.ndarray:
        if self.sdf_fn is None:
            raise ValueError("this field has no signed distance")
        return self.sdf_fn(torch.as_tensor(points, dtype=torch.float32)).double().numpy()


def stage1_field_from_run(run, tokens, size, device: str = "cpu") -> Stage1Field:
    """A raw stage-1 run (or checkpoint directory) + token grid [T] -> a field in a box."""
    from gina3d.assets.asset_io import check_tokens
    from gina3d.assets.decoder_ref import stage1_checkpoint
    from gina3d.training.checkpoint import load_stage1_checkpoint

    model, _ = load_stage1_checkpoint(stage1_checkpoint(run), device)
    tok = check_tokens(tokens, model.cfg).to(next(model.parameters()).device)
    with torch.no_grad():
        triplane = model.decode_indices(tok[None])[0]  # [3,F,R,R]
    return Stage1Field(model, triplane, size)


@dataclass
class Insertion:
    """One asset placed in a frame: its field, pose, and the labels it gets there."""

    field: AssetField
    vehicle_from_obj: np.ndarray  # [4,4] box centre pose (x forward, y left, z up)
    instance_id: int  # new id in the instance image and the LiDAR labels
    object_id: str
    cls: str
    source: str  # what was inserted (an asset folder, or a description)

    @property
    def size(self) -> np.ndarray:
        return np.asarray(self.field.size, dtype=np.float64)


def next_instance_id(frame) -> int:
    """One more than every instance id the frame uses (boxes, images, LiDAR labels)."""
    ids = [0, *(b.instance_id for b in frame.boxes)]
    ids += [
        int(c.instance.max()) for c in frame.cameras if c.instance is not None and c.instance.size
    ]
    if frame.lidar_instance is not None and len(frame.lidar_instance):
        ids.append(int(frame.lidar_instance.max()))
    return max(ids) + 1


def prepare_insertions(frame, assets, model=None, device: str = "cpu") -> list[Insertion]:
    """(asset, vehicle_from_obj [4,4], size (3,) or None) triples -> Insertions with new ids.

    An asset is an ``Asset`` folder (decoded by ``model``, else by its recorded decoder,
    loaded once per checkpoint), an ``AssetField``, or already an ``Insertion`` (kept as
    it is). ``size`` stretches an asset's tri-plane to another box; an ``AssetField``
    keeps its own. Ids are given in order, so the same call always numbers the same way.
    """
    from gina3d.assets.asset_io import Asset
    from gina3d.assets.decoder_ref import load_decoder
    from gina3d.errors import Gina3dError

    first = next_instance_id(frame)
    decoders: dict[str, object] = {}
    out: list[Insertion] = []
    for k, item in enumerate(assets):
        if isinstance(item, Insertion):
            out.append(item)
            continue
        asset, pose, size = item
        pose = np.asarray(pose, dtype=np.float64)
        if pose.shape != (4, 4):
            raise Gina3dError(f"asset {k}: vehicle_from_obj must be [4,4], got {list(pose.shape)}")
        if isinstance(asset, Asset):
            m = model
            if m is None:
                key = str(asset.decoder.get("checkpoint"))
                if key not in decoders:
                    decoders[key] = load_decoder(asset, device)[0]
                m = decoders[key]
            size = asset.size_m if size is None else size
            field = Stage1Field(m, asset.triplane, size)
            cls, source = asset.class_name or "vehicle", str(asset.path)
        else:
            field, source = asset, type(asset).__name__
            cls = getattr(asset, "cls", None) or "vehicle"
        out.append(Insertion(field, pose, first + k, f"inserted-{k}", cls, source))
    return out
