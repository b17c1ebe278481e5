"""stage1_field_from_run: a stage-1 run and a token grid give the field the model decodes."""

import numpy as np
import pytest
import torch
from assets.conftest import shaped_stage1

from gina3d.assets.asset_field import Stage1Field, stage1_field_from_run
from gina3d.errors import Gina3dError


def test_field_from_run_matches_the_model_and_checks_tokens(stage1_run, tmp_path):
    model = shaped_stage1()
    g = torch.Generator().manual_seed(5)
    tokens = torch.randint(0, model.cfg.codebook_size, (model.cfg.num_tokens,), generator=g)
    size = (4.0, 2.0, 1.5)
    field = stage1_field_from_run(stage1_run, tokens, size)
    with torch.no_grad():
        direct = Stage1Field(model, model.decode_indices(tokens[None])[0], size)
    points = np.random.default_rng(0).uniform(-1.0, 1.0, (500, 3)) * np.array(size) / 2
    assert np.allclose(field.density(points), direct.density(points), rtol=1e-5, atol=1e-5)
    assert float(field.density(points).max()) > 0  # not an empty box
    with pytest.raises(Gina3dError):
        stage1_field_from_run(stage1_run, tokens[:-1], size)  # wrong token count
    with pytest.raises(Gina3dError, match="no checkpoint|no such"):
        stage1_field_from_run(tmp_path, tokens, size)
