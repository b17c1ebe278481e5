"""Encoding a patch or an image file into a token grid with stage 1.

A *source* is an image file (``.png``, ``.jpg``, ``.jpeg``) or a patch of a dataset named
``split:index`` (row ``index`` of that split's ``PatchDataset``) or by its ``patch_id``.

A patch carries its own camera: the stage-1 encoder gets its rgb and its object-frame ray
directions, as in training. An image file has no camera, so one is assumed (documented in
docs/assets.md): the image is centre-cropped to a square and resized to the model's
``image_size``; it is taken to be seen by a pinhole camera with a ``FOV_DEG`` field of
view and the principal point at the image centre, looking at the box centre from azimuth
``azimuth_deg`` (counter-clockwise from the object's front, seen from above; default 45:
a front-left three-quarter view) and ``elevation_deg`` above the box centre (default 10).
The camera stands at the distance where the box's bounding sphere fills the view (as in
turntables), and the encoder sees that camera's rays (origins and directions) in the object
frame, with the given box size.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gina3d.errors import Gina3dError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")  # read by Pillow
AZIMUTH_DEG = 45.0
ELEVATION_DEG = 10.0
FOV_DEG = 30.0


def is_image_source(text: str) -> bool:
    """True when ``text`` names an image file by its suffix."""
    return Path(text).suffix.lower() in IMAGE_SUFFIXES


def find_patch(data: str | os.PathLike, ref: str, split: str = "test"):
    """(PatchDataset of the patch's split, index) of ``split:index`` or a patch id.

    A plain patch id is looked up in ``split`` first, then in every other split.
    """
    from gina3d.data.dataset import PatchDataset
    from gina3d.data.shards import load_manifest, read_columns

    manifest = load_manifest(data)
    splits = sorted({s["split"] for s in manifest["shards"]})
    head, _, tail = ref.rpartition(":")
    if head in splits and tail.lstrip("-").isdigit():
        ds = PatchDataset(data, split=head, max_lidar_points=1)
        index = int(tail)
        if not 0 <= index < len(ds):
            raise Gina3dError(f"{ref}: split '{head}' has {len(ds)} patches (0..{len(ds) - 1})")
        return ds, index
    for s in [split, *[x for x in splits if x != split]] if split in splits else splits:
        ids = read_columns(data, ["patch_id"], split=s).column("patch_id").to_pylist()
        if ref in ids:
            return PatchDataset(data, split=s, max_lidar_points=1), ids.index(ref)
    if Path(ref).is_file():
        raise Gina3dError(
            f"{ref}: a file gina3d does not read as an image (it reads "
            f"{', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})"
        )
    raise Gina3dError(
        f"{ref}: not a patch of {data} (use split:index, e.g. {splits[0]}:0, or a patch id)"
    )


@torch.no_grad()
def encode_tokens(
    model, rgb: torch.Tensor, ray_direction: torch.Tensor, ray_origin: torch.Tensor, box_size
) -> torch.Tensor:
    """Token grid [T] (long, CPU) of one patch: rgb [3,H,W] in [0,1], object-frame rays
    (directions, origins) [H,W,3] and the box size (3,) in metres."""
    s = model.cfg.image_size
    shapes = [tuple(rgb.shape), tuple(ray_direction.shape), tuple(ray_origin.shape)]
    if shapes != [(3, s, s), (s, s, 3), (s, s, 3)]:
        raise Gina3dError(f"the stage-1 model takes {s}x{s} patches, got shapes {shapes}")
    device = next(model.parameters()).device
    size = torch.as_tensor(np.asarray(box_size, dtype=np.float32), device=device)[None]  # [1,3]
    z = model.encode(
        rgb[None].float().to(device),
        ray_direction[None].float().to(device),
        ray_origin[None].float().to(device),
        size,
    )  # [1,T,C]
    return model.quantize(z).indices[0].long().cpu()


def load_image(path: str | os.PathLike, size: int) -> np.ndarray:
    """uint8 [size,size,3]: an image file centre-cropped to a square and resized."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise Gina3dError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            side = min(w, h)
            box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
            im = im.crop(box).resize((size, size), Image.Resampling.LANCZOS)
            return np.asarray(im, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError) as e:
        raise Gina3dError(f"{path}: cannot read image ({str(e).splitlines()[0]})") from None


def default_view_rays(
    box_size,
    image_size: int,
    azimuth_deg: float = AZIMUTH_DEG,
    elevation_deg: float = ELEVATION_DEG,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Object-frame ray origins and unit directions [H,W,3] of the assumed camera."""
    from gina3d.assets.turntable import look_at_camera
    from gina3d.models.stage1 import image_rays

    cam, K = look_at_camera(box_size, image_size, azimuth_deg, elevation_deg, FOV_DEG)
    origins, directions = image_rays(
        torch.as_tensor(K, dtype=torch.float32)[None],
        torch.as_tensor(cam, dtype=torch.float32)[None],
        image_size,
        image_size,
    )  # [1,H*W,3] each
    shape = (image_size, image_size, 3)
    return origins[0].reshape(shape).contiguous(), directions[0].reshape(shape)


def patch_inputs(ds, index: int) -> dict:
    """rgb [3,H,W], ray_direction [H,W,3] and the record's class, size, time and id."""
    item = ds[index]
    rec = ds.record(index)
    return {
        "rgb": item["rgb"],
        "ray_direction": item["ray_direction"],
        "ray_origin": item["ray_origin"],
        "image": rec.rgb,  # uint8 [H,W,3]
        "class_name": rec.cls,
        "size": [float(x) for x in rec.box_size],
        "time": rec.time_of_day,
        "patch_id": rec.patch_id,
        "split": ds.split,
        "index": int(index),
    }
