"""Stage-1 model: shapes through encode / quantise / decode / render, configs, discriminator."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from gina3d.models.config import ModelConfig, tiny_model_config
from gina3d.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from gina3d.models.stage1 import Stage1Model, image_rays, intrinsics_matrix


def _pose(distance=8.0):
    """cam_from_obj: camera on the object's -x axis looking along +x (OpenCV axes)."""
    pose = torch.eye(4)
    pose[:3, :3] = torch.tensor([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])
    pose[2, 3] = distance
    return pose


def test_shapes_through_the_model():
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    model = Stage1Model(cfg)
    b, t = 2, cfg.num_tokens
    rgb = torch.rand(b, 3, 16, 16)
    dirs = F.normalize(torch.randn(b, 16, 16, 3), dim=-1)
    origin = torch.tensor([-8.0, 0.0, 0.0]).expand(b, 16, 16, 3)
    box = torch.tensor([[4.0, 2.0, 1.5]] * b)
    z = model.encode(rgb, dirs, origin, box)
    assert z.shape == (b, t, cfg.code_dim)
    vq = model.quantize(z)
    assert vq.indices.shape == (b, t) and vq.indices.dtype == torch.long
    assert vq.loss.dim() == 0 and vq.perplexity.dim() == 0 and vq.usage.dim() == 0
    tri = model.decode(vq.z_q)
    r, f = cfg.plane_resolution, cfg.plane_features
    assert tri.shape == (b, 3, f, r, r)
    assert torch.allclose(model.decode_indices(vq.indices), tri, atol=1e-5)
    tri2, vq2 = model(rgb, dirs, origin, box)
    assert tri2.shape == tri.shape and vq2.indices.shape == (b, t)
    o = torch.tensor([-8.0, 0.0, 0.0]).expand(b, 5, 3)
    d = F.normalize(torch.randn(b, 5, 3) * 0.05 + torch.tensor([1.0, 0, 0]), dim=-1)
    out = model.render_rays(tri, o, d, box, torch.Generator().manual_seed(0))
    assert out["rgb"].shape == (b, 5, 3) and out["opacity"].shape == (b, 5)
    assert out["depth"].shape == (b, 5) and set(out) == {"rgb", "opacity", "depth"}
    op = out["opacity"].detach()
    assert float(op.min()) >= 0 and float(op.max()) <= 1


def test_encoder_needs_rays_only_with_the_ray_embedding_and_geometric_attention():
    cfg = tiny_model_config(16)
    dirs = F.normalize(torch.randn(1, 16, 16, 3), dim=-1)
    with pytest.raises(ValueError, match="ray_direction"):
        Stage1Model(cfg).encode(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="ray_origin"):
        Stage1Model(cfg).encode(torch.rand(1, 3, 16, 16), dirs)
    no_geo = Stage1Model(replace(cfg, geometric_attention=False))
    assert no_geo.encode(torch.rand(1, 3, 16, 16), dirs).shape[1] == cfg.num_tokens
    plain = Stage1Model(replace(cfg, use_ray_embedding=False, geometric_attention=False))
    assert plain.encode(torch.rand(1, 3, 16, 16)).shape == (1, cfg.num_tokens, cfg.code_dim)


def test_render_image_matches_render_rays_and_centres_the_box():
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    model = Stage1Model(cfg).eval()
    tri = torch.randn(1, 3, cfg.plane_features, cfg.plane_resolution, cfg.plane_resolution)
    K = intrinsics_matrix(torch.tensor([[20.0, 20.0, 6.0, 6.0]]))
    pose, box = _pose()[None], torch.tensor([[4.0, 2.0, 1.5]])
    with torch.no_grad():
        img = model.render_image(tri, K, pose, box, 12, 12, chunk=50)
        o, d = image_rays(K, pose, 12, 12)
        rays = model.render_rays(tri, o, d, box, None, perturb=False)
    assert img["rgb"].shape == (1, 3, 12, 12) and img["opacity"].shape == (1, 12, 12)
    assert torch.allclose(img["rgb"], rays["rgb"].view(1, 12, 12, 3).permute(0, 3, 1, 2))
    assert torch.allclose(img["depth"], rays["depth"].view(1, 12, 12))
    assert torch.allclose(o[0, 0], torch.tensor([-8.0, 0.0, 0.0]), atol=1e-6)
    centre = d.view(12, 12, 3)[5:7, 5:7].mean(dim=(0, 1))
    assert torch.allclose(F.normalize(centre, dim=0), torch.tensor([1.0, 0, 0]), atol=1e-3)
    # image column grows with -y of the object (camera x = -object y), rows with -z
    assert float(d[0, 0, 1]) > 0 and float(d[0, 0, 2]) > 0  # top-left pixel: +y, +z
    hit = img["opacity"][0] > 0
    assert bool(hit[5:7, 5:7].all()) and not bool(hit[0, 0])  # 2x1.5 m box at 6 m


def test_config_validation():
    ModelConfig().validate()
    for size in (16, 24, 32):
        tiny_model_config(size).validate()
    with pytest.raises(ValueError, match="patch_size"):
        ModelConfig(image_size=60, patch_size=8).validate()
    with pytest.raises(ValueError, match="plane_resolution"):
        ModelConfig(plane_resolution=24).validate()
    with pytest.raises(ValueError, match="heads"):
        ModelConfig(width=130).validate()
    with pytest.raises(ValueError, match="ema_decay"):
        ModelConfig(ema_decay=1.0).validate()
    with pytest.raises(ValueError, match="samples_stratified"):
        ModelConfig(samples_stratified=0).validate()


def test_patch_discriminator_shapes():
    disc = PatchDiscriminator()
    assert disc(torch.rand(2, 3, 32, 32)).shape == (2, 1, 8, 8)
    masked = PatchDiscriminator(DiscriminatorConfig(mask_channel=True, downsamples=3))
    assert masked(torch.rand(2, 4, 32, 32)).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="channels"):
        masked(torch.rand(2, 3, 32, 32))
