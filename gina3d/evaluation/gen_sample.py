"""Protocol step 2 of ``gina3d eval gen``: sample, render and mesh each planned asset.

Asset i of the plan is sampled with the class, box size and time of day of its held-out
patch (those the model was trained with; never the image), seed ``SeedSequence([seed, i])``
(as ``gina3d sample``), rendered at the patch's camera (intrinsics scaled to the render
resolution) and meshed at its class's default opacity (``gen_eval``'s module docstring).
"""

from __future__ import annotations

import time

import torch

from gina3d.evaluation.gen_data import scaled_K
from gina3d.evaluation.gen_state import GenPlan, GenRun, GenSamples
from gina3d.generation.sampler import asset_seed

OPACITY_THRESHOLD = 0.5  # render pixels kept as object (as generation.py's docstring)


def sample_assets(models, plan: GenPlan, run: GenRun) -> GenSamples:
    """Every asset of the plan, in plan order (``models``: a stage-2 run's)."""
    from tqdm import tqdm

    device = run.device
    stage1, stage2 = models.stage1.to(device).eval(), models.stage2.to(device).eval()
    samples = GenSamples()
    bar = tqdm(
        plan.assets, desc="eval gen: sample", unit="asset", disable=not run.progress, leave=False
    )
    for i, _ in enumerate(bar):
        sample_one(stage1, stage2, plan, i, run, samples)
    bar.close()
    return samples


def sample_one(stage1, stage2, plan: GenPlan, i: int, run: GenRun, out: GenSamples) -> None:
    """Asset i: its tokens (conditioned on its patch), its render at the patch's camera and
    its mesh, appended to ``out``; seconds added to ``run.timing`` (sample, render, mesh)."""
    from gina3d.assets.mesh import extract_mesh
    from gina3d.data.dataset import TIMES_OF_DAY
    from gina3d.evaluation.geometry_consistency import triplane_render_fn
    from gina3d.generation.sampler import sample_token_grids

    s, meta, device = run.settings, plan.meta, run.device
    c, j = plan.assets[i]
    size = meta["box_size"][j]
    time_of_day = meta["time"][j] if meta["time"][j] in TIMES_OF_DAY else None
    cond = {"class_name": c, "size": size.tolist(), "time": time_of_day}
    cond = {k: v for k, v in cond.items() if k in plan.conditions and v is not None}
    seed_i = asset_seed(s.seed, i)
    t = time.perf_counter()
    tokens = sample_token_grids(stage2, 1, seed_i, cond, s.steps, s.temperature, s.guidance)
    run.add_time("sample", t)  # tokens [1,T]
    t = time.perf_counter()
    tri = stage1.decode_indices(tokens.to(device))  # [1,3,F,R,R]
    box = torch.as_tensor(size, dtype=torch.float32, device=device)[None]  # [1,3]
    image, mask = render_at_patch(stage1, tri, box, plan, j, run)
    out.images.append(image)
    out.masks.append(mask)
    run.add_time("render", t)
    t = time.perf_counter()
    out.meshes.append(extract_mesh(stage1, tri[0], size, s.mesh_resolution, class_name=c))
    run.add_time("mesh", t)
    out.render_fns.append(triplane_render_fn(stage1, tri, box))
    out.sizes.append(size)
    out.rows.append({"class": c, "patch_id": str(meta["patch_id"][j]), "seed": seed_i})
    out.rows[-1].update(conditions=cond, mesh_faces=int(len(out.meshes[-1].faces)))


def render_at_patch(stage1, tri, box, plan: GenPlan, j: int, run: GenRun):
    """(image [3,R,R] straight colour, mask [R,R] opacity >= 0.5) of the tri-plane ``tri``
    [1,3,F,R,R] in the box ``box`` [1,3] at the camera of patch j, R the render resolution."""
    from gina3d.evaluation.fid import unpremultiply

    res, device = run.settings.resolution, run.device
    K = torch.as_tensor(scaled_K(plan.meta["intrinsics"][j], plan.scale), dtype=torch.float32)
    cam = torch.as_tensor(plan.meta["cam_from_obj"][j], dtype=torch.float32)
    out = stage1.render_image(tri, K[None].to(device), cam[None].to(device), box, res, res)
    opacity = out["opacity"].float().cpu()  # [1,R,R]
    image = unpremultiply(out["rgb"].float().cpu(), opacity)[0]  # [3,R,R]
    return image, (opacity[0] >= OPACITY_THRESHOLD).float()
