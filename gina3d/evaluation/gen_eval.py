"""``gina3d eval gen``: sample assets from a stage-2 run, render and mesh them, score them.

This is the glue between a trained stage-2 run, a dataset's held-out split and the pure
metric function ``generation.evaluate_generated`` (FID, KID, COV, MMD, 1-NNA, geometry
consistency, the real-vs-real floor). ``evaluate_gen_run`` returns what ``eval gen`` writes
to ``RUN/eval/gen.json``; every choice below is written into its ``protocol``.

Protocol (docs/evaluation.md has the long form):

1. **Class mix.** The number of generated assets per class follows the *training* class
   mix: counts from the stage-1 run's token cache (what stage 2 trained on), else from the
   train split of the stage-1 run's dataset, else of ``--data``. Classes without a patch in
   the held-out split are left out (recorded). ``n`` is divided by largest remainders.
2. **Conditions and cameras.** For each generated asset of class c, one held-out patch of
   class c is drawn (seeded; without replacement until the class's pool is used up, then
   again from the start). *Unoccluded* patches (no occluder pixel and no truncation by the
   frame border: the visible mask is the whole silhouette) are preferred; a class with
   none falls back to all its patches (recorded). The asset is sampled with that patch's
   class, box size and time of day as conditions (those the model was trained with; the
   image condition is never given: generation, not reconstruction) and rendered with that
   patch's intrinsics (scaled to ``resolution``) and ``cam_from_obj``, so generated and
   real images share one viewing distribution. Asset i uses seed
   ``SeedSequence([seed, i])`` (as ``gina3d sample``).
3. **Images.** Renders keep pixels with opacity >= 0.5 (colour un-premultiplied); real
   patches keep their visible object mask; ``fid.composite_on_background`` puts both on
   the same white background. The real set is the class's pool (unoccluded patches, as in
   2) of every generated class, a seeded subset of ``max_real`` at most, resized to
   ``resolution`` when the dataset's patches differ.
4. **Shapes.** Each asset's mesh (``assets.mesh.extract_mesh``, ``mesh_resolution``,
   opacity rule at the class's ``surface.default_opacity``) against reference shapes of the
   held-out split: on synthetic data (a ``DATASET/meshes`` folder) the ground-truth meshes
   of its objects; otherwise (Waymo) the LiDAR points of each object, aggregated over all
   its held-out patches (records keep them in the box frame, the refined one where the
   converter had it), objects with fewer than ``min_lidar_points`` left out. References
   per class: as many as generated assets of the class, at most the objects available
   (seeded subset). Meshes without faces cannot be surface-sampled: they are left out of
   the shape metrics and counted.
5. **Geometry consistency**: every asset with a mesh, ``generation.default_consistency_cameras`` at
   ``resolution``, with the stage-1 renderer as render function.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from gina3d.errors import Gina3dError
from gina3d.evaluation.gen_config import NETWORKS, GenEvalConfig
from gina3d.evaluation.gen_data import (
    allocate,
    class_pools,
    draw_cycling,
    load_real_images,
    reference_shapes,
    scaled_K,
    split_meta,
    training_class_mix,
    unoccluded,
)
from gina3d.generation.sampler import asset_seed

__all__ = ["allocate", "draw_cycling", "evaluate_gen_run", "feature_network"]

OPACITY_THRESHOLD = 0.5  # render pixels kept as object (as generation.py's docstring)
CAMERA_DISTRIBUTION = (
    "per generated asset, the intrinsics (scaled to the render resolution) and cam_from_obj "
    "of one held-out patch of its class, drawn seeded, unoccluded patches preferred; the "
    "asset's size and time conditions come from the same patch"
)


def feature_network(name: str, seed: int = 0):
    """The FID feature network: ``default`` (the FID Inception-v3; a Gina3dError naming the
    install command when it is missing, never a fallback) or ``random-test`` (tests only)."""
    from gina3d.evaluation.features import fid_inception, random_feature_network

    if name == "default":
        return fid_inception()
    if name == "random-test":
        return random_feature_network(seed)
    raise Gina3dError(f"--network must be one of {', '.join(NETWORKS)} (got '{name}')")


class _CountingRenderFns:
    """Wrap per-asset render functions: cameras moved to the model's device (consistency
    builds them on the CPU), outputs back on the CPU, a progress bar advanced per asset."""

    def __init__(self, fns, bar, device: torch.device) -> None:
        self.fns, self.bar, self.device = fns, bar, device

    def wrap(self, fn):
        def render(K, cam_from_obj, height, width):
            out = fn(K.to(self.device), cam_from_obj.to(self.device), height, width)
            self.bar.update(1)
            return {k: v.cpu() for k, v in out.items()}

        return render

    def __iter__(self):
        return iter([self.wrap(f) for f in self.fns])


@torch.no_grad()
def evaluate_gen_run(
    models,
    data_root: str | os.PathLike,
    split: str,
    network,
    settings: GenEvalConfig | None = None,
    progress: bool = True,
) -> dict:
    """Every generation metric of a stage-2 run's samples (module docstring) with its
    protocol; ``models``: ``assets.run_models.load_models`` of a stage-2 run; ``network``:
    the feature network, ``feature_network(settings.network)``."""
    from tqdm import tqdm

    from gina3d.assets.mesh import extract_mesh
    from gina3d.assets.run_models import require_stage2, stage2_conditions
    from gina3d.assets.surface import default_opacity
    from gina3d.data.dataset import TIMES_OF_DAY
    from gina3d.evaluation.fid import unpremultiply
    from gina3d.evaluation.generation import evaluate_generated
    from gina3d.evaluation.geometry_consistency import triplane_render_fn
    from gina3d.generation.sampler import sample_token_grids

    s = settings or GenEvalConfig()
    s.validate()
    require_stage2(models, "eval gen")
    root = Path(data_root)
    device = torch.device(s.device)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()

    meta = split_meta(root, split)
    if len(meta["cls"]) == 0:
        raise Gina3dError(f"{root}: split '{split}' is empty")
    mix, mix_source = training_class_mix(models, root)
    held_out = set(meta["cls"].tolist())
    dropped = sorted(c for c in mix if c not in held_out)
    counts = allocate(s.n, {c: k for c, k in mix.items() if c in held_out})
    pools, fallback = class_pools(meta, counts)

    # 2. one held-out patch per asset: its camera and conditions
    rng = np.random.default_rng([s.seed, 1])
    plan: list[tuple[str, int]] = []
    for c in sorted(counts):
        plan += [(c, int(i)) for i in draw_cycling(pools[c], counts[c], rng)]
    order = np.random.default_rng([s.seed, 2]).permutation(len(plan))
    plan = [plan[i] for i in order]  # classes interleaved: a cut-short run stays balanced
    enabled = stage2_conditions(models)
    res_patch = int(meta["resolution"][0])
    scale = s.resolution / res_patch

    stage1, stage2 = models.stage1.to(device).eval(), models.stage2.to(device).eval()
    images, masks, meshes, render_fns, sizes, rows = [], [], [], [], [], []
    bar = tqdm(plan, desc="eval gen: sample", unit="asset", disable=not progress, leave=False)
    for i, (c, j) in enumerate(bar):
        size = meta["box_size"][j]
        time_of_day = meta["time"][j] if meta["time"][j] in TIMES_OF_DAY else None
        cond = {"class_name": c, "size": size.tolist(), "time": time_of_day}
        cond = {k: v for k, v in cond.items() if k in enabled and v is not None}
        seed_i = asset_seed(s.seed, i)
        t = time.perf_counter()
        tokens = sample_token_grids(
            stage2, 1, seed_i, cond, s.steps, s.temperature, s.guidance
        )  # [1,T]
        timing["sample"] = timing.get("sample", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        tri = stage1.decode_indices(tokens.to(device))  # [1,3,F,R,R]
        box = torch.as_tensor(size, dtype=torch.float32, device=device)[None]  # [1,3]
        K = torch.as_tensor(scaled_K(meta["intrinsics"][j], scale), dtype=torch.float32)
        cam = torch.as_tensor(meta["cam_from_obj"][j], dtype=torch.float32)
        out = stage1.render_image(
            tri, K[None].to(device), cam[None].to(device), box, s.resolution, s.resolution
        )
        opacity = out["opacity"].float().cpu()  # [1,R,R]
        images.append(unpremultiply(out["rgb"].float().cpu(), opacity)[0])
        masks.append((opacity[0] >= OPACITY_THRESHOLD).float())
        timing["render"] = timing.get("render", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        opacity = default_opacity(c)
        meshes.append(
            extract_mesh(stage1, tri[0], size, resolution=s.mesh_resolution, opacity=opacity)
        )
        timing["mesh"] = timing.get("mesh", 0.0) + time.perf_counter() - t
        render_fns.append(triplane_render_fn(stage1, tri, box))
        sizes.append(size)
        rows.append({"class": c, "patch_id": str(meta["patch_id"][j]), "seed": seed_i})
        rows[-1].update(conditions=cond, mesh_faces=int(len(meshes[-1].faces)))
    bar.close()

    # 3. real images: the preferred pools of the generated classes
    real_idx = np.sort(np.concatenate([pools[c] for c in sorted(counts)]))
    num_real_pool = len(real_idx)
    if len(real_idx) > s.max_real:
        pick = np.random.default_rng([s.seed, 4]).choice(len(real_idx), s.max_real, replace=False)
        real_idx = real_idx[np.sort(pick)]
    if len(real_idx) < 2:
        raise Gina3dError(f"{root}: split '{split}' has {len(real_idx)} usable patch (need 2)")
    t = time.perf_counter()
    real_rgb, real_mask = load_real_images(root, split, real_idx, meta, s.resolution, progress)
    timing["load_real"] = time.perf_counter() - t

    # 4. shapes
    keep = [k for k, m in enumerate(meshes) if len(m.faces) > 0]
    if not keep:
        raise Gina3dError(f"all {len(meshes)} generated meshes are empty: no shape metrics")
    t = time.perf_counter()
    ref_shapes, ref_sizes, ref_info = reference_shapes(root, split, meta, counts, s)
    timing["references"] = time.perf_counter() - t

    t = time.perf_counter()
    cbar = tqdm(
        total=len(keep),
        desc="eval gen: consistency",
        unit="asset",
        disable=not progress,
        leave=False,
    )
    result = evaluate_generated(
        torch.stack(images),
        torch.stack(masks),
        real_rgb,
        real_mask,
        [meshes[k] for k in keep],
        ref_shapes,
        network,
        # render functions, shapes and box sizes all of the assets with a mesh (the same
        # list order, so the default consistency cameras use each asset's own box)
        render_fns=_CountingRenderFns([render_fns[k] for k in keep], cbar, device),
        generated_box_sizes=[sizes[k] for k in keep],
        reference_box_sizes=ref_sizes,
        camera_distribution=CAMERA_DISTRIBUTION,
        config=replace(s, device=str(device)),
    )
    cbar.close()
    timing["metrics"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - t0

    p = result["protocol"]
    real_cls = Counter(meta["cls"][real_idx].tolist())
    gen_cls = Counter(c for c, _ in plan)
    clean = unoccluded(meta["occluded"], meta["truncation"])
    used = np.array([j for _, j in plan])
    p["images"]["real_selection"] = {
        "split": split,
        "rule": "unoccluded patches (occluded_pixels == 0 and truncation == 0) of the generated "
        "classes; a class without any falls back to all its patches",
        "num_in_split": len(meta["cls"]),
        "num_unoccluded_in_split": int(clean.sum()),
        "num_pool": int(num_real_pool),
        "num_used": len(real_idx),
        "max_real": s.max_real,
        "classes_falling_back_to_occluded": sorted(c for c, f in fallback.items() if f),
        "patch_resolution": res_patch,
        "resize": "none" if res_patch == s.resolution else "area down / bilinear up",
    }
    p["images"]["cameras"] = {
        "rule": CAMERA_DISTRIBUTION,
        "num_distinct_patches": len(set(used.tolist())),
        "num_occluded_patches": int((~clean[used]).sum()),
        "intrinsics_scale": scale,
    }
    p["shapes"]["reference"] = ref_info
    p["shapes"]["generated"] = {
        "mesh": "assets.mesh.extract_mesh, opacity rule at the class default "
        "(surface.OPACITY_BY_CLASS), floaters removed",
        "mesh_resolution": s.mesh_resolution,
        "num_assets": len(meshes),
        "num_empty_meshes": len(meshes) - len(keep),
        "empty_meshes": "left out of cov, mmd, one_nna (no surface to sample)",
    }
    p["sampling"] = {
        "run": str(Path(models.run).resolve()),
        "stage1": str(models.stage1_source),
        "stage1_step": models.configs.get("stage1_step"),
        "n": s.n,
        "steps": s.steps,
        "temperature": s.temperature,
        "guidance": s.guidance,
        "asset_seeds": "SeedSequence([seed, i]) for asset i (as gina3d sample)",
        "conditions": sorted(c for c in enabled if c != "image"),
        "image_condition": "never given (null embedding): generation, not reconstruction",
        "condition_source": "class, box size and time of day of the held-out patch whose "
        "camera renders the asset",
        "class_mix": {"source": mix_source, "training_counts": mix},
        "classes_not_in_split": dropped,
    }
    p["classes"] = {
        c: {"generated": gen_cls.get(c, 0), "real": real_cls.get(c, 0)}
        for c in sorted(set(gen_cls) | set(real_cls))
    }
    for c, v in ref_info["per_class"].items():
        p["classes"].setdefault(c, {})["reference"] = v["used"]
    p["dataset"] = str(root.resolve())
    p["split"] = split
    p["network_choice"] = s.network
    p["settings"] = s.run_settings()
    p["device"] = str(device)
    p["threads"] = torch.get_num_threads()
    p["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    result["network"] = network.describe()["name"]
    if s.network != "default":
        result["warning"] = "random test feature network: fid/kid mean nothing outside tests"
    result["assets"] = rows
    return result
