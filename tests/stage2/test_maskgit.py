"""The MaskGIT transformer: shapes, conditions and their null embeddings, guidance, dropout."""

import pytest
import torch

from gina3d.models.maskgit import Conditions, MaskGITConfig, guided_logits
from gina3d.training.stage2 import Stage2LossConfig, drop_conditions, view_camera


def _cond(b: int) -> Conditions:
    g = torch.Generator().manual_seed(0)
    return Conditions(
        class_idx=torch.tensor([0, 1, 2, 0])[:b],
        size=torch.tensor([[4.6, 1.9, 1.6], [0.6, 0.6, 1.8], [1.8, 0.6, 1.7], [10.0, 2.5, 3.5]])[
            :b
        ],
        time_idx=torch.tensor([0, 2, 1, 0])[:b],
        image=torch.rand(b, 3, 16, 16, generator=g),
    )


def _tokens(b: int, seed: int = 0) -> torch.Tensor:
    t = torch.randint(0, 17, (b, 48), generator=torch.Generator().manual_seed(seed))
    return t  # includes the mask id 16


def test_shapes_and_every_condition_changes_the_logits(tiny_maskgit):
    model = tiny_maskgit()
    assert model.cfg.enabled == ("class", "size", "time", "image")
    tokens, cond = _tokens(4), _cond(4)
    full = model(tokens, cond)
    assert full.shape == (4, 48, 16) and full.dtype == torch.float32
    null = model(tokens, None)
    assert not torch.allclose(full, null)
    for name in ("class", "size", "time", "image"):
        keep = {name: torch.zeros(4, dtype=torch.bool)}
        dropped = model(tokens, Conditions(**{**cond.__dict__, "keep": keep}))
        assert not torch.allclose(dropped, full), name
    # all dropped == no conditions at all
    keep = {n: torch.zeros(4, dtype=torch.bool) for n in ("class", "size", "time", "image")}
    assert torch.allclose(model(tokens, Conditions(**{**cond.__dict__, "keep": keep})), null)
    # rows are independent: dropping row 0 only leaves rows 1.. unchanged
    keep = {"class": torch.tensor([False, True, True, True])}
    part = model(tokens, Conditions(**{**cond.__dict__, "keep": keep}))
    assert torch.allclose(part[1:], full[1:], atol=1e-6) and not torch.allclose(part[0], full[0])
    with pytest.raises(ValueError):
        model(tokens[:, :40], cond)


def test_negative_class_and_nonpositive_size_are_null(tiny_maskgit):
    model = tiny_maskgit()
    tokens = _tokens(2)
    a = model(tokens, Conditions(class_idx=torch.tensor([-1, -1])))
    assert torch.allclose(a, model(tokens, None))
    b = model(tokens, Conditions(size=torch.tensor([[0.0, 1, 1], [-1.0, 1, 1]])))
    assert torch.allclose(b, model(tokens, None))


def test_switched_off_conditions_have_no_tokens(tiny_maskgit):
    model = tiny_maskgit(use_class=False, use_size=False, use_time=False, use_image=False)
    assert model.cfg.enabled == ()
    tokens, cond = _tokens(2), _cond(2)
    assert torch.allclose(model(tokens, cond), model(tokens, None))
    assert not hasattr(model, "class_emb") and "class" not in model.null


def test_token_position_embeddings_follow_the_plane_major_layout(tiny_maskgit):
    from gina3d.models.transformer import sincos_2d

    model = tiny_maskgit()
    h, d = model.cfg.plane_tokens, model.cfg.width
    pos = model.plane_pos().view(3, h, h, d)  # token p*h*w + i*w + j -> [p, i, j]
    code = sincos_2d(h, h, d).view(h, h, d)  # fixed code of (row i, column j)
    for p in range(3):
        expect = model.plane_pos.plane[p, 0] + code  # [h,w,D]
        assert torch.allclose(pos[p], expect, atol=1e-6)
    assert model.grid_pos.shape == (1, 1, h * h, d)  # one learned 2-D code for all planes


def test_guidance_zero_and_one(tiny_maskgit):
    model = tiny_maskgit()
    tokens, cond = _tokens(3), _cond(3)
    assert torch.allclose(guided_logits(model, tokens, cond, 0.0), model(tokens, None))
    assert torch.allclose(guided_logits(model, tokens, cond, 1.0), model(tokens, cond))
    # the batched (conditional, null) pass computes the same combination
    s = 3.0
    u, c = model(tokens, None), model(tokens, cond)
    assert torch.allclose(guided_logits(model, tokens, cond, s), u + s * (c - u), atol=1e-4)
    assert torch.allclose(guided_logits(model, tokens, cond, 0.5), u + 0.5 * (c - u), atol=1e-4)


def test_condition_dropout_rates():
    cfg = Stage2LossConfig(cond_dropout=0.3, image_dropout=0.6, cond_dropout_all=0.2)
    b = 20000
    out = drop_conditions(_cond(1), b, cfg, torch.Generator().manual_seed(0))
    kept = {k: v.float().mean().item() for k, v in out.keep.items()}
    assert kept["class"] == pytest.approx(0.8 * 0.7, abs=0.02)
    assert kept["image"] == pytest.approx(0.8 * 0.4, abs=0.02)
    none = ~torch.stack(list(out.keep.values())).any(0)
    assert none.float().mean().item() == pytest.approx(0.2 + 0.8 * 0.3**3 * 0.6, abs=0.02)
    again = drop_conditions(_cond(1), b, cfg, torch.Generator().manual_seed(0))
    assert all(torch.equal(out.keep[k], again.keep[k]) for k in out.keep)


def test_config_validation():
    with pytest.raises(ValueError, match="heads"):
        MaskGITConfig(width=30, heads=4).validate()
    with pytest.raises(ValueError, match="image_size"):
        MaskGITConfig(image_size=20).validate()
    assert MaskGITConfig(plane_tokens=8).num_tokens == 192


def test_view_camera_sees_the_box_centre_in_the_middle():
    size = torch.tensor([[4.6, 1.9, 1.6], [0.6, 0.6, 1.8]])
    for az in (0.0, 35.0, 90.0):
        K, pose = view_camera(size, az, 15.0, 32)
        centre = pose[:, :3, 3]  # the object origin in camera coordinates
        assert torch.allclose(centre[:, :2], torch.zeros(2, 2), atol=1e-5)
        assert (centre[:, 2] > 0).all() and torch.allclose(K[:, :2, 2], torch.full((2, 2), 16.0))
        rot = pose[:, :3, :3]
        assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(2, 3, 3), atol=1e-5)
    _, pose = view_camera(size, 0.0, 0.0, 32)
    # front view: the object's +x axis points at the camera (-z in camera coordinates)
    assert torch.allclose(pose[0, :3, 0], torch.tensor([0.0, 0.0, -1.0]), atol=1e-6)
    # object up (+z) is image up (-y in OpenCV)
    assert torch.allclose(pose[0, :3, 2], torch.tensor([0.0, -1.0, 0.0]), atol=1e-6)


def test_token_split_works_on_cells_but_predicts_every_token(tiny_maskgit):
    """plane_tokens 4 in 2 x 2 cells: 12 transformer positions, logits for all 48 tokens."""
    model = tiny_maskgit(token_split=2)
    assert model.grid_pos.shape[2] == 4 and model.merge is not None
    tokens, cond = _tokens(2), _cond(2)
    logits = model(tokens, cond)
    assert logits.shape == (2, 48, 16)
    # changing one token changes the logits of its cell's tokens (it is their input)
    other = tokens.clone()
    other[:, 0] = (other[:, 0] + 1) % 16
    diff = (model(other, cond) - logits).detach().abs().amax(dim=(0, 2))  # [T]
    assert float(diff[[0, 1, 4, 5]].min()) > 0
    with pytest.raises(ValueError, match="token_split"):
        MaskGITConfig(plane_tokens=4, token_split=3).validate()


@pytest.mark.parametrize("split", [1, 2])
def test_embeddings_and_masked_logits_equal_the_plain_formulas(tiny_maskgit, split):
    """Cell inputs from per-place tables = merge(concat(embeddings)); masked_logits = the
    masked rows of forward, with gradients to every parameter the same."""
    from gina3d.models.token_grid import group_tokens, token_cells

    model = tiny_maskgit(token_split=split)
    tokens, cond = _tokens(3, seed=1)[:, :48], _cond(3)
    plain = model.token(tokens)
    if split > 1:
        plain = model.merge(group_tokens(plain, split))
    assert torch.allclose(model.embed_tokens(tokens), plain, atol=1e-6)
    mask = torch.rand(3, 48, generator=torch.Generator().manual_seed(2)) < 0.6
    logits, where = model.masked_logits(tokens, cond, mask)
    full = model(tokens, cond)  # [B,T,K]
    assert sorted(where.tolist()) == mask.flatten().nonzero()[:, 0].tolist()
    assert torch.allclose(logits, full.reshape(-1, full.shape[-1])[where], atol=1e-5)
    g1 = torch.autograd.grad(logits.square().sum(), list(model.parameters()), allow_unused=True)
    g2 = torch.autograd.grad(full[mask].square().sum(), list(model.parameters()), allow_unused=True)
    for a, b in zip(g1, g2):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    cell, place = token_cells(4, split)  # group_tokens puts token t at (cell, place)
    x = torch.arange(48.0)[None, :, None]
    grouped = group_tokens(x, split)  # [1,Q,s*s]
    assert torch.equal(grouped[0, cell, place], x[0, :, 0])


def test_cpu_bf16_switch(tiny_maskgit, monkeypatch):
    """bf16 autocast runs the blocks in bf16 where the CPU has it, and nowhere else; the
    logits stay fp32 and close to the fp32 model's."""
    import gina3d.models.transformer as tr
    from gina3d.training.distributed import DistInfo
    from gina3d.training.stage2 import Stage2Task
    from gina3d.training.stage2_presets import stage2_preset

    model = tiny_maskgit()
    tokens, cond = _tokens(2), _cond(2)
    seen = []
    hook = model.blocks[0].mlp[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    fp32 = model(tokens, cond)
    monkeypatch.setattr(tr, "cpu_bf16_native", lambda: True)
    assert tr.use_cpu_bf16(model, True) and model.cpu_bf16
    bf16 = model(tokens, cond)
    assert seen == [torch.float32, torch.bfloat16] and bf16.dtype == torch.float32
    assert torch.allclose(bf16, fp32, atol=0.1)
    monkeypatch.setattr(tr, "cpu_bf16_native", lambda: False)
    assert not tr.use_cpu_bf16(model, True) and not model.cpu_bf16
    hook.remove()
    cfg = stage2_preset("tiny")
    assert not cfg.train.cpu_bf16 and stage2_preset("cpu").train.cpu_bf16
    cfg.train.cpu_bf16 = True
    monkeypatch.setattr(tr, "cpu_bf16_native", lambda: True)
    assert Stage2Task(cfg, DistInfo(device=torch.device("cpu"))).model.cpu_bf16
