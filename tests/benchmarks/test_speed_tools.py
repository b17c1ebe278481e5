"""The speed tools of ``benchmarks/``: step_profile (FLOPs, peak, part timers), the stage-1
benchmark's batch and breakdown on the tiny preset, and compare_curves."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name: str):
    sys.path.insert(0, str(BENCH))  # the scripts import each other by name
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_flops_of_a_matmul_and_a_positive_peak():
    sp = _module("step_profile")
    a, b = torch.randn(64, 32), torch.randn(32, 16)
    assert sp.count_flops(lambda: a @ b) == 2 * 64 * 32 * 16
    assert sp.matmul_peak_gflops(torch.device("cpu"), size=128, repeats=2) > 0


def test_part_timer_excludes_nested_parts():
    sp = _module("step_profile")

    class Work:
        def outer(self):
            time.sleep(0.02)
            self.inner()

        def inner(self):
            time.sleep(0.03)

    w, timer = Work(), sp.PartTimer(torch.device("cpu"))
    timer.wrap(w, "inner", "inner part")
    timer.wrap(w, "outer", "outer part")
    timer.time_step(lambda: (w.outer(), time.sleep(0.01)))
    ms = timer.table_ms()
    assert 28 <= ms["inner part"] < 60 and 18 <= ms["outer part"] < 45
    assert 8 <= ms["other"] < 30 and abs(ms["total"] - sum(ms[k] for k in ms if k != "total")) < 0.2


def test_fake_batch_sees_the_box_like_real_patches():
    s1 = _module("stage1_speed")
    b = s1.fake_batch(4, 16, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert b["rgb"].shape == (4, 3, 16, 16) and b["ray_direction"].shape == (4, 16, 16, 3)
    obj = b["object_mask"]
    assert 0.1 < float(obj.mean()) < 0.6 and torch.equal(
        obj + b["background_mask"], torch.ones_like(obj)
    )
    assert (
        float(b["lidar_depth"][obj > 0].min()) > 0
        and float(b["lidar_depth"][obj == 0].abs().max()) == 0
    )


def test_stage1_benchmark_reports_flops_and_a_breakdown():
    done = subprocess.run(
        [sys.executable, str(BENCH / "stage1_speed.py"), "--preset", "tiny", "--steps", "2",
         "--threads", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["flops_per_step"] > 0 and 0 < out["mfu"] < 1.5 and out["peak_gflops"] > 0
    parts = out["breakdown_ms"]
    for part in ("backward", "encoder", "field + volume rendering", "optimiser", "other"):
        assert part in parts
    assert abs(parts["total"] - sum(v for k, v in parts.items() if k != "total")) < 1.0
    assert out["breakdown_ms_adversarial"]["discriminator"] > 0  # tiny starts it at step 4


def test_compare_curves_against_a_change_of_seed(tmp_path):
    runs = {}
    for name, offset in (("a", 0.0), ("b", 0.001), ("c", 0.1)):
        run = tmp_path / name
        run.mkdir()
        lines = [
            {"step": s, "loss": 1.0 / s + offset, "psnr": 10 + s / 10, "images_per_s": 5.0}
            for s in range(10, 110, 10)
        ]
        (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        runs[name] = run
    done = subprocess.run(
        [sys.executable, str(BENCH / "compare_curves.py"), "--ref", str(runs["a"]),
         "--same", str(runs["b"]), "--noise", str(runs["c"]), "--plot", str(tmp_path / "p.png")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    loss = json.loads(done.stdout)["keys"]["loss"]
    assert (
        abs(loss["same_mean_abs_diff"] - 0.001) < 1e-6
        and abs(loss["noise_max_abs_diff"] - 0.1) < 1e-6
    )
    assert (tmp_path / "p.png").stat().st_size > 1000
