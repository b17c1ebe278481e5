"""Gaussian splats: the rasteriser against a plain loop, gradients, the 3DGS PLY layout,
a tiny fit to an analytic field."""

import math

import numpy as np
import pytest
import torch

from gina3d.assets.asset_field import FunctionField
from gina3d.assets.mesh import extract_mesh
from gina3d.assets.splat_fit import SplatFitConfig, fit_splats, init_splats
from gina3d.assets.splat_ply import PROPERTIES, read_splat_ply, write_splat_ply
from gina3d.assets.splat_raster import C0, quat_to_rotmat, rasterize
from gina3d.errors import Gina3dError

KEYS = ("means", "log_scales", "quats", "logit_opacities", "sh")


def three_gaussians():
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.5], [-0.4, 0.3, -0.6]])
    log_scales = torch.log(torch.tensor([[0.3, 0.1, 0.2], [0.2, 0.25, 0.1], [0.15, 0.4, 0.3]]))
    quats = torch.randn(3, 4, generator=g)
    quats = quats / quats.norm(dim=1, keepdim=True)
    opac = torch.tensor([0.5, 1.5, -0.5])
    sh = torch.randn(3, 3, generator=g)
    return {"means": means, "log_scales": log_scales, "quats": quats,
            "logit_opacities": opac, "sh": sh}  # fmt: skip


def camera(h=12, w=10):
    K = torch.tensor([[14.0, 0.0, w / 2], [0.0, 13.0, h / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)
    c, s = math.cos(0.3), math.sin(0.3)
    pose = torch.tensor(
        [[c, 0.0, s, 0.1], [0.0, 1.0, 0.0, -0.05], [-s, 0.0, c, 4.0], [0, 0, 0, 1.0]],
        dtype=torch.float64,
    )
    return K, pose, h, w


def brute_force(g, K, pose, h, w, bg):
    """Per pixel, per Gaussian, in plain Python loops over the same definitions."""
    R, t = pose[:3, :3], pose[:3, 3]
    items = []
    for i in range(g["means"].shape[0]):
        p = R @ g["means"][i] + t
        q = g["quats"][i] / g["quats"][i].norm()
        rot = quat_to_rotmat(q[None])[0]
        S = torch.diag(g["log_scales"][i].exp())
        sigma = rot @ S @ S @ rot.T
        x, y, z = p.tolist()
        J = torch.tensor(
            [[K[0, 0] / z, 0, -K[0, 0] * x / z**2], [0, K[1, 1] / z, -K[1, 1] * y / z**2]]
        )
        cov = J @ R @ sigma @ R.T @ J.T + 0.3 * torch.eye(2)
        uv = torch.tensor([K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]])
        col = (0.5 + C0 * g["sh"][i]).clamp_min(0)
        items.append((z, uv, torch.linalg.inv(cov), torch.sigmoid(g["logit_opacities"][i]), col))
    items.sort(key=lambda it: it[0])
    rgb, alpha = torch.zeros(3, h, w), torch.zeros(h, w)
    for r in range(h):
        for c in range(w):
            d_pix = torch.tensor([c + 0.5, r + 0.5])
            T, acc = 1.0, torch.zeros(3)
            for _, uv, inv, op, col in items:
                d = d_pix - uv
                a = min(0.99, float(op) * math.exp(-0.5 * float(d @ inv @ d)))
                if a < 1 / 255:
                    continue
                acc = acc + T * a * col
                T = T * (1 - a)
            rgb[:, r, c] = acc + T * torch.tensor(bg)
            alpha[r, c] = 1 - T
    return rgb, alpha


def test_rasterizer_matches_a_per_pixel_loop():
    g = {k: v.double() for k, v in three_gaussians().items()}
    K, pose, h, w = camera()
    bg = (0.2, 0.5, 0.9)
    out = rasterize(*(g[k] for k in KEYS), K, pose, h, w, background=bg, chunk=17)
    ref_rgb, ref_alpha = brute_force(g, K, pose, h, w, bg)
    assert out["rgb"].shape == (3, h, w) and out["alpha"].shape == (h, w)
    assert float(out["alpha"].max()) > 0.3  # the Gaussians are in view
    torch.testing.assert_close(out["rgb"].float(), ref_rgb, atol=1e-5, rtol=0)
    torch.testing.assert_close(out["alpha"].float(), ref_alpha, atol=1e-5, rtol=0)


def test_gradients_reach_every_parameter():
    g = {k: v.clone().requires_grad_(True) for k, v in three_gaussians().items()}
    K, pose, h, w = camera()
    out = rasterize(*(g[k] for k in KEYS), K.float(), pose.float(), h, w, chunk=32)
    (out["rgb"].sum() + out["alpha"].sum()).backward()
    for k in KEYS:
        assert g[k].grad is not None and torch.isfinite(g[k].grad).all(), k
        assert float(g[k].grad.abs().sum()) > 0, k


def test_rasterizer_rejects_bad_shapes():
    g = three_gaussians()
    g["quats"] = g["quats"][:, :3]
    K, pose, h, w = camera()
    with pytest.raises(Gina3dError, match="quats"):
        rasterize(*(g[k] for k in KEYS), K, pose, h, w)


def test_ply_header_order_and_round_trip(tmp_path):
    g = three_gaussians()
    path = write_splat_ply(g, tmp_path / "splats.ply")
    data = path.read_bytes()
    header = data[: data.index(b"end_header\n") + len(b"end_header\n")].decode("ascii")
    lines = header.strip().split("\n")
    assert lines[:3] == ["ply", "format binary_little_endian 1.0", "element vertex 3"]
    assert [ln.split()[2] for ln in lines[3:-1]] == list(PROPERTIES)
    assert all(ln.startswith("property float ") for ln in lines[3:-1])
    assert PROPERTIES[:10] == ("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
                               "opacity")  # fmt: skip
    assert len(data) - len(header) == 3 * 17 * 4
    row = np.frombuffer(data[len(header) :], dtype="<f4").reshape(3, 17)
    np.testing.assert_allclose(row[1, 9], 1.5)  # opacity stays a logit
    np.testing.assert_allclose(row[1, 10:13], g["log_scales"][1].numpy(), rtol=1e-6)
    back = read_splat_ply(path)
    for k in KEYS:
        np.testing.assert_allclose(back[k], g[k].numpy(), rtol=1e-6, atol=1e-6)
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nend_header\n")
    with pytest.raises(Gina3dError, match="little-endian"):
        read_splat_ply(tmp_path / "bad.ply")


def ball(points):
    """A ball of radius 0.6 m, red towards +x, blue towards -x, green on top."""
    r = points.norm(dim=-1)
    sigma = 60.0 * torch.sigmoid((0.6 - r) / 0.02)
    x, z = points[:, 0] / 0.6, points[:, 2] / 0.6
    rgb = torch.stack([0.5 + 0.4 * x, 0.3 + 0.5 * z.clamp_min(0), 0.5 - 0.4 * x], -1)
    return sigma, rgb.clamp(0, 1)


def test_a_tiny_fit_improves_psnr():
    size = [1.6, 1.6, 1.6]
    field = FunctionField(ball, size, samples=32, importance=16)
    mesh = extract_mesh(ball, None, size, resolution=20)
    cfg = SplatFitConfig(n=300, steps=40, views=4, image_size=24, eval_views=2, seed=3)
    splats, report = fit_splats(field, ball, mesh, cfg)
    assert report["psnr"] > report["psnr_init"] + 0.5
    assert report["psnr"] > 20.0
    assert splats["means"].shape == (300, 3)
    again = init_splats(mesh, ball, 50, seed=3)
    torch.testing.assert_close(again["means"], init_splats(mesh, ball, 50, seed=3)["means"])
    with pytest.raises(Gina3dError, match="Gaussians"):
        fit_splats(field, ball, mesh, SplatFitConfig(n=0))


SPLAT = ["--splats", "64", "--splat-steps", "3"]


def test_export_command_writes_splats(tmp_path, stage1_run, model, tokens, capsys):
    from gina3d.assets.asset_io import AssetContents, AssetOptions, save_asset
    from gina3d.cli.export import main as export_main

    fast = AssetOptions(views=1, image_size=16, mesh_resolution=20)
    contents = AssetContents(tokens[0], [4.6, 1.9, 1.6], "vehicle", 0)
    folder = save_asset(tmp_path / "car", model, stage1_run, contents, fast)
    assert export_main([str(folder), "--format", "splat", *SPLAT]) == 0
    assert "64 splats, held-out PSNR" in capsys.readouterr().out
    back = read_splat_ply(folder / "splats.ply")
    assert back["means"].shape == (64, 3)
    assert np.all(np.abs(back["means"]) <= np.array([2.3, 0.95, 0.8]) + 0.5)
    out = tmp_path / "out"
    assert export_main([str(folder), "--format", "splat", "--out", str(out), *SPLAT]) == 0
    assert {p.name for p in out.iterdir()} == {"car_splats.ply"}

    def fails(args, message):
        assert export_main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err

    fails([str(folder), "--format", "splats"], "unknown export format 'splats'")
    fails([str(folder), "--format", "splat", "--splats", "0"], "number of splats must be")
    fails([str(folder), "--format", "splat", "--splat-steps", "-1"], "splat steps must be")


def test_sample_with_splat_export(tmp_path, stage2_run):
    from gina3d.assets.asset_io import load_asset
    from gina3d.cli.sample import main as sample_main

    fast = ["--views", "1", "--image-size", "16", "--mesh-resolution", "16", "--quiet"]
    args = ["--run", str(stage2_run), "--n", "1", "--out", str(tmp_path), *fast]
    assert sample_main([*args, "--export", "splat", *SPLAT]) == 0
    folder = tmp_path / "asset_000"
    entry = load_asset(folder).meta["exports"]["splat"]
    assert entry["files"] == ["splats.ply"] and entry["splats"] == 64
    assert entry["bytes"] == (folder / "splats.ply").stat().st_size
    assert sample_main([*args, "--export", "splat", "--splats", "-3"]) == 2
