"""The held-out side of ``gina3d eval gen``: which classes to generate and how many, the
pools of held-out patches that give conditions and cameras, the real images, and the
reference shapes (ground-truth meshes or aggregated LiDAR). ``gen_eval.evaluate_gen_run``
uses these; its docstring states the protocol.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import intrinsics_matrix


def allocate(n: int, mix: dict[str, float]) -> dict[str, int]:
    """``n`` split over classes in proportion to ``mix`` (largest remainders, ties by name)."""
    total = float(sum(mix.values()))
    if total <= 0:
        raise Gina3dError("no class to generate: the training class mix is empty")
    names = sorted(mix)
    exact = {c: n * mix[c] / total for c in names}
    out = {c: int(np.floor(exact[c])) for c in names}
    rest = n - sum(out.values())
    for c in sorted(names, key=lambda c: (-(exact[c] - out[c]), c))[:rest]:
        out[c] += 1
    return {c: k for c, k in out.items() if k > 0}


def training_class_mix(models, data_root: Path) -> tuple[dict[str, int], str]:
    """Training patches per class and where the counts come from (the protocol's step 1 in
    ``gen_eval``'s module docstring)."""
    from gina3d.assets.run_models import dataset_of
    from gina3d.data.dataset import CLASSES
    from gina3d.data.shards import read_columns

    if models.stage1_run is not None:
        try:
            from gina3d.generation.token_cache import load_token_cache

            cache = load_token_cache(models.stage1_run, "train")
            idx = cache.class_idx.tolist()
            counts = Counter(CLASSES[i] for i in idx if 0 <= i < len(CLASSES))
            if counts:
                return dict(counts), f"token cache of {models.stage1_run} (train)"
        except Gina3dError:
            pass
    for root, what in ((dataset_of(models), "stage-1 run's dataset"), (data_root, "--data")):
        if root is None or not (Path(root) / "manifest.json").exists():
            continue
        try:
            cls = read_columns(root, ["cls"], split="train").column("cls").to_pylist()
        except Gina3dError:
            continue
        counts = Counter(c for c in cls if c in CLASSES)
        if counts:
            return dict(counts), f"train split of {what} {root}"
    raise Gina3dError(
        f"{models.run}: no training class mix (no token cache and no train split to read)"
    )


def unoccluded(occluded: np.ndarray, truncation: np.ndarray) -> np.ndarray:
    return (occluded == 0) & (truncation <= 0)


def split_meta(root: Path, split: str) -> dict[str, np.ndarray]:
    from gina3d.data.shards import read_columns

    cols = ["patch_id", "object_id", "cls", "time_of_day", "resolution", "box_size"]
    cols += ["intrinsics", "cam_from_obj", "occluded_pixels", "truncation"]
    t = read_columns(root, cols, split=split).to_pydict()
    return {
        "patch_id": np.asarray(t["patch_id"], dtype=object),
        "object_id": np.asarray(t["object_id"], dtype=object),
        "cls": np.asarray(t["cls"], dtype=object),
        "time": np.asarray(t["time_of_day"], dtype=object),
        "resolution": np.asarray(t["resolution"], dtype=np.int64),
        "box_size": np.asarray(t["box_size"], dtype=np.float64).reshape(-1, 3),
        "intrinsics": np.asarray(t["intrinsics"], dtype=np.float64).reshape(-1, 4),
        "cam_from_obj": np.asarray(t["cam_from_obj"], dtype=np.float64).reshape(-1, 4, 4),
        "occluded": np.asarray(t["occluded_pixels"], dtype=np.int64),
        "truncation": np.asarray(t["truncation"], dtype=np.float64),
    }


def class_pools(meta: dict, classes) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    """Per class: indices of its preferred patches (unoccluded, else all) and whether the
    class had to fall back to occluded ones."""
    clean = unoccluded(meta["occluded"], meta["truncation"])
    pools, fallback = {}, {}
    for c in classes:
        of_class = meta["cls"] == c
        idx = np.flatnonzero(of_class & clean)
        fallback[c] = len(idx) == 0
        pools[c] = idx if len(idx) else np.flatnonzero(of_class)
    return pools, fallback


def draw_cycling(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` items of ``pool``: a seeded permutation, repeated (re-permuted) when k > len."""
    out = []
    while len(out) < k:
        out += rng.permutation(pool).tolist()
    return np.asarray(out[:k], dtype=np.int64)


def scaled_K(intrinsics: np.ndarray, scale: float) -> np.ndarray:
    """K [3,3] of (fx, fy, cx, cy) [4] scaled by ``scale`` (a resized image)."""
    return intrinsics_matrix(*(np.asarray(intrinsics, np.float64) * scale).tolist())


def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """[B,C,h,w] -> [B,C,size,size]: area average down, bilinear up."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    mode = "area" if size < x.shape[-1] else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(size, size), mode=mode, **kw)


def load_real_images(
    root: Path, split: str, indices, meta: dict, resolution: int, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real patches rgb [M,3,R,R] in [0,1] and visible object masks [M,R,R] (soft after a
    resize)."""
    from tqdm import tqdm

    from gina3d.data.dataset import PatchDataset

    ds = PatchDataset(root, split=split)
    rgbs, masks = [], []
    for i in tqdm(indices, desc="eval gen: real", unit="patch", disable=not progress, leave=False):
        rec = ds.record(int(i))
        if rec.patch_id != meta["patch_id"][i]:  # read_columns and the dataset disagree
            raise Gina3dError(f"{root}: patch order differs between metadata and dataset")
        rgbs.append(torch.from_numpy(rec.rgb).permute(2, 0, 1).float() / 255.0)
        masks.append(torch.from_numpy(rec.object_mask).float()[None])
    rgb = resize_images(torch.stack(rgbs), resolution).clamp(0, 1)
    mask = resize_images(torch.stack(masks), resolution)[:, 0].clamp(0, 1)
    return rgb, mask


def reference_shapes(
    root: Path, split: str, meta: dict, counts: dict[str, int], settings
) -> tuple[list, list, dict]:
    """(shapes, box sizes, protocol entry) for ``settings`` (a ``gen_config.GenEvalConfig``):
    the protocol's step 4 (``gen_eval``'s module docstring)."""
    kind = settings.reference
    has_meshes = (root / "meshes").is_dir()
    if kind == "auto":
        kind = "meshes" if has_meshes else "lidar"
    if kind == "meshes" and not has_meshes:
        raise Gina3dError(f"--reference meshes: {root / 'meshes'} does not exist")
    rng = np.random.default_rng([settings.seed, 3])
    # one entry per object id: class and box size of its first patch in the split
    first: dict[str, int] = {}
    for i, oid in enumerate(meta["object_id"]):
        first.setdefault(str(oid), i)
    objects: dict[str, list[str]] = {c: [] for c in counts}
    info: dict = {"kind": kind, "per_class": {}}
    if kind == "meshes":
        from gina3d.evaluation.novel_views import mesh_path

        missing = 0
        for oid, i in first.items():
            c = meta["cls"][i]
            if c not in objects:
                continue
            if mesh_path(root, oid).is_file():
                objects[c].append(oid)
            else:
                missing += 1
        info["source"] = f"ground-truth meshes {root / 'meshes'}/<object_id>.ply"
        info["objects_without_mesh"] = missing
        points = None
    else:
        from gina3d.data.shards import read_columns

        t = read_columns(root, ["object_id", "lidar_points"], split=split).to_pydict()
        gathered: dict[str, list[np.ndarray]] = {}
        for oid, blob in zip(t["object_id"], t["lidar_points"]):
            pts = np.frombuffer(blob or b"", dtype="<f4").reshape(-1, 3)
            gathered.setdefault(str(oid), []).append(pts)
        points = {oid: np.concatenate(p).astype(np.float64) for oid, p in gathered.items()}
        too_few = 0
        for oid, i in first.items():
            c = meta["cls"][i]
            if c not in objects:
                continue
            if len(points.get(oid, ())) >= settings.min_lidar_points:
                objects[c].append(oid)
            else:
                too_few += 1
        info["source"] = (
            "LiDAR points of each object, aggregated over all its held-out patches (box frame)"
        )
        info["min_lidar_points"] = settings.min_lidar_points
        info["objects_with_too_few_points"] = too_few
    shapes, sizes = [], []
    for c in sorted(objects):
        avail = sorted(objects[c])
        k = min(counts[c], len(avail))
        pick = sorted(rng.choice(len(avail), k, replace=False).tolist()) if k else []
        info["per_class"][c] = {"available": len(avail), "used": k}
        for j in pick:
            oid = avail[j]
            if kind == "meshes":
                from gina3d.evaluation.novel_views import mesh_path

                shapes.append(mesh_path(root, oid))
            else:
                shapes.append(points[oid])
            sizes.append(meta["box_size"][first[oid]])
    if not shapes:
        raise Gina3dError(f"{root}: no {kind} reference shape in split '{split}'")
    info["num_objects"] = len(shapes)
    info["selection"] = "per class, as many objects as generated assets of the class (at most "
    info["selection"] += "all available), a seeded random subset; box size of the first patch"
    return shapes, sizes, info
