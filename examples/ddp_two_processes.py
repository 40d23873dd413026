"""Go on training an nnlite model in PyTorch with DistributedDataParallel, in two processes.

``python examples/ddp_two_processes.py`` (needs ``pip install "nnlite[torch]"``) starts two
processes on this machine: CPU, the gloo backend, a free port on 127.0.0.1. Each converts the same
nnlite model with ``to_torch``, wraps it in DistributedDataParallel and trains it on its half of
each batch; backward averages the two halves' gradients, so both copies take the steps one process
would take on the whole batch.

That holds because nnlite's losses are means over rows: ``nl.MSELoss`` is 1/(2N) sum over the N
rows of sum (y - t)^2. With halves of equal size, the mean over the batch is the mean of the two
halves' means, L = (L_0 + L_1) / 2, so the average DDP takes is the full batch's gradient, to
rounding. With halves of unequal size, or a loss summed over rows, it would not be.

tests/test_distributed.py runs this, and docs/moving-to-pytorch.md quotes it.
"""

from __future__ import annotations

import datetime
import importlib
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import nnlite as nl
from nnlite.interop import to_torch

# The [torch] extra, typed Any: the type check runs where torch is not installed.
torch: Any = importlib.import_module("torch")

WORLD_SIZE = 2  # processes
BATCH_SIZE = 32  # rows per step, half of them in each process
EPOCHS = 10
LEARNING_RATE = 2.0
# How long a process waits for the others (joining, and each all-reduce) before it fails.
GROUP_TIMEOUT = datetime.timedelta(seconds=30)


def problem() -> tuple[nl.Sequential, nl.FloatArray, nl.FloatArray]:
    """The model every process starts from and the data: fixed seeds, so the same in each."""
    X, Y = nl.datasets.two_moons(128, noise=0.1, rng=0)
    return nl.two_layer_network(2, 8, rng=0), X, Y


def halves(n_rows: int, epochs: int, world_size: int) -> Iterator[list[np.ndarray]]:
    """Each step's batch, split into one equal part per process: the same split in each process,
    which draws the same shuffles from the same seed."""
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order = rng.permutation(n_rows)
        for start in range(0, n_rows, BATCH_SIZE):
            yield np.array_split(order[start : start + BATCH_SIZE], world_size)


def train(rank: int, world_size: int, port: int, folder: str) -> None:
    """One process: join the group, train on this process's half of every batch, and write the
    first step's gradients, the final weights and the loss on all rows, before training and after
    each epoch, to ``folder/rank{rank}.npz``."""
    torch.set_num_threads(1)  # one core per process
    torch.distributed.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=GROUP_TIMEOUT,
    )
    try:
        model, X, Y = problem()
        # float64, as the nnlite model is; DDP starts every process from rank 0's weights
        module = torch.nn.parallel.DistributedDataParallel(to_torch(model))
        criterion = to_torch(nl.MSELoss())  # 1/(2n) sum over this process's n rows
        optimizer = torch.optim.SGD(module.parameters(), lr=LEARNING_RATE)
        X_t, Y_t = torch.from_numpy(X), torch.from_numpy(Y)
        steps_per_epoch = len(X) // BATCH_SIZE
        with torch.no_grad():
            losses = [criterion(module(X_t), Y_t).item()]  # before the first step
        first_gradients = {}
        for step, parts in enumerate(halves(len(X), EPOCHS, world_size)):
            rows = torch.from_numpy(parts[rank])  # this process's half of the batch
            optimizer.zero_grad()
            criterion(module(X_t[rows]), Y_t[rows]).backward()  # and all-reduce: the average
            if step == 0:
                first_gradients = {
                    f"grad.{name}": p.grad.numpy().copy() for name, p in module.named_parameters()
                }
            optimizer.step()
            if (step + 1) % steps_per_epoch == 0:
                with torch.no_grad():
                    losses.append(criterion(module(X_t), Y_t).item())
                if rank == 0:
                    print(f"epoch {len(losses) - 1:2d}: loss {losses[-1]:.6f} on all {len(X)} rows")
        weights = {f"weight.{name}": p.detach().numpy() for name, p in module.named_parameters()}
        np.savez(Path(folder) / f"rank{rank}.npz", losses=losses, **first_gradients, **weights)
    finally:
        torch.distributed.destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system's pick). Should another
    program take it before rank 0 listens on it, the processes fail to meet: an error, not a
    hang."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(folder: str, *, world_size: int = WORLD_SIZE, timeout: float = 120.0) -> None:
    """Start ``world_size`` processes running ``train`` and wait for them, at most ``timeout``
    seconds: when one fails, or time runs out, the others are stopped and this raises."""
    context = torch.multiprocessing.start_processes(
        train, args=(world_size, free_port(), folder), nprocs=world_size, join=False
    )
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{world_size} processes still training after {timeout} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
            process.join()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        run(scratch)
