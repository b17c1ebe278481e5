"""gina3d sample / reconstruct / edit on the tiny runs."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from gina3d.assets.asset_io import load_asset
from gina3d.cli.edit import main as edit_main
from gina3d.cli.reconstruct import main as recon_main
from gina3d.cli.sample import asset_seed
from gina3d.cli.sample import main as sample_main
from gina3d.data.dataset import PatchDataset
from gina3d.data.shards import read_columns
from gina3d.generation.sampler import load_stage2, sample_token_grids

FAST = ["--views", "2", "--image-size", "16", "--mesh-resolution", "16", "--quiet"]


@pytest.fixture(scope="module")
def sampled(tmp_path_factory, stage2_run):
    out = tmp_path_factory.mktemp("sampled")
    args = ["--run", str(stage2_run), "--n", "3", "--seed", "4", "--class", "vehicle"]
    assert sample_main([*args, "--out", str(out), "--threads", "1", *FAST]) == 0
    return out


def test_sample_writes_assets_and_summary(sampled, stage2_run, box_data):
    summary = json.loads((sampled / "samples.json").read_text())
    assert [r["dir"] for r in summary["assets"]] == ["asset_000", "asset_001", "asset_002"]
    assert summary["token_hamming"]["pairs"] == 3 and summary["token_hamming"]["mean"] > 0
    assert summary["size_conditioned"] is True
    table = read_columns(box_data, ["cls", "box_size"], split="train").to_pydict()
    train_sizes = np.array([s for c, s in zip(table["cls"], table["box_size"]) if c == "vehicle"])
    model, _, _ = load_stage2(stage2_run)
    for i in range(3):
        asset = load_asset(sampled / f"asset_{i:03d}")
        assert asset.class_name == "vehicle" and asset.seed == asset_seed(4, i)
        assert np.abs(train_sizes - asset.size_m).max(axis=1).min() < 1e-3  # a training size
        assert asset.conditions == {"class_name": "vehicle", "size": asset.size_m.tolist()}
        again = sample_token_grids(model, 1, asset.seed, asset.conditions)[0]
        assert again.equal(asset.tokens)  # reproducible from asset.json alone
        assert asset.meta["extra"]["batch"] == {"seed": 4, "index": i}


def test_sample_same_seed_same_assets_and_given_size(tmp_path, sampled, stage2_run, capsys):
    args = ["--run", str(stage2_run), "--n", "2", "--seed", "4", "--class", "vehicle"]
    assert sample_main([*args, "--out", str(tmp_path / "b"), *FAST]) == 0
    for i in range(2):
        a, b = (load_asset(d / f"asset_{i:03d}") for d in (sampled, tmp_path / "b"))
        assert a.tokens.equal(b.tokens) and np.allclose(a.size_m, b.size_m)
    assert "mean pairwise token Hamming" in capsys.readouterr().out
    args = ["--run", str(stage2_run), "--n", "1", "--size", "3,2,1", "--time", "night"]
    assert sample_main([*args, "--out", str(tmp_path / "c"), "--mesh-format", "obj", *FAST]) == 0
    asset = load_asset(tmp_path / "c" / "asset_000")
    assert asset.size_m.tolist() == [3.0, 2.0, 1.0] and asset.mesh_path.name == "mesh.obj"
    assert asset.conditions == {"time": "night", "size": [3.0, 2.0, 1.0]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--class", "truck"], "unknown class 'truck'"),
        (["--size", "4,-1,1"], "positive lengths"),
        (["--time", "noon"], "unknown time of day"),
        (["--n", "0"], "--n must be"),
        (["--n", "100000000"], "--n must be from 1 to 10000"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--guidance", "-5"], "--guidance must be >= 0"),
        (["--steps", "-5"], "--steps must be >= 1"),
        (["--size", "-1,2,3"], "positive lengths"),
        (["--mesh-format", "fbx"], "unknown mesh format"),
        (["--out", "FILE/o"], "is a file, not a directory"),
    ],
)
def test_sample_bad_input(tmp_path, stage2_run, capsys, extra, message):
    (tmp_path / "FILE").write_text("x")
    extra = [str(tmp_path / e) if e == "FILE/o" else e for e in extra]
    args = ["--run", str(stage2_run), "--out", str(tmp_path / "o"), *FAST, *extra]
    assert sample_main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() and (tmp_path / "FILE").read_text() == "x"


def test_sample_needs_a_stage2_run(tmp_path, stage1_run, capsys):
    assert sample_main(["--run", str(stage1_run), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert "needs a stage-2 run" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert sample_main(["--run", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no checkpoint yet" in capsys.readouterr().err


def test_reconstruct_patch_and_image(tmp_path, stage1_run, box_data, capsys):
    out = tmp_path / "r"
    assert recon_main(["--run", str(stage1_run), "train:0", "--out", str(out), *FAST]) == 0
    rec = PatchDataset(box_data, split="train").record(0)
    asset = load_asset(out / "recon")
    assert asset.class_name == rec.cls and np.allclose(asset.size_m, rec.box_size)
    assert asset.meta["extra"]["source"]["patch_id"] == rec.patch_id
    # the same patch by its id gives the same tokens
    assert (
        recon_main(["--run", str(stage1_run), rec.patch_id, "--out", str(tmp_path / "r2"), *FAST])
        == 0
    )
    assert load_asset(tmp_path / "r2" / "recon").tokens.equal(asset.tokens)
    image = tmp_path / "car.png"
    Image.fromarray(np.pad(rec.rgb, ((4, 4), (0, 0), (0, 0)))).save(image)
    args = [
        "--run",
        str(stage1_run),
        str(image),
        "--out",
        str(tmp_path / "i"),
        "--class",
        "pedestrian",
        *FAST,
    ]
    assert recon_main(args) == 0
    img = load_asset(tmp_path / "i" / "recon")
    assert img.class_name == "pedestrian" and img.meta["extra"]["source"]["kind"] == "image"
    assert recon_main(["--run", str(stage1_run), "train:999", *FAST]) == 2
    assert recon_main(["--run", str(stage1_run), "nope", *FAST]) == 2
    assert recon_main(["--run", str(stage1_run), str(tmp_path / "x.png"), *FAST]) == 2
    assert recon_main(["--run", str(stage1_run), "train:0", "--variations", "2", *FAST]) == 2
    assert "needs a stage-2 run" in capsys.readouterr().err
    # a .webp is an image; a file of another kind is told so, not "not a patch"
    Image.open(image).save(tmp_path / "car.webp", lossless=True)
    webp = ["--run", str(stage1_run), str(tmp_path / "car.webp"), "--out", str(tmp_path / "w")]
    assert recon_main([*webp, *FAST]) == 0
    (tmp_path / "car.heic").write_bytes(b"\x00" * 16)
    assert recon_main(["--run", str(stage1_run), str(tmp_path / "car.heic"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "does not read as an image" in err and "webp" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert recon_main(["--run", str(stage1_run), "train:0", "--out", str(blocker), *FAST]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_reconstruct_variation_curve(tmp_path, stage2_run):
    out = tmp_path / "v"
    args = ["--run", str(stage2_run), "train:1", "--variations", "2", "--strength", "0,0.5,1"]
    assert recon_main([*args, "--out", str(out), "--seed", "3", *FAST]) == 0
    report = json.loads((out / "variations.json").read_text())
    curve = report["curve"]
    assert [p["strength"] for p in curve] == [0.0, 0.5, 1.0]
    assert curve[0]["mean_token_hamming"] == 0 and curve[0]["mean_image_l1"] == 0
    assert curve[1]["mean_token_hamming"] <= 0.5 + 1e-6 and curve[2]["mean_token_hamming"] > 0.5
    assert report["monotone_token_hamming"]
    assert set(report["conditions"]) == {"class_name", "size", "time", "image"}
    var = load_asset(out / "variations" / "s0.50" / "001")
    assert var.meta["extra"]["variation"]["strength"] == 0.5 and var.seed == 3
    recon = load_asset(out / "recon")
    assert var.decoder == recon.decoder


def test_edit(tmp_path, sampled, capsys):
    a, b = sampled / "asset_000", sampled / "asset_001"
    out = tmp_path / "e"
    assert (
        edit_main(["--a", str(a), "--b", str(b), "--planes", "xy", "--out", str(out), *FAST]) == 0
    )
    ea, eb, new = load_asset(a), load_asset(b), load_asset(out)
    assert new.tokens[:16].equal(eb.tokens[:16]) and new.tokens[16:].equal(ea.tokens[16:])
    assert new.meta["extra"]["edit"]["planes"] == "xy" and np.allclose(new.size_m, ea.size_m)
    out2 = tmp_path / "f"
    assert (
        edit_main(
            ["--a", str(a), "--b", str(b), "--region", "front_half", "--out", str(out2), *FAST]
        )
        == 0
    )
    front = load_asset(out2).tokens.view(3, 4, 4)
    assert front[0, :, 2:].equal(eb.tokens.view(3, 4, 4)[0, :, 2:])
    assert front[2].equal(ea.tokens.view(3, 4, 4)[2])
    mask = np.zeros(48, dtype=bool)
    mask[-1] = True
    np.save(tmp_path / "m.npy", mask)
    assert (
        edit_main(
            [
                "--a",
                str(a),
                "--b",
                str(b),
                "--mask",
                str(tmp_path / "m.npy"),
                "--out",
                str(tmp_path / "g"),
                *FAST,
            ]
        )
        == 0
    )
    assert load_asset(tmp_path / "g").tokens[-1] == eb.tokens[-1]
    assert (
        edit_main(
            [
                "--a",
                str(tmp_path / "none"),
                "--b",
                str(b),
                "--planes",
                "xy",
                "--out",
                str(tmp_path / "h"),
            ]
        )
        == 2
    )
    assert "no such asset directory" in capsys.readouterr().err
    assert edit_main(["--a", str(a), "--b", str(b), "--planes", "xw", "--out", str(out)]) == 2
    with pytest.raises(SystemExit) as exit_:
        edit_main(["--a", str(a), "--b", str(b), "--out", str(out)])  # no edit given
    assert exit_.value.code == 2
    assert torch.equal(load_asset(out).tokens, new.tokens)  # failed edits leave it alone
    # two copies whose asset.json lost the decoder hash: refused, not matched as equal
    for name, src in (("ca", a), ("cb", b)):
        shutil.copytree(src, tmp_path / name)
        meta = json.loads((tmp_path / name / "asset.json").read_text())
        meta["decoder"].pop("model_config_sha256")
        (tmp_path / name / "asset.json").write_text(json.dumps(meta))
    args = ["--a", str(tmp_path / "ca"), "--b", str(tmp_path / "cb"), "--planes", "xy"]
    capsys.readouterr()
    assert edit_main([*args, "--out", str(tmp_path / "i")]) == 2
    assert "no decoder config hash" in capsys.readouterr().err


def test_edit_refuses_assets_of_other_decoder_weights(tmp_path, sampled, capsys):
    """Same preset and config hash, other weights (another run or step): refused."""
    from gina3d.assets.decoder_ref import same_decoder

    a, b = sampled / "asset_000", sampled / "asset_001"
    assert same_decoder(load_asset(a).decoder, load_asset(b).decoder)
    assert len(load_asset(a).decoder["weights_sha256"]) == 64
    shutil.copytree(b, tmp_path / "other")
    meta = json.loads((tmp_path / "other" / "asset.json").read_text())
    meta["decoder"]["weights_sha256"] = "0" * 64
    (tmp_path / "other" / "asset.json").write_text(json.dumps(meta))
    args = ["--a", str(a), "--b", str(tmp_path / "other"), "--planes", "xy"]
    assert edit_main([*args, "--out", str(tmp_path / "e"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "different stage-1 weights" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()
    # assets from before weight hashes: the checkpoint and step decide
    old_a = {k: v for k, v in load_asset(a).decoder.items() if k != "weights_sha256"}
    old_b = {**old_a, "step": (old_a["step"] or 0) + 1}
    assert same_decoder(old_a, dict(old_a)) and not same_decoder(old_a, old_b)


def test_outputs_that_cannot_be_written_are_refused_first(
    tmp_path, stage1_run, stage2_run, sampled, box_data, capsys
):
    """Every command that writes checks its destination before the work (one line, exit 2,
    nothing written); a run directory under a file stands for an unwritable one."""
    from gina3d.cli.encode import main as encode_main
    from gina3d.cli.eval import main as eval_main
    from gina3d.cli.report import main as report_main
    from gina3d.cli.train import main as train_main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = str(blocker / "out")
    shutil.copytree(stage1_run, tmp_path / "s1")
    shutil.rmtree(tmp_path / "s1" / "eval", ignore_errors=True)
    (tmp_path / "s1" / "eval").write_text("a file where eval/ goes")
    shutil.rmtree(tmp_path / "s1" / "tokens", ignore_errors=True)
    (tmp_path / "s1" / "tokens").write_text("a file where tokens/ goes")
    a, b = sampled / "asset_000", sampled / "asset_001"
    calls = [
        (train_main, ["stage2", "--run", str(stage1_run), "--preset", "tiny", "--out", bad]),
        (edit_main, ["--a", str(a), "--b", str(b), "--planes", "xy", "--out", bad]),
        (report_main, ["--run", str(stage1_run), "--out", str(blocker / "r.html")]),
        (encode_main, ["--run", str(tmp_path / "s1"), "--data", str(box_data)]),
        (eval_main, ["recon", "--run", str(tmp_path / "s1"), "--data", str(box_data),
                     "--split", "train", "--threads", "1"]),
    ]  # fmt: skip
    for main, args in calls:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "is a file, not a directory" in err, err
    assert blocker.read_text() == "x"
