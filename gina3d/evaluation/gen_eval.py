"""``gina3d eval gen``: sample assets from a stage-2 run, render and mesh them, score them.

This is the glue between a trained stage-2 run, a dataset's held-out split and the pure
metric function ``generation.evaluate_generated`` (FID, KID, COV, MMD, 1-NNA, geometry
consistency, the real-vs-real floor). ``evaluate_gen_run`` returns what ``eval gen`` writes
to ``RUN/eval/gen.json``; every choice below is written into its ``protocol``. Its steps,
one function each: ``plan_assets`` (1, 2), ``gen_sample.sample_assets`` (2),
``real_images`` (3), ``score`` (4 to 6), ``gen_protocol.annotate_protocol`` (the run side
of the protocol); ``gen_state`` holds what they hand each other, ``gen_config.GenEvalConfig``
every setting.

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
    split_meta,
    training_class_mix,
)
from gina3d.evaluation.gen_protocol import CAMERA_DISTRIBUTION, annotate_protocol, shape_protocol
from gina3d.evaluation.gen_sample import sample_assets
from gina3d.evaluation.gen_state import GenPlan, GenRun, GenSamples, RealSet

__all__ = ["allocate", "draw_cycling", "evaluate_gen_run", "feature_network"]


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
    from gina3d.assets.run_models import require_stage2

    s = settings or GenEvalConfig()
    s.validate()
    require_stage2(models, "eval gen")
    run = GenRun(Path(data_root), split, s, progress)
    t0 = time.perf_counter()
    plan = plan_assets(models, run)
    samples = sample_assets(models, plan, run)
    real = real_images(plan, run)
    result = score(plan, samples, real, network, run)
    run.timing["total"] = time.perf_counter() - t0
    annotate_protocol(result, models, run, plan, real)
    result["network"] = network.describe()["name"]
    if s.network != "default":
        result["warning"] = "random test feature network: fid/kid mean nothing outside tests"
    result["assets"] = samples.rows
    return result


def plan_assets(models, run: GenRun) -> GenPlan:
    """Protocol steps 1 and 2: assets per class from the training mix, then one held-out
    patch per asset (seeded)."""
    from gina3d.assets.run_models import stage2_conditions

    s = run.settings
    meta = split_meta(run.root, run.split)
    if len(meta["cls"]) == 0:
        raise Gina3dError(f"{run.root}: split '{run.split}' is empty")
    mix, mix_source = training_class_mix(models, run.root)
    held_out = set(meta["cls"].tolist())
    dropped = sorted(c for c in mix if c not in held_out)
    counts = allocate(s.n, {c: k for c, k in mix.items() if c in held_out})
    pools, fallback = class_pools(meta, counts)
    rng = np.random.default_rng([s.seed, 1])
    assets: list[tuple[str, int]] = []
    for c in sorted(counts):
        assets += [(c, int(i)) for i in draw_cycling(pools[c], counts[c], rng)]
    order = np.random.default_rng([s.seed, 2]).permutation(len(assets))
    assets = [assets[i] for i in order]  # classes interleaved: a cut-short run stays balanced
    scale = s.resolution / int(meta["resolution"][0])
    cond = stage2_conditions(models)
    return GenPlan(meta, mix, mix_source, dropped, counts, pools, fallback, assets, cond, scale)


def real_images(plan: GenPlan, run: GenRun) -> RealSet:
    """Protocol step 3: the preferred pools of the generated classes, a seeded subset of
    ``max_real`` at most, loaded at the render resolution."""
    s = run.settings
    real_idx = np.sort(np.concatenate([plan.pools[c] for c in sorted(plan.counts)]))
    num_pool = len(real_idx)
    if len(real_idx) > s.max_real:
        pick = np.random.default_rng([s.seed, 4]).choice(len(real_idx), s.max_real, replace=False)
        real_idx = real_idx[np.sort(pick)]
    if len(real_idx) < 2:
        raise Gina3dError(
            f"{run.root}: split '{run.split}' has {len(real_idx)} usable patch (need 2)"
        )
    t = time.perf_counter()
    rgb, mask = load_real_images(
        run.root, run.split, real_idx, plan.meta, s.resolution, run.progress
    )
    run.add_time("load_real", t)
    return RealSet(real_idx, num_pool, rgb, mask)


def score(plan: GenPlan, samples: GenSamples, real: RealSet, network, run: GenRun) -> dict:
    """Protocol steps 4 to 6: reference shapes, then ``evaluate_generated`` over the assets
    whose mesh has faces (the others are counted in ``protocol.shapes.generated``)."""
    from tqdm import tqdm

    from gina3d.evaluation.generation import evaluate_generated

    keep = [k for k, m in enumerate(samples.meshes) if len(m.faces) > 0]
    if not keep:
        raise Gina3dError(f"all {len(samples.meshes)} generated meshes are empty: no shape metrics")
    t = time.perf_counter()
    ref_shapes, ref_sizes, ref_info = reference_shapes(
        run.root, run.split, plan.meta, plan.counts, run.settings
    )
    run.add_time("references", t)
    t = time.perf_counter()
    cbar = tqdm(
        total=len(keep),
        desc="eval gen: consistency",
        unit="asset",
        disable=not run.progress,
        leave=False,
    )
    result = evaluate_generated(
        torch.stack(samples.images),
        torch.stack(samples.masks),
        real.rgb,
        real.mask,
        [samples.meshes[k] for k in keep],
        ref_shapes,
        network,
        # render functions, shapes and box sizes all of the assets with a mesh (the same
        # list order, so the default consistency cameras use each asset's own box)
        render_fns=_CountingRenderFns([samples.render_fns[k] for k in keep], cbar, run.device),
        generated_box_sizes=[samples.sizes[k] for k in keep],
        reference_box_sizes=ref_sizes,
        camera_distribution=CAMERA_DISTRIBUTION,
        config=replace(run.settings, device=str(run.device)),
    )
    cbar.close()
    run.add_time("metrics", t)
    shape_protocol(result, run, ref_info, samples, keep)
    return result
