"""evaluate_reconstruction with a fake model whose answers are known."""

import math
import shutil

import pytest
from boxworld import BoxWorldSource

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig
from gina3d.evaluation.recon import evaluate_reconstruction

KEYS = {
    "num_patches",
    "psnr_visible",
    "ssim_visible",
    "lidar_depth_abs_rel",
    "codebook_perplexity",
    "codebook_usage",
    "amodal_iou_input",
    "amodal_iou_input_all",
    "amodal_iou_novel",
    "amodal_iou_novel_per_view",
    "rfid",
    "rfid_half",
    "rfid_floor",
    "per_class",
    "protocol",
}


def test_known_answers_on_box_world(box_dataset, fake_model):
    model = fake_model(offset=0.1)
    out = evaluate_reconstruction(model, box_dataset, split=None, batch_size=4, progress=False)
    n = len(PatchDataset(box_dataset, split=None))
    assert set(out) == KEYS
    assert out["num_patches"] == n >= 6
    p = out["protocol"]
    assert p["num_evaluated"] == n and p["sampling"] == "all" and p["resolution"] == 32
    assert p["views_deg"] == [90.0, 180.0, 270.0]
    assert p["num_occluded"] > 0 and set(p["skipped"]) == {"rfid"}  # no network given
    assert p["model"]["class"] == "FakeStage1" and p["model"]["codebook_size"] == 8
    # rendered rgb = input + 0.1 everywhere: MSE 0.01 on object pixels
    assert out["psnr_visible"] == pytest.approx(20.0, abs=1e-3)
    per = out["per_class"]
    assert set(per) == {"vehicle", "pedestrian"}
    assert sum(c["num_patches"] for c in per.values()) == n
    for c in per.values():
        assert c["psnr_visible"] == pytest.approx(20.0, abs=1e-3)
        assert c["amodal_iou_novel"] > 0.9
    assert 0.3 < out["ssim_visible"] < 1.0
    # the fake renders exactly the box: silhouettes agree up to edge pixels
    assert out["amodal_iou_input"] > 0.9 and out["amodal_iou_input_all"] > 0.9
    assert out["amodal_iou_novel"] > 0.9
    assert set(out["amodal_iou_novel_per_view"]) == {"90", "180", "270"}
    assert out["lidar_depth_abs_rel"] < 0.05 and p["lidar_pixels"] > 0
    # codes arange(6) % 4 in every patch: counts 2:2:1:1 of K = 8
    probs = [2 / 6, 2 / 6, 1 / 6, 1 / 6]
    assert out["codebook_perplexity"] == pytest.approx(
        math.exp(-sum(q * math.log(q) for q in probs))
    )
    assert out["codebook_usage"] == 0.5


def test_exact_model_and_determinism(box_dataset, fake_model):
    kw = dict(split=None, views=(), progress=False)
    a = evaluate_reconstruction(fake_model(offset=0.0), box_dataset, batch_size=3, **kw)
    b = evaluate_reconstruction(fake_model(offset=0.0), box_dataset, batch_size=5, **kw)
    assert a == b
    assert a["psnr_visible"] == 100.0 and a["ssim_visible"] == pytest.approx(1.0)
    assert a["amodal_iou_novel"] is None and "amodal_iou_novel" in a["protocol"]["skipped"]


def test_subset_and_no_meshes(box_dataset, fake_model, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(box_dataset, copy, ignore=shutil.ignore_patterns("meshes"))
    model = fake_model()
    out = evaluate_reconstruction(model, copy, split="train", max_patches=3, seed=1, progress=False)
    again = evaluate_reconstruction(
        model, copy, split="train", max_patches=3, seed=1, progress=False
    )
    assert out == again
    p = out["protocol"]
    assert out["num_patches"] == 3 and p["sampling"] == "random subset" and p["seed"] == 1
    assert out["amodal_iou_novel"] is None and "meshes" in p["skipped"]["amodal_iou_novel"]
    assert out["amodal_iou_input_all"] > 0.9


class NoAmodalSource(BoxWorldSource):
    """Box world as a non-synthetic source would deliver it: no amodal masks, no meshes."""

    name = "noamodal"

    def frames(self, scene_id):
        frames = super().frames(scene_id)
        for f in frames:
            f.amodal = None
        return frames


def test_dataset_without_amodal_masks_skips_amodal_metrics(tmp_path, fake_model):
    cfg = BuildConfig(
        patches=PatchConfig(resolution=16),
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
        workers=1,
    )
    build_dataset(NoAmodalSource(3), tmp_path / "ds", cfg, seed=0)
    out = evaluate_reconstruction(fake_model(), tmp_path / "ds", split=None, progress=False)
    assert out["amodal_iou_input"] is None and out["amodal_iou_input_all"] is None
    assert out["amodal_iou_novel"] is None and out["amodal_iou_novel_per_view"] is None
    skipped = out["protocol"]["skipped"]
    assert "amodal masks" in skipped["amodal_iou_input"] and "meshes" in skipped["amodal_iou_novel"]
    assert out["psnr_visible"] == 100.0 and out["codebook_usage"] == 0.5


def test_heldout_views_known_answers(tmp_path):
    """On a box world whose objects turn between frames: a model that paints the source's
    mean object colour scores exactly the mean-colour floor; pairs, angles and per-class
    counts follow the tracks; the real model path (meshes, Chamfer) runs."""
    from types import SimpleNamespace

    import torch
    from boxworld import TrackedBoxWorld

    from gina3d.data.build import BuildConfig, build_dataset
    from gina3d.data.filters import FilterConfig
    from gina3d.data.patches import PatchConfig
    from gina3d.evaluation.heldout_views import evaluate_heldout_views, track_pairs

    cfg = BuildConfig(
        patches=PatchConfig(resolution=24),
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
        workers=1,
        split_fractions=(1.0, 0.0, 0.0),
    )
    build_dataset(TrackedBoxWorld(4, frames=3, turn_deg=20.0), tmp_path, cfg, seed=0)

    class Spy(PatchDataset):  # remembers the last item read: the source, at encoding time
        def __getitem__(self, i):
            self.last = super().__getitem__(i)
            return self.last

    ds = Spy(tmp_path, split="train")
    pairs = track_pairs(ds, max_targets=8, max_gap_s=2.0)
    assert len(pairs) == 6 and all(len(t) == 2 for _, t in pairs)
    assert all(ds.record(s).frame_index == 0 for s, _ in pairs)

    class MeanColour(torch.nn.Module):
        """Paints the source's mean object colour everywhere."""

        def forward(self, rgb, dirs, origins, box):
            obj = ds.last["object_mask"] > 0.5
            return ds.last["rgb"][:, obj].mean(1)[None], SimpleNamespace()

        def render_image(self, tri, K, cam, box, h, w):
            return {"rgb": tri.view(-1, 3, 1, 1).expand(K.shape[0], 3, h, w)}

    model = MeanColour()
    out = evaluate_heldout_views(model, ds, torch.device("cpu"), shape=False, progress=False)
    assert out["psnr_heldout_view"] == pytest.approx(out["psnr_heldout_mean_colour"], abs=1e-6)
    assert out["per_class"]["vehicle"]["num_objects"] == 4
    assert out["per_class"]["pedestrian"]["num_objects"] == 2
    assert out["chamfer_gt"] is None and "skipped" in out["protocol"]["shape"]
    bins = out["psnr_heldout_view_by_angle"]
    assert bins["10-30"]["pairs"] + bins["30-180"]["pairs"] == out["protocol"]["num_pairs"] == 12
    assert out["protocol"]["view_angle_deg"]["p50"] == pytest.approx(30.0, abs=10.0)


def test_exposure_gain_undoes_a_brightness_change():
    import torch

    from gina3d.evaluation.heldout_views import exposure_gains

    target = torch.rand(2, 3, 8, 8) * 0.5
    mask = torch.ones(2, 8, 8, dtype=torch.bool)
    pred = target / torch.tensor([1.5, 0.8]).view(2, 1, 1, 1)
    g = exposure_gains(pred, target, mask)
    torch.testing.assert_close(g.flatten(), torch.tensor([1.5, 0.8]))
    assert float(exposure_gains(pred * 0 + 1e-3, target, mask).max()) == 2.0  # clamped
    assert float(exposure_gains(pred, target, mask & False).min()) == 1.0  # empty mask


def test_rfid_known_answers_and_masking(box_dataset, fake_model):
    """An exact model (up to the box-edge pixels its rays miss) scores an rfid near 0 and
    a lower rfid_half; an offset model scores above both; both sides are masked
    alike (pixels outside the object are grey on both)."""
    import torch

    from gina3d.evaluation.features import random_feature_network
    from gina3d.evaluation.recon_fid import GREY, masked_pair

    net = random_feature_network(seed=0, dim=16)
    kw = dict(split=None, views=(), progress=False, network=net)
    exact = evaluate_reconstruction(fake_model(offset=0.0), box_dataset, **kw)
    off = evaluate_reconstruction(fake_model(offset=0.3), box_dataset, **kw)
    assert exact["rfid"] < 0.05 * off["rfid"]
    assert exact["rfid_half"] < off["rfid_half"]
    assert exact["rfid_floor"] > 0 and "rfid" not in exact["protocol"]["skipped"]
    assert exact["protocol"]["rfid"]["feature_network"]["name"] == net.name
    assert off["rfid"] > 1e-3 and off["rfid_half"] > off["rfid_floor"]
    none = evaluate_reconstruction(fake_model(offset=0.3), box_dataset, split=None, views=(),
                                   progress=False)  # fmt: skip
    assert none["rfid"] is None and "rfid" in none["protocol"]["skipped"]
    # masking: a render that differs only outside the object pixels gives identical images
    rgb = torch.rand(2, 3, 8, 8)
    obj = torch.zeros(2, 8, 8, dtype=torch.bool)
    obj[:, 2:6, 2:6] = True
    fake, real = masked_pair(torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8), rgb, obj)
    assert torch.equal(fake[:, :, ~obj[0]], real[:, :, ~obj[0]])
    assert bool((real[:, :, ~obj[0]] == GREY).all())
