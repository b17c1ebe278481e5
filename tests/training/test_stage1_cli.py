"""Stage 1 end to end on tiny data: the synthetic world, training, resume, DDP, evaluation."""

import json
import subprocess
import sys

import pytest

from gina3d.cli.eval import main as eval_main
from gina3d.cli.synth import main as synth_main
from gina3d.cli.train import main as train_main
from gina3d.training.run_log import read_metrics

TINY_WORLD = ["--scenes", "4", "--frames", "1", "--camera-scale", "0.25", "--resolution", "16"]
TINY_WORLD += ["--workers", "1", "--min-crop-px", "10", "--min-object-pixels", "6"]
TINY_WORLD += [
    "--rig",
    "waymo",
    "--ego-speed",
    "3",
    "12",
    "--ego-stopped-share",
    "0.2",
]  # counts below


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e") / "data"
    assert synth_main(["--out", str(root), "--seed", "3", *TINY_WORLD]) == 0
    return root


def test_pipeline_train_resume_and_evaluate(data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["stage1", "--data", str(data), "--preset", "tiny", "--out", str(run)]
    assert train_main(args) == 0
    for name in ("config.yaml", "metrics.jsonl", "checkpoints/latest"):
        assert (run / name).exists(), name
    assert list((run / "samples").glob("*.png")) and list((run / "tb").iterdir())
    assert (run / "checkpoints" / "latest").read_text().strip() == "step-00000008"
    # more steps: resumes from step 8; other settings are refused
    assert train_main([*args, "--steps", "10"]) == 0
    assert "resuming from" in capsys.readouterr().out
    assert [r["step"] for r in read_metrics(run)][-1] == 10
    assert train_main([*args, "--set", "loss.mask=0.9"]) == 2
    assert "loss.mask" in capsys.readouterr().err

    assert eval_main(["recon", "--run", str(run), "--data", str(data), "--split", "train"]) == 0
    recon = json.loads((run / "eval" / "recon.json").read_text())
    for key in (
        "psnr_visible",
        "ssim_visible",
        "lidar_depth_abs_rel",
        "codebook_perplexity",
        "codebook_usage",
        "amodal_iou_novel",
        "amodal_iou_input",
        "protocol",
    ):
        assert key in recon, key


def test_bad_input(data, tmp_path, capsys):
    out = str(tmp_path / "r")
    assert train_main(["stage1", "--data", str(tmp_path / "none"), "--out", out]) == 2
    assert train_main(["stage1", "--data", str(data), "--preset", "huge", "--out", out]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert (
        train_main(
            [
                "stage1",
                "--data",
                str(data),
                "--preset",
                "tiny",
                "--out",
                out,
                "--set",
                "model.nope=1",
            ]
        )
        == 2
    )
    assert "unknown config key 'model.nope'" in capsys.readouterr().err
    assert (
        train_main(
            ["stage1", "--data", str(data), "--preset", "tiny", "--out", out, "--time-budget", "-1"]
        )
        == 2
    )
    assert eval_main(["recon", "--run", str(tmp_path / "nothing"), "--data", str(data)]) == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--set", "train.batch_size=-4"],
            "train config: train.batch_size must be an integer >= 1",
        ),
        (["--set", "train.lr=-1"], "train config: train.lr must be positive"),
        (["--steps", "-5"], "train config: train.max_steps must be an integer >= 1"),
        (["--set", "model.image_size=32"], "model.image_size=32: the patches of"),
        (["--set", "loss.rays_per_image=0"], "loss config: loss.object_ray_fraction"),
        (["--set", "loss.mask=-1"], "loss config: loss.mask must be >= 0"),
        (["--set", "loss.window_resolution=2"], "loss.window_resolution must be 0 (off) or"),
        (["--set", "loss.perceptual_taps=fc"], "loss.perceptual_taps: unknown layer 'fc'"),
        (["--set", "loss.perceptual_resolution=64"], "loss.perceptual_resolution must be >= 75"),
    ],
)
def test_bad_settings_are_one_line_errors_and_write_nothing(data, tmp_path, capsys, extra, message):
    out = tmp_path / "r"
    args = ["stage1", "--data", str(data), "--preset", "tiny", "--out", str(out), *extra]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_an_output_that_cannot_be_written_is_refused_before_training(data, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = blocker / "run"
    args = ["stage1", "--data", str(data), "--preset", "tiny", "--out", str(out)]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a directory" in err
    assert blocker.read_text() == "not a directory"


def test_two_cpu_processes_with_gloo(data, tmp_path):
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    cmd = [
        *torchrun,
        "-m",
        "gina3d.cli.train",
        "stage1",
        "--data",
        str(data),
        "--preset",
        "tiny",
        "--out",
        str(tmp_path / "ddp"),
        "--steps",
        "4",
        "--device",
        "cpu",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "ddp" / "checkpoints" / "latest").read_text().strip() == "step-00000004"
    rows = read_metrics(tmp_path / "ddp")
    assert rows and rows[-1]["step"] == 4


def test_sigterm_exits_143_after_a_final_checkpoint(data, tmp_path):
    """A scheduler's SIGTERM: the run writes its checkpoint and exits 143, not 0."""
    import os
    import signal
    import time

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gina3d.cli.train", "stage1", "--data", str(data)]
    cmd += ["--preset", "tiny", "--out", str(run), "--steps", "100000", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "checkpoints" / "latest").exists() and time.time() < deadline:
        time.sleep(0.2)  # training is under way once the first checkpoint is there
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "(interrupted)" in out
    latest = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    state = json.loads((latest / "state.json").read_text())
    assert state["stop_reason"] == "interrupted" and state["signal"] == "SIGTERM"
    assert state["step"] > 0


def test_help_texts_agree(capsys):
    """stage 2's --help gives a stage-2 --set example; the demo's time reads the same in
    gina3d --help, gina3d demo --help and the README."""
    from pathlib import Path

    from gina3d.cli.main import main as gina3d_main

    outputs = []
    for argv in (["train", "stage2", "--help"], ["--help"], ["demo", "--help"]):
        try:
            code = gina3d_main(argv)
        except SystemExit as done:  # argparse's --help
            code = done.code
        assert code == 0
        outputs.append(" ".join(capsys.readouterr().out.split()))
    stage2, top, demo = outputs
    assert "loss.image_dropout" in stage2 and "occlusion_aware" not in stage2
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "about 10 minutes on 2 CPU cores" in top and "about 10 minutes on 2 CPU cores" in demo
    assert "about 10 minutes on 2 CPU cores" in " ".join(readme.split())
