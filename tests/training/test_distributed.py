"""Two CPU processes with gloo: gradients are averaged and buffers broadcast."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gina3d.training.distributed import (
    DistInfo,
    average_gradients,
    broadcast_buffers,
    mean_across_ranks,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
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


def test_gradients_are_averaged_across_two_processes():
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(_free_port(), out), nprocs=2, join=True)
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
