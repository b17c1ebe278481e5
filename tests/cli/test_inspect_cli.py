import json
import subprocess
import sys

import numpy as np
import pytest
from boxworld import BoxWorldSource
from PIL import Image

from gina3d.cli.inspect import main as inspect_main
from gina3d.cli.main import main as gina3d_main
from gina3d.cli.synth import main as synth_main
from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig

KEYS = {
    "num_patches",
    "per_class",
    "per_split",
    "vehicle_types",
    "per_time_of_day",
    "occluded_fraction",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    cfg = BuildConfig(
        patches=PatchConfig(resolution=16),
        workers=1,
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
    )
    build_dataset(BoxWorldSource(6), root, cfg, seed=0)
    return root


def test_inspect_json_and_sheet(dataset, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert inspect_main([str(dataset), "--json", "--sheet", str(sheet), "--count", "4"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert KEYS <= set(stats)
    assert (
        stats["num_patches"] == sum(stats["per_split"].values()) == sum(stats["per_class"].values())
    )
    assert stats["per_class"]["pedestrian"] == 3  # odd scenes have a pedestrian
    assert 0 < stats["occluded_fraction"] < 1
    img = np.asarray(Image.open(sheet))
    assert img.ndim == 3 and img.shape[0] > 50 and img.std() > 5


def test_inspect_text(dataset, capsys):
    assert inspect_main([str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "patches" in out and "per class" in out


def one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


def test_bad_inputs_give_one_line_errors(dataset, tmp_path, capsys):
    one_line_error(capsys, inspect_main([str(tmp_path / "nope")]), "nope", "no such dataset")
    one_line_error(capsys, inspect_main([str(tmp_path)]), "manifest.json", "not a gina3d dataset")
    one_line_error(capsys, synth_main(["--out", str(tmp_path / "x"), "--scenes", "0"]), "scenes")
    with pytest.raises(SystemExit) as e:
        synth_main(["--out", str(tmp_path / "x"), "--scenes", "many"])
    one_line_error(capsys, e.value.code, "--scenes", "invalid int")
    one_line_error(
        capsys, synth_main(["--out", str(tmp_path / "x"), "--resolution", "3"]), "resolution"
    )
    one_line_error(
        capsys,
        synth_main(["--out", str(tmp_path / "x"), "--assets", str(tmp_path / "missing")]),
        "missing",
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(capsys, synth_main(["--out", str(blocker / "ds")]), "not writable")
    one_line_error(capsys, gina3d_main(["frobnicate"]), "unknown verb")


def test_entry_points_run_as_modules(dataset):
    for cmd in (
        [sys.executable, "-m", "gina3d.cli.inspect", str(dataset), "--json"],
        [sys.executable, "-m", "gina3d", "inspect", str(dataset), "--json"],
    ):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        assert KEYS <= set(json.loads(out))
