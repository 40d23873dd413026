"""One training step of ``nl.digits_cnn``, the CNN of ``nnlite train --model cnn``: nnlite's
against PyTorch's (CPU), on the same batch from the same weights.

Both steps are the CNN's training as the command runs it: a batch of ``CNN_BATCH`` digit-sized
rows (N, 64), the cross-entropy of the softmax of the logits, the gradients, and an Adam update
with the command's learning rate. They are timed interleaved (:mod:`benchmarks.timing`), in a
process of their own, in float64.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import nnlite as nl
from benchmarks.contenders import NNLITE, TORCH, import_torch
from benchmarks.handwritten import Step
from benchmarks.problem import SEED
from benchmarks.timing import Timing, time_interleaved
from nnlite._cli_commands import CNN_DEFAULTS
from nnlite.training import _LastFinite
from nnlite.typing import FloatArray

CNN_BATCH = CNN_DEFAULTS.batch_size
CNN_ROUNDS = 40
CNN_SAMPLE_SECONDS = 0.05


def cnn_batch(n: int = CNN_BATCH) -> tuple[FloatArray, FloatArray]:
    """A batch shaped as the digits': X (n, 64) uniform in [0, 1), Y one-hot (n, 10), seed 0."""
    rng = np.random.default_rng(SEED)
    X = rng.random((n, 64))
    Y = np.eye(10)[rng.integers(0, 10, n)]
    return X, Y


def nnlite_cnn_step(X: FloatArray, Y: FloatArray) -> Step:
    """``nl.digits_cnn(rng=0)``, ``SoftmaxCrossEntropyLoss``, ``nl.optim.Adam``, the step as
    ``nl.fit`` runs it (``tests/test_benchmark_cnn.py`` holds it to ``nl.fit``'s)."""
    model = nl.digits_cnn(rng=SEED)
    loss = nl.SoftmaxCrossEntropyLoss()
    parameters = model.parameters()
    optimizer = nl.optim.Adam(parameters, lr=CNN_DEFAULTS.lr)
    last_finite = _LastFinite(model)  # fit's guard: the weights before each update are kept
    step = epoch = batch = 0  # where fit would say the loss diverged (it never does here)

    def one_step() -> float:
        for parameter in parameters:
            parameter.zero_grad()
        value = loss(model(X), Y)
        if not math.isfinite(value):  # before the update: these weights are kept
            raise last_finite.diverged(value, step, epoch, batch)
        model.backward_parameters(loss.backward())
        last_finite.keep()
        optimizer.step()
        return value

    return one_step


def torch_cnn_step(X: FloatArray, Y: FloatArray, threads: int | None = None) -> Step:
    """CPU, its default threads, ``OMP_WAIT_POLICY=PASSIVE``: the same network and
    weights (``nnlite.interop.to_torch(nl.digits_cnn(rng=0))``: ``Unflatten``, ``Conv2d``,
    ``ReLU``, ``MaxPool2d``, ``Flatten``, ``Linear``), ``torch.nn.functional.cross_entropy``
    with the one-hot targets, autograd, ``torch.optim.Adam``.

    With ``threads``, PyTorch's thread count is set to it for each step and restored after it.
    """
    torch = import_torch()
    from nnlite import interop

    module: Any = interop.to_torch(nl.digits_cnn(rng=SEED))
    optimizer = torch.optim.Adam(module.parameters(), lr=CNN_DEFAULTS.lr)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> float:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(inputs), targets)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    if threads is None:
        return step

    def on_threads() -> float:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return step()
        finally:
            torch.set_num_threads(before)

    return on_threads


TORCH_ONE_THREAD = f"{TORCH}, 1 thread"
CNN_CONTENDERS: dict[str, Callable[[FloatArray, FloatArray], Step]] = {
    NNLITE: nnlite_cnn_step,
    TORCH: torch_cnn_step,
    TORCH_ONE_THREAD: functools.partial(torch_cnn_step, threads=1),
}


def measure_cnn(rounds: int = CNN_ROUNDS) -> dict[str, Timing]:
    """Both steps timed interleaved; PyTorch's only when torch is installed."""
    X, Y = cnn_batch()
    torch = [TORCH, TORCH_ONE_THREAD] if importlib.util.find_spec("torch") is not None else []
    names = [NNLITE, *torch]
    steps = {name: CNN_CONTENDERS[name](X, Y) for name in names}
    return time_interleaved(steps, rounds, CNN_SAMPLE_SECONDS)
