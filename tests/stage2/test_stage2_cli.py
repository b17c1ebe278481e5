"""``gina3d train stage2`` end to end on a tiny stage-1 run: encode, train, resume, sample."""

import shutil
import subprocess
import sys

import pytest
import torch

from gina3d.cli.train import main as train_main
from gina3d.errors import Gina3dError
from gina3d.generation.sampler import load_stage2, sample_token_grids, variations
from gina3d.training.run_log import read_metrics


@pytest.fixture
def run1(stage1_run, tmp_path):
    """A private copy of the tiny stage-1 run, without a token cache."""
    copy = tmp_path / "s1"
    shutil.copytree(stage1_run, copy, ignore=shutil.ignore_patterns("tokens"))
    return copy


def test_train_resume_and_sample(run1, tmp_path, capsys):
    out = tmp_path / "s2"
    args = ["stage2", "--run", str(run1), "--preset", "tiny", "--out", str(out), "--threads", "1"]
    assert train_main(args) == 0
    assert "encoding split 'train' now" in capsys.readouterr().out  # no cache yet: made
    assert (run1 / "tokens" / "index.json").exists()
    for name in ("config.yaml", "metrics.jsonl", "stage1/model.safetensors", "stage1/state.json"):
        assert (out / name).exists(), name
    assert (out / "checkpoints" / "latest").read_text().strip() == "step-00000006"
    assert list((out / "samples").glob("*.png")) and list((out / "tb").iterdir())
    assert {"loss", "masked_acc", "mask_frac"} <= set(read_metrics(out)[-1])

    assert train_main([*args, "--steps", "8"]) == 0
    text = capsys.readouterr().out
    assert "resuming from" in text and "encoding" not in text
    assert read_metrics(out)[-1]["step"] == 8
    assert train_main([*args, "--set", "loss.label_smoothing=0.3"]) == 2
    assert "loss.label_smoothing" in capsys.readouterr().err

    model, stage1, configs = load_stage2(out)
    assert configs["stage1_step"] == 8 and configs["stage2"]["kind"] == "stage2"
    cond = {"class_name": "pedestrian", "size": (0.7, 0.6, 1.8), "time": "dusk"}
    tokens = sample_token_grids(model, 3, seed=7, conditions=cond, steps=4)
    assert torch.equal(tokens, sample_token_grids(model, 3, seed=7, conditions=cond, steps=4))
    tri = stage1.decode_indices(tokens)
    assert tri.shape == (3, 3, 8, 16, 16) and torch.isfinite(tri).all()
    near = variations(model, tokens[0], n=2, strength=0.0, seed=0)
    assert torch.equal(near, tokens[:1].expand(2, -1))

    # stage 1 trained on: this stage-2 run's tokens no longer match the newest checkpoint
    one = ["stage1", "--data", str(_data(run1)), "--preset", "tiny", "--out", str(run1)]
    assert train_main([*one, "--steps", "10", "--threads", "1"]) == 0
    capsys.readouterr()
    assert train_main(args) == 2
    assert "now at step 10; use a new --out" in capsys.readouterr().err
    # ...while the pinned copy still decodes this run's samples
    assert load_stage2(out)[2]["stage1_step"] == 8


def _data(run1):
    from gina3d.config import load_yaml
    from gina3d.training.presets import Stage1Config

    return load_yaml(Stage1Config, run1 / "config.yaml").data


def test_cells_of_its_own(run1, tmp_path, capsys):
    """--set model.token_split picks MaskGIT's cells independently of stage 1's (1 here)."""
    out = tmp_path / "s2"
    args = ["stage2", "--run", str(run1), "--preset", "tiny", "--out", str(out), "--threads", "1"]
    assert train_main([*args, "--set", "model.token_split=3"]) == 2  # 4 tokens per side
    assert "token_split" in capsys.readouterr().err
    assert train_main([*args, "--set", "model.token_split=2", "--steps", "2"]) == 0
    model, stage1, _ = load_stage2(out)
    assert stage1.cfg.token_split == 1 and model.cfg.token_split == 2
    tokens = sample_token_grids(model, 2, seed=0, steps=2)
    assert tokens.shape == (2, stage1.cfg.num_tokens)
    assert torch.isfinite(stage1.decode_indices(tokens)).all()


def test_bad_input(run1, tmp_path, capsys):
    out = str(tmp_path / "s2")
    base = ["stage2", "--preset", "tiny", "--out", out]
    assert train_main([*base, "--run", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert train_main([*base, "--run", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint yet (train stage 1 first)" in err and len(err.strip().splitlines()) == 1
    assert train_main(["stage2", "--run", str(run1), "--preset", "huge", "--out", out]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
    assert train_main([*base, "--run", str(run1), "--set", "model.nope=1"]) == 2
    assert "unknown config key 'model.nope'" in capsys.readouterr().err
    assert train_main([*base, "--run", str(run1), "--time-budget", "0"]) == 2
    assert train_main(["stage2", "--run", str(run1), "--preset", "tiny", "--out", str(run1)]) == 2
    assert "is the stage-1 run" in capsys.readouterr().err
    with pytest.raises(Gina3dError, match="not a stage-2 checkpoint"):
        load_stage2(run1)
    with pytest.raises(Gina3dError, match="no checkpoint yet"):
        load_stage2(tmp_path / "empty")


def test_two_cpu_processes_with_gloo(run1, tmp_path):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd = [*torchrun, "--nproc_per_node", "2", "-m", "gina3d.cli.train", "stage2"]
    # torchrun would take --run for its own --run-path: the long spelling avoids it
    cmd += ["--stage1-run", str(run1), "--preset", "tiny", "--out", str(tmp_path / "ddp")]
    cmd += ["--steps", "4", "--device", "cpu", "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "ddp" / "checkpoints" / "latest").read_text().strip() == "step-00000004"
    rows = read_metrics(tmp_path / "ddp")
    assert rows and rows[-1]["step"] == 4


def test_time_budget_spans_checkpoints(run1, tmp_path, capsys):
    out = tmp_path / "budget"
    args = ["stage2", "--run", str(run1), "--preset", "tiny", "--out", str(out)]
    args += ["--steps", "100000", "--time-budget", "0.02", "--threads", "1"]
    # a checkpoint every 2 steps must not restart the 1.2-second budget
    args += ["--set", "train.checkpoint_every=2", "--set", "train.sample_every=100000"]
    assert train_main(args) == 0
    assert "(time_budget)" in capsys.readouterr().out
    assert read_metrics(out)[-1]["step"] < 100000
