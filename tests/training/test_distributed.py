"""Two CPU processes with gloo: gradients are averaged and buffers broadcast."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gina3d.training.distributed import (
    DistInfo,
    average_gradients,
    broadcast_buffers,
    mean_across_ranks,
)


def _worker(rank: int, store: str, out: dict) -> None:
    # a file store, not a TCP port: no race for a free port with other processes
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    info = DistInfo(rank=rank, world_size=2)
    net = torch.nn.Linear(2, 1)
    net.register_buffer("counter", torch.tensor([float(rank + 5)]))
    torch.manual_seed(rank)  # different data on each rank
    net(torch.randn(4, 2) * (rank + 1)).sum().backward()
    average_gradients(net, info)
    broadcast_buffers(net, info)
    logs = mean_across_ranks({"loss": float(rank)}, info)
    out[rank] = (net.weight.grad.clone(), net.counter.clone(), net.weight.detach().clone(), logs)
    dist.destroy_process_group()


def test_gradients_are_averaged_across_two_processes(tmp_path):
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(str(tmp_path / "store"), out), nprocs=2, join=True)
    g0, c0, w0, l0 = out[0]
    g1, c1, w1, l1 = out[1]
    assert torch.equal(g0, g1)  # same averaged gradient on both ranks
    assert torch.equal(c0, c1) and c1.item() == 5.0  # rank 0's buffer everywhere
    assert torch.equal(w0, w1)  # parameters broadcast too
    assert l0["loss"] == l1["loss"] == 0.5
    # the average of the two ranks' own gradients
    expected = []
    for rank in (0, 1):
        torch.manual_seed(rank)
        x = torch.randn(4, 2) * (rank + 1)
        expected.append(x.sum(0, keepdim=True))
    assert torch.allclose(g0, (expected[0] + expected[1]) / 2)
