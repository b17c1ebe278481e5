"""The run side of gen.json's ``protocol``: what ``gina3d eval gen`` adds to the protocol
that ``evaluate_generated`` returns (real selection, cameras, shapes, sampling, classes,
dataset, settings, timings). Keys and their order are those gen.json has always had
(docs/evaluation.md, "gen.json")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch

from gina3d.evaluation.gen_data import unoccluded
from gina3d.evaluation.gen_state import GenPlan, GenRun, GenSamples, RealSet

CAMERA_DISTRIBUTION = (
    "per generated asset, the intrinsics (scaled to the render resolution) and cam_from_obj "
    "of one held-out patch of its class, drawn seeded, unoccluded patches preferred; the "
    "asset's size and time conditions come from the same patch"
)


def annotate_protocol(result: dict, models, run: GenRun, plan: GenPlan, real: RealSet) -> None:
    """Add the run side to ``result["protocol"]`` (after ``shape_protocol``)."""
    p, s = result["protocol"], run.settings
    p["images"]["real_selection"] = real_selection(run, plan, real)
    if getattr(models.stage1.field, "is_sdf", False):
        p["shapes"]["generated"]["mesh"] = (
            "assets.mesh.extract_mesh, zero level of the signed distance (rule sdf), "
            "floaters removed"
        )
    clean = unoccluded(plan.meta["occluded"], plan.meta["truncation"])
    used = np.array([j for _, j in plan.assets])
    p["images"]["cameras"] = {
        "rule": CAMERA_DISTRIBUTION,
        "num_distinct_patches": len(set(used.tolist())),
        "num_occluded_patches": int((~clean[used]).sum()),
        "intrinsics_scale": plan.scale,
    }
    p["sampling"] = sampling_protocol(models, run, plan)
    real_cls = Counter(plan.meta["cls"][real.idx].tolist())
    gen_cls = Counter(c for c, _ in plan.assets)
    p["classes"] = {
        c: {"generated": gen_cls.get(c, 0), "real": real_cls.get(c, 0)}
        for c in sorted(set(gen_cls) | set(real_cls))
    }
    for c, v in p["shapes"]["reference"]["per_class"].items():
        p["classes"].setdefault(c, {})["reference"] = v["used"]
    p["dataset"] = str(run.root.resolve())
    p["split"] = run.split
    p["network_choice"] = s.network
    p["settings"] = s.run_settings()
    p["device"] = str(run.device)
    p["threads"] = torch.get_num_threads()
    p["timing_s"] = {k: round(v, 3) for k, v in run.timing.items()}


def real_selection(run: GenRun, plan: GenPlan, real: RealSet) -> dict:
    """``protocol.images.real_selection``: how the real images were picked."""
    meta, res_patch = plan.meta, int(plan.meta["resolution"][0])
    clean = unoccluded(meta["occluded"], meta["truncation"])
    return {
        "split": run.split,
        "rule": "unoccluded patches (occluded_pixels == 0 and truncation == 0) of the generated "
        "classes; a class without any falls back to all its patches",
        "num_in_split": len(meta["cls"]),
        "num_unoccluded_in_split": int(clean.sum()),
        "num_pool": int(real.num_pool),
        "num_used": len(real.idx),
        "max_real": run.settings.max_real,
        "classes_falling_back_to_occluded": sorted(c for c, f in plan.fallback.items() if f),
        "patch_resolution": res_patch,
        "resize": "none" if res_patch == run.settings.resolution else "area down / bilinear up",
    }


def shape_protocol(
    result: dict, run: GenRun, ref_info: dict, samples: GenSamples, keep: list[int]
) -> None:
    """Add ``protocol.shapes.reference`` and ``.generated`` (protocol step 4; ``keep``: the
    assets whose mesh has faces)."""
    shapes = result["protocol"]["shapes"]
    shapes["reference"] = ref_info
    shapes["generated"] = {
        "mesh": "assets.mesh.extract_mesh, opacity rule at the class default "
        "(surface.OPACITY_BY_CLASS), floaters removed",
        "mesh_resolution": run.settings.mesh_resolution,
        "num_assets": len(samples.meshes),
        "num_empty_meshes": len(samples.meshes) - len(keep),
        "empty_meshes": "left out of cov, mmd, one_nna (no surface to sample)",
    }


def sampling_protocol(models, run: GenRun, plan: GenPlan) -> dict:
    """``protocol.sampling``: the stage-2 run, sampler settings, conditions, class mix."""
    s = run.settings
    return {
        "run": str(Path(models.run).resolve()),
        "stage1": str(models.stage1_source),
        "stage1_step": models.configs.get("stage1_step"),
        "n": s.n,
        "steps": s.steps,
        "temperature": s.temperature,
        "guidance": s.guidance,
        "asset_seeds": "SeedSequence([seed, i]) for asset i (as gina3d sample)",
        "conditions": sorted(c for c in plan.conditions if c != "image"),
        "image_condition": "never given (null embedding): generation, not reconstruction",
        "condition_source": "class, box size and time of day of the held-out patch whose "
        "camera renders the asset",
        "class_mix": {"source": plan.mix_source, "training_counts": plan.mix},
        "classes_not_in_split": plan.dropped,
    }
