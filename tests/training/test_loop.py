import numpy as np
import pytest
import torch
from boxworld import BoxWorldSource

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig
from gina3d.data.sampler import BlockShuffleSampler
from gina3d.errors import Gina3dError
from gina3d.training.distributed import DistInfo
from gina3d.training.loop import TrainConfig, train
from gina3d.training.run_log import read_metrics


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    cfg = BuildConfig(
        patches=PatchConfig(resolution=8),
        workers=1,
        split_fractions=(1, 0, 0),
        filters=FilterConfig(min_crop_px=2, min_visibility=0, min_object_pixels=1),
    )
    build_dataset(BoxWorldSource(12), root, cfg, seed=0)
    return PatchDataset(root, split="train")


class MeanColour:
    """Learns the mean patch colour; records the data indices it saw."""

    def __init__(self, nan_after: int | None = None):
        torch.manual_seed(0)
        self.net = torch.nn.Linear(1, 3)
        self.modules = {"model": self.net}
        self.optimizers = {"model": torch.optim.SGD(self.net.parameters(), lr=0.1)}
        self.seen: list[int] = []
        self.nan_after = nan_after

    def model_config(self):
        return {"kind": "test"}

    def train_step(self, batch, step, generator):
        self.seen += batch["index"].tolist()
        pred = self.net(torch.ones(1, 1))
        loss = ((pred[:, :, None, None] - batch["rgb"]) ** 2).mean()
        if self.nan_after is not None and step >= self.nan_after:
            loss = loss * float("nan")
        if not torch.isfinite(loss):
            return {"nonfinite": 1.0}
        self.optimizers["model"].zero_grad()
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item()}

    def sample_grid(self, batch):
        return (batch["rgb"][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)


CFG = TrainConfig(
    batch_size=2,
    max_steps=6,
    warmup_steps=1,
    log_every=2,
    sample_every=3,
    checkpoint_every=2,
    num_workers=0,
)


def test_sampler_covers_each_index_once_per_epoch_across_ranks(dataset):
    groups = dataset.row_groups()
    ranks = [BlockShuffleSampler(groups, seed=1, rank=r, world_size=2) for r in (0, 1)]
    seen = [list(s) for s in ranks]
    assert len(seen[0]) == len(seen[1])
    assert not set(seen[0]) & set(seen[1])
    assert len(set(seen[0]) | set(seen[1])) >= len(dataset) - 1
    again = list(BlockShuffleSampler(groups, seed=1, rank=0, world_size=2))
    assert again == seen[0]
    ranks[0].set_epoch(1)
    assert list(ranks[0]) != seen[0]
    ranks[0].set_epoch(0, start=3)
    assert list(ranks[0]) == seen[0][3:]


def test_resume_continues_where_it_stopped(dataset, tmp_path):
    full = MeanColour()
    train(full, dataset, CFG, tmp_path / "full", DistInfo())
    part = MeanColour()
    cfg4 = TrainConfig(**{**CFG.__dict__, "max_steps": 4})
    train(part, dataset, cfg4, tmp_path / "part", DistInfo())
    rest = MeanColour()  # a fresh process: weights, optimiser and data order come from disk
    state = train(rest, dataset, CFG, tmp_path / "part", DistInfo())
    assert state["step"] == 6
    assert part.seen + rest.seen == full.seen
    assert torch.allclose(rest.net.weight, full.net.weight)
    rows = read_metrics(tmp_path / "full")
    assert [r["step"] for r in rows] == [2, 4, 6] and "loss" in rows[0]
    assert list((tmp_path / "full" / "samples").glob("*.png"))


def test_time_budget_ends_cleanly_with_a_checkpoint(dataset, tmp_path):
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 10_000, "checkpoint_every": 10_000})
    state = train(MeanColour(), dataset, cfg, tmp_path, DistInfo(), time_budget_min=0.002)
    assert state["stop_reason"] == "time_budget" and 0 < state["step"] < 10_000
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == f"step-{state['step']:08d}"


def test_time_budget_counts_from_the_start_not_from_the_last_checkpoint(dataset, tmp_path):
    # a checkpoint every step used to restart the budget clock, so the run never ended
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 400, "checkpoint_every": 1})
    state = train(MeanColour(), dataset, cfg, tmp_path, DistInfo(), time_budget_min=0.002)
    assert state["stop_reason"] == "time_budget" and state["step"] < 400


def test_nonfinite_steps_are_skipped_counted_and_stop_training(dataset, tmp_path):
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 100, "max_nonfinite_streak": 5})
    with pytest.raises(Gina3dError, match="5 consecutive steps with non-finite losses at step 3"):
        train(MeanColour(nan_after=3), dataset, cfg, tmp_path, DistInfo())


def test_sigterm_stops_cleanly_with_a_final_checkpoint(dataset, tmp_path):
    import os
    import signal

    class Terminated(MeanColour):
        def train_step(self, batch, step, generator):
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().train_step(batch, step, generator)

    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 100, "checkpoint_every": 1000})
    state = train(Terminated(), dataset, cfg, tmp_path, DistInfo())
    assert state["stop_reason"] == "interrupted" and state["step"] == 3  # step 3 never ran
    assert state["signal"] == "SIGTERM"
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step-00000003"
    from gina3d.cli.train import exit_code

    assert exit_code(state) == 143 and exit_code({**state, "signal": "SIGINT"}) == 130
    assert exit_code({"stop_reason": "max_steps"}) == exit_code({"stop_reason": "time_budget"}) == 0
    # resumed and finished: the old signal is gone
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 5, "checkpoint_every": 1000})
    state = train(MeanColour(), dataset, cfg, tmp_path, DistInfo())
    assert state["stop_reason"] == "max_steps" and "signal" not in state


def test_steps_trained_again_after_a_resume_are_logged_once(dataset, tmp_path):
    """metrics.jsonl of a run resumed from an older checkpoint has each step once."""
    import shutil

    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 8, "log_every": 1, "checkpoint_every": 4})
    train(MeanColour(), dataset, cfg, tmp_path, DistInfo())
    root = tmp_path / "checkpoints"
    shutil.rmtree(root / "step-00000008")  # as if killed after logging steps 5..8
    (root / "latest").write_text("step-00000004\n")
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 9, "lo')  # and a torn line
    state = train(MeanColour(), dataset, cfg, tmp_path, DistInfo())
    assert state["step"] == 8
    steps = [row["step"] for row in read_metrics(tmp_path)]
    assert steps == list(range(1, 9))


def test_a_damaged_newest_checkpoint_resumes_from_the_one_before(dataset, tmp_path, capsys):
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 4, "checkpoint_every": 2})
    train(MeanColour(), dataset, cfg, tmp_path, DistInfo())
    root = tmp_path / "checkpoints"
    resume = root / "step-00000004" / "resume.pt"
    resume.write_bytes(resume.read_bytes()[:100])  # truncated
    cfg = TrainConfig(**{**CFG.__dict__, "max_steps": 6, "checkpoint_every": 2})
    state = train(MeanColour(), dataset, cfg, tmp_path, DistInfo())
    out = capsys.readouterr()
    assert "skipping step-00000004" in out.err and "resuming from" in out.out
    assert "step-00000002 (step 2)" in out.out and state["step"] == 6
    assert (root / "step-00000004.damaged" / "resume.pt").stat().st_size == 100
