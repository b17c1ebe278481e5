"""``gina3d encode``: the token cache's contents, resume, staleness and bad input."""

import json
import shutil

import pytest
import torch

from gina3d.cli.encode import main as encode_main
from gina3d.data.dataset import PatchDataset
from gina3d.errors import Gina3dError
from gina3d.generation import token_cache
from gina3d.generation.token_cache import encode_batch, encode_dataset, load_token_cache
from gina3d.training.checkpoint import load_stage1


@pytest.fixture
def run(stage1_run, tmp_path):
    copy = tmp_path / "s1"
    shutil.copytree(stage1_run, copy, ignore=shutil.ignore_patterns("tokens"))
    return copy


def test_cache_holds_tokens_and_conditions(run, tiny_data, capsys):
    assert encode_main(["--run", str(run), "--threads", "1", "--batch-size", "5"]) == 0
    assert "token grids of step 8 (train 27)" in capsys.readouterr().out
    index = json.loads((run / "tokens" / "index.json").read_text())
    assert index["step"] == 8 and index["num_tokens"] == 48 and index["codebook_size"] == 64
    parts = ["part-00000.safetensors"]
    assert index["splits"]["train"] == {"rows": 27, "parts": parts, "complete": True}
    cache = load_token_cache(run, "train")
    assert cache.tokens.shape == (27, 48) and cache.tokens.dtype == torch.long
    assert cache.image.shape == (27, 3, 32, 32) and cache.image.dtype == torch.uint8
    assert len(cache.patch_ids) == 27 and cache.step == 8
    ds = PatchDataset(tiny_data, "train")
    model, _ = load_stage1(run)
    items = [ds[i] for i in range(4)]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    assert torch.equal(cache.tokens[:4], encode_batch(model, batch))
    for i, it in enumerate(items):
        assert cache.class_idx[i] == it["cls"] and cache.time_idx[i] == it["time_of_day"]
        assert torch.allclose(cache.size[i], it["box_size"]) and cache.index[i] == i
        assert cache.patch_ids[i] == ds.record(i).patch_id


def test_resume_skips_finished_parts_and_rebuilds_stale_caches(run, monkeypatch):
    monkeypatch.setattr(token_cache, "PART_ROWS", 10)
    encode_dataset(run, progress=False)
    parts = sorted((run / "tokens" / "train").glob("part-*.safetensors"))
    assert [p.name for p in parts] == [f"part-0000{i}.safetensors" for i in range(3)]
    full = load_token_cache(run).tokens
    stamps = {p.name: p.stat().st_mtime_ns for p in parts}
    parts[1].unlink()  # as if killed before part 1 was written
    parts[2].write_bytes(parts[2].read_bytes()[:100])  # or while writing it (torn)
    encode_dataset(run, progress=False)
    assert parts[0].stat().st_mtime_ns == stamps[parts[0].name]  # kept
    assert parts[1].exists() and parts[2].stat().st_mtime_ns != stamps[parts[2].name]
    assert torch.equal(load_token_cache(run).tokens, full)
    # a cache made by another checkpoint is stale: removed and rebuilt
    index = json.loads((run / "tokens" / "index.json").read_text())
    index["step"] = 3
    (run / "tokens" / "index.json").write_text(json.dumps(index))
    logs = []
    encode_dataset(run, progress=False, log=logs.append)
    assert "rebuilding for step 8" in logs[0]
    assert json.loads((run / "tokens" / "index.json").read_text())["step"] == 8


def test_bad_input(run, tmp_path, capsys):
    assert encode_main(["--run", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert encode_main(["--run", str(tmp_path / "empty")]) == 2
    assert "no checkpoint yet" in capsys.readouterr().err
    assert encode_main(["--run", str(run), "--splits", "train,nope"]) == 2
    assert "no split 'nope' (splits: train)" in capsys.readouterr().err
    assert encode_main(["--run", str(run), "--batch-size", "0"]) == 2
    with pytest.raises(Gina3dError, match="gina3d encode"):
        load_token_cache(run, "train")
