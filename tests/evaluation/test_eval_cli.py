"""``gina3d eval recon``: writes RUN/eval/recon.json; one-line errors."""

import json

import pytest

import gina3d.cli.eval as eval_cli
from gina3d.cli.main import main as gina3d_main


@pytest.fixture
def fake_loader(monkeypatch, fake_model):
    monkeypatch.setattr(eval_cli, "load_model", lambda run_dir, device: (fake_model(), {}))


def test_eval_recon_writes_json(box_dataset, fake_loader, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    argv = ["eval", "recon", "--run", str(run), "--data", str(box_dataset), "--split", "train"]
    assert gina3d_main([*argv, "--max-patches", "2", "--views", "180", "--quiet"]) == 0
    out = json.loads((run / "eval" / "recon.json").read_text())
    assert out["num_patches"] == 2 and out["protocol"]["views_deg"] == [180.0]
    assert out["protocol"]["model"]["run"] == str(run.resolve())
    assert out["amodal_iou_novel"] > 0.8
    text = capsys.readouterr().out
    assert "psnr_visible" in text and "recon.json" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "{tmp}/nope", "--data", "{data}"], "no such run directory"),
        (["--run", "{tmp}", "--data", "{tmp}/nodata"], "no such dataset directory"),
        (["--run", "{tmp}", "--data", "{data}", "--split", "dev"], "no split 'dev'"),
        (["--run", "{tmp}", "--data", "{data}", "--max-patches", "0"], "--max-patches"),
        (["--run", "{tmp}", "--data", "{data}", "--views", "a,b"], "--views"),
    ],
)
def test_eval_recon_errors_are_one_line(box_dataset, fake_loader, tmp_path, capsys, args, message):
    argv = [a.format(tmp=tmp_path, data=box_dataset) for a in args]
    assert eval_cli.main(["recon", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("gina3d eval recon: error:")


def test_eval_needs_a_sub_verb(capsys):
    with pytest.raises(SystemExit) as e:
        eval_cli.main([])
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
