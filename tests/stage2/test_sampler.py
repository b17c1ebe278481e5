"""The sampling API on an untrained model: seeds, conditions, validation, variations."""

import numpy as np
import pytest
import torch

from gina3d.errors import Gina3dError
from gina3d.generation.sampler import make_conditions, sample_token_grids, variations

COND = {"class_name": "vehicle", "size": (4.6, 1.9, 1.6), "time": "night"}


def test_seeds_give_the_same_or_different_grids(tiny_maskgit):
    model = tiny_maskgit()
    a = sample_token_grids(model, 4, seed=0, conditions=COND, steps=4)
    b = sample_token_grids(model, 4, seed=0, conditions=COND, steps=4)
    c = sample_token_grids(model, 4, seed=1, conditions=COND, steps=4)
    assert a.shape == (4, 48) and a.dtype == torch.long
    assert a.min() >= 0 and a.max() < 16  # never the mask id
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len({tuple(r) for r in a.tolist()}) == 4  # the rows differ


def test_condition_paths_reach_the_model(tiny_maskgit):
    model = tiny_maskgit()
    image = np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8)
    seen = []
    forward = model.forward
    model.forward = lambda tokens, cond=None: (
        seen.append((tokens.shape, cond)) or forward(tokens, cond)
    )
    out = sample_token_grids(model, 2, conditions={**COND, "image": image}, steps=2)
    assert out.shape == (2, 48) and len(seen) == 2
    shape, cond = seen[0]
    assert shape == (4, 48)  # conditional and null rows in one batch (guidance 2)
    assert cond.class_idx.tolist() == [0, 0, 0, 0] and cond.time_idx.tolist() == [2] * 4
    assert torch.allclose(cond.size[0], torch.tensor([4.6, 1.9, 1.6]))
    assert cond.image.shape == (4, 3, 16, 16) and 0 <= cond.image.min() <= cond.image.max() <= 1
    assert all(v.tolist() == [True, True, False, False] for v in cond.keep.values())
    seen.clear()
    sample_token_grids(model, 2, conditions={"image": torch.rand(3, 20, 20)}, steps=1, guidance=1)
    shape, cond = seen[0]
    assert shape == (2, 48) and cond.class_idx is None and cond.image.shape == (2, 3, 16, 16)
    seen.clear()
    sample_token_grids(model, 2, steps=1)
    assert seen[0][1] is None  # no conditions: one unconditional pass


def test_guidance_zero_is_unconditional(tiny_maskgit):
    model = tiny_maskgit()
    g0 = sample_token_grids(model, 2, seed=4, conditions=COND, steps=3, guidance=0.0)
    assert torch.equal(g0, sample_token_grids(model, 2, seed=4, steps=3))
    greedy = sample_token_grids(model, 2, seed=0, steps=3, temperature=0.0, top_k=3)
    assert greedy.shape == (2, 48)


@pytest.mark.parametrize(
    "conditions, message",
    [
        ({"class_name": "truck"}, "unknown class 'truck' (classes: vehicle, pedestrian, cyclist)"),
        ({"time": "noon"}, "times: day, dusk, night"),
        ({"size": (4.6, -1.9, 1.6)}, "three positive box dimensions"),
        ({"size": (4.6, 1.9)}, "three positive"),
        ({"size": (0.0, 1.0, 1.0)}, "positive"),
        ({"colour": "red"}, "unknown condition 'colour'"),
        ({"image": np.zeros((8, 8))}, "image"),
    ],
)
def test_bad_conditions(conditions, message, tiny_maskgit):
    model = tiny_maskgit()
    with pytest.raises(Gina3dError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sample_token_grids(model, 1, conditions=conditions, steps=1)


def test_condition_the_model_never_saw_is_refused(tiny_maskgit):
    model = tiny_maskgit(use_size=False)
    with pytest.raises(Gina3dError, match="without the 'size' condition"):
        make_conditions(model, 1, {"size": (1.0, 1.0, 1.0)})
    assert make_conditions(model, 1, {"size": None}) is None
    with pytest.raises(Gina3dError, match="steps"):
        sample_token_grids(model, 1, steps=0)


def test_variations_strength(tiny_maskgit):
    model = tiny_maskgit()
    source = sample_token_grids(model, 1, seed=3, steps=3)[0]
    same = variations(model, source, n=3, strength=0.0, seed=0, steps=3)
    assert torch.equal(same, source.expand(3, -1))
    full = variations(model, source, n=3, strength=1.0, seed=0, steps=3)
    fresh = sample_token_grids(model, 3, seed=0, steps=3)
    assert full.shape == (3, 48) and (full < 16).all()
    # strength 1 masks every token: the source no longer matters (same draw as sampling)
    assert torch.equal(full, variations(model, fresh[0], n=3, strength=1.0, seed=0, steps=3))
    part = variations(model, source, n=4, strength=0.25, seed=0, conditions=COND, steps=3)
    changed_at_most = (part != source).sum(1)
    assert (changed_at_most <= 12).all()
    again = variations(model, source, n=4, strength=0.25, seed=0, conditions=COND, steps=3)
    assert torch.equal(part, again)
    with pytest.raises(Gina3dError, match="strength"):
        variations(model, source, n=1, strength=1.5)
    with pytest.raises(Gina3dError, match="tokens"):
        variations(model, source[:10], n=1, strength=0.5)
