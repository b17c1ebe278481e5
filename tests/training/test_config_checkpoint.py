from dataclasses import dataclass, field

import pytest
import torch

from gina3d.config import apply_overrides, from_dict, load_yaml, save_yaml, to_dict
from gina3d.errors import Gina3dError
from gina3d.training import checkpoint as ckpt


@dataclass
class Inner:
    a: int = 1
    b: float = 0.5
    name: str | None = None


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[float, float] = (1.0, 2.0)
    flag: bool = True


def test_yaml_round_trip_and_strictness(tmp_path):
    cfg = Outer(Inner(3, 0.25, "x"), (4.0, 5.0), False)
    save_yaml(cfg, tmp_path / "c.yaml")
    assert load_yaml(Outer, tmp_path / "c.yaml") == cfg
    with pytest.raises(Gina3dError, match="unknown config key 'inner.c'"):
        from_dict(Outer, {"inner": {"c": 1}})
    with pytest.raises(Gina3dError, match="'inner.a': expected int"):
        from_dict(Outer, {"inner": {"a": "three"}})
    assert from_dict(Outer, {"inner": {"b": 2}}).inner.b == 2.0  # ints are fine for floats


def test_overrides():
    cfg = apply_overrides(Outer(), ["inner.a=7", "flag=false", "sizes=[1, 3]"])
    assert cfg.inner.a == 7 and cfg.flag is False and cfg.sizes == (1.0, 3.0)
    with pytest.raises(Gina3dError, match="unknown config key 'inner.zzz'"):
        apply_overrides(Outer(), ["inner.zzz=1"])
    with pytest.raises(Gina3dError, match="must look like"):
        apply_overrides(Outer(), ["inner.a"])
    assert to_dict(Outer())["sizes"] == [1.0, 2.0]


def test_override_float_without_a_dot():
    # YAML 1.1 reads 1e-3 as the string "1e-3"; a float field must still get 0.001
    assert apply_overrides(Outer(), ["inner.b=1e-3"]).inner.b == pytest.approx(1e-3)
    assert apply_overrides(Outer(), ["inner.b=2E4"]).inner.b == 2e4
    for bad in ("fast", "nan", "inf", "-Infinity"):
        with pytest.raises(Gina3dError, match="inner.b.*expected a finite number"):
            apply_overrides(Outer(), [f"inner.b={bad}"])
    with pytest.raises(Gina3dError, match="inner.a"):  # ints stay strict
        apply_overrides(Outer(), ["inner.a=1e3"])


def test_checkpoint_round_trip_keep_and_half_written(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    for step in (1, 2, 3, 4):
        ckpt.save_checkpoint(
            tmp_path,
            step,
            {"model": net},
            {"kind": "x"},
            {"optimizers": {"model": opt.state_dict()}},
            {"step": step},
            keep=2,
        )
    dirs = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert dirs == ["step-00000003", "step-00000004"]
    # a checkpoint killed mid-write is a .tmp directory: never loaded
    (tmp_path / "checkpoints" / "step-00000005.tmp").mkdir()
    latest = ckpt.latest_checkpoint(tmp_path)
    assert latest.name == "step-00000004" and ckpt.load_state(latest)["step"] == 4
    other = torch.nn.Linear(3, 2)
    ckpt.load_weights(latest, {"model": other})
    assert torch.equal(other.weight, net.weight)
    resume = ckpt.load_resume(latest)  # weights_only=True: plain types and tensors only
    opt2 = torch.optim.AdamW(other.parameters())
    opt2.load_state_dict(resume["optimizers"]["model"])
    with pytest.raises(Gina3dError, match="do not fit this model"):
        ckpt.load_weights(latest, {"model": torch.nn.Linear(4, 2)})
    (latest / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(Gina3dError, match="unreadable weights"):
        ckpt.load_weights(latest, {"model": other})


def test_no_checkpoint_is_none_and_dangling_pointer_is_an_error(tmp_path):
    assert ckpt.latest_checkpoint(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "latest").write_text("step-00000009\n")
    with pytest.raises(Gina3dError, match=r"no readable checkpoint \(step-00000009 \(missing\)\)"):
        ckpt.latest_checkpoint(tmp_path)


def _three_checkpoints(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters())
    for step in (1, 2, 3):
        resume = {"optimizers": {"model": opt.state_dict()}}
        ckpt.save_checkpoint(tmp_path, step, {"model": net}, {"kind": "x"}, resume, {"step": step})
    return tmp_path / "checkpoints"


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda d: (d / "resume.pt").write_bytes((d / "resume.pt").read_bytes()[:40]), "damaged"),
        (lambda d: (d / "state.json").write_text("{not json"), "unreadable state.json"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 4), "damaged"),
        (lambda d: (d / "resume.pt").unlink(), "resume.pt missing"),
    ],
)
def test_a_damaged_newest_checkpoint_falls_back_and_is_kept(tmp_path, capsys, damage, why):
    root = _three_checkpoints(tmp_path)
    damage(root / "step-00000003")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000002"  # a reader: skips it
    err = capsys.readouterr().err
    assert "skipping step-00000003" in err and why in err and "using step-00000002" in err
    assert (root / "step-00000003").is_dir()  # a reader renames nothing
    assert ckpt.latest_checkpoint(tmp_path, quarantine=True).name == "step-00000002"
    assert (root / "step-00000003.damaged").is_dir() and not (root / "step-00000003").exists()
    # later saves never rotate the kept one away
    net = torch.nn.Linear(3, 2)
    for step in (3, 4, 5, 6):
        ckpt.save_checkpoint(tmp_path, step, {"model": net}, {"kind": "x"}, {}, {"step": step})
    assert (root / "step-00000003.damaged").is_dir()
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000006"


def test_latest_naming_a_missing_checkpoint_falls_back(tmp_path, capsys):
    root = _three_checkpoints(tmp_path)
    (root / "latest").write_text("step-00000007\n")
    assert ckpt.latest_checkpoint(tmp_path).name == "step-00000003"
    assert "step-00000007 (missing)" in capsys.readouterr().err
    for d in root.glob("step-*"):
        (d / "state.json").write_text("")
    with pytest.raises(Gina3dError, match="no readable checkpoint"):
        ckpt.latest_checkpoint(tmp_path)


def test_unreadable_resume_and_state_are_one_line_errors(tmp_path):
    root = _three_checkpoints(tmp_path)
    (root / "step-00000003" / "resume.pt").write_bytes(b"PK\x03\x04")
    with pytest.raises(Gina3dError, match="resume.pt: unreadable"):
        ckpt.load_resume(root / "step-00000003")
    (root / "step-00000003" / "state.json").write_text("[1, 2]")
    with pytest.raises(Gina3dError, match="state.json: has no step"):
        ckpt.load_state(root / "step-00000003")
