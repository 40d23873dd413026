"""The contenders: nnlite's training step, the hand-written ones, PyTorch and JAX-jit.

Each contender is a function ``make(problem) -> step`` that builds its own copy of the network
from the problem's weights; ``step()`` runs one training step and returns the loss as a Python
float (as ``nl.fit`` needs it, so an asynchronous engine must finish the step). Its docstring's
first paragraph is what the docs page says about it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import nnlite as nl
from benchmarks.handwritten import Step, plain_step, tuned_step
from benchmarks.problem import LR, Problem, nnlite_model
from nnlite.training import _LastFinite


def nnlite_step(problem: Problem, lr: float = LR) -> Step:
    """nnlite's training step exactly as ``nl.fit`` runs it on one batch (the code below, which
    ``tests/test_benchmark.py`` holds to ``nl.fit``'s), with ``two_layer_network``, ``MSELoss``
    and ``nl.optim.SGD``; in float32 the same layers are built with
    ``Linear(..., dtype=np.float32)`` (``two_layer_network`` takes no dtype)."""
    X, Y = problem.X, problem.Y
    model = nnlite_model(problem)
    loss = nl.MSELoss()
    parameters = model.parameters()
    optimizer = nl.optim.SGD(parameters, lr=lr)
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


def import_torch() -> Any:
    """torch, its OpenMP workers set to sleep when idle.

    By default PyTorch's OpenMP workers keep spinning for a while after each parallel region, and
    on a 2-core machine they take the CPU from whatever is timed next: measured at the large size,
    the contender timed right after PyTorch was up to 20% slower, and PyTorch itself slower too
    (its workers fight numpy's BLAS threads). ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep, as
    they would cost nothing to a program that runs PyTorch alone. It must be set before torch is
    first imported, and a value the caller set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return importlib.import_module("torch")


def torch_step(problem: Problem, lr: float = LR) -> Step:
    """PyTorch (CPU, its default threads, ``OMP_WAIT_POLICY=PASSIVE``):
    ``torch.nn.Sequential(Linear(bias=False), Sigmoid(), <ones-column concat>, Linear(bias=False),
    Sigmoid())``, the loss ``((y - t)**2).sum() / (2N)``, autograd, ``torch.optim.SGD``."""
    torch = import_torch()
    module: Any = torch.nn.Module

    class AppendOnes(module):  # type: ignore[misc]  # torch is untyped here
        """z -> [z, 1]: the ones column, concatenated as nnlite's BiasAppend does."""

        def forward(self, z: Any) -> Any:
            return torch.cat([z, torch.ones(z.shape[0], 1, dtype=z.dtype)], dim=1)

    dtype = torch.float64 if problem.X.dtype == np.float64 else torch.float32
    (n_in, n_hidden), n_out = problem.W1.shape, problem.W2.shape[1]
    first = torch.nn.Linear(n_in, n_hidden, bias=False, dtype=dtype)
    second = torch.nn.Linear(n_hidden + 1, n_out, bias=False, dtype=dtype)
    with torch.no_grad():  # torch's weight is laid out (out, in): the transpose of nnlite's
        first.weight.copy_(torch.from_numpy(np.ascontiguousarray(problem.W1.T)))
        second.weight.copy_(torch.from_numpy(np.ascontiguousarray(problem.W2.T)))
    model = torch.nn.Sequential(first, torch.nn.Sigmoid(), AppendOnes(), second, torch.nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    X, Y = torch.from_numpy(problem.X), torch.from_numpy(problem.Y)
    n = problem.X.shape[0]

    def step() -> float:
        optimizer.zero_grad()
        loss = ((model(X) - Y) ** 2).sum() / (2 * n)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def import_jax() -> Any:
    """jax on the CPU, with float64 enabled (JAX computes in float32 only, unless told).

    ``JAX_PLATFORMS=cpu`` keeps it from probing for accelerators; a value the caller set is kept.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    jax = importlib.import_module("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_step(problem: Problem, lr: float = LR) -> Step:
    """JAX (CPU): the network as one function of the weights (``X @ W1``, ``jax.nn.sigmoid``,
    a ones column by ``jnp.concatenate``, ``Z1 @ W2``, ``jax.nn.sigmoid``), the loss
    ``sum((Y - y_hat)**2) / (2N)``, and the whole step, ``jax.value_and_grad`` and the update
    ``W - lr * grad``, compiled by ``jax.jit`` with the weights' buffers donated to the update
    (compiled during the warm-up, not timed)."""
    jax = import_jax()
    jnp = jax.numpy

    def loss_of(weights: tuple[Any, Any], X: Any, Y: Any) -> Any:
        W1, W2 = weights
        Z = jax.nn.sigmoid(X @ W1)
        Z1 = jnp.concatenate([Z, jnp.ones((Z.shape[0], 1), dtype=Z.dtype)], axis=1)
        y_hat = jax.nn.sigmoid(Z1 @ W2)
        return jnp.sum((Y - y_hat) ** 2) / (2 * X.shape[0])

    @functools.partial(jax.jit, donate_argnums=0)
    def update(weights: tuple[Any, Any], X: Any, Y: Any) -> tuple[Any, tuple[Any, Any]]:
        value, grads = jax.value_and_grad(loss_of)(weights, X, Y)
        W1, W2 = weights
        return value, (W1 - lr * grads[0], W2 - lr * grads[1])

    # jnp.array copies: the donated buffers must not be the problem's own arrays.
    state = [(jnp.array(problem.W1), jnp.array(problem.W2))]
    X, Y = jnp.array(problem.X), jnp.array(problem.Y)

    def step() -> float:
        value, state[0] = update(state[0], X, Y)
        return float(value)

    return step


@dataclass(frozen=True)
class Contender:
    """One contender: its name in the tables, its step, and the module it needs beyond numpy."""

    name: str
    make: Callable[[Problem], Step]
    requires: str | None = None

    @property
    def description(self) -> str:
        """The first paragraph of ``make``'s docstring, on one line."""
        doc = inspect.getdoc(self.make) or ""
        return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")  # reST -> Markdown

    def missing(self) -> str | None:
        """Why this contender cannot run here, or None when it can."""
        if self.requires is None or importlib.util.find_spec(self.requires) is not None:
            return None
        return f"{self.requires} is not installed"


NNLITE, PLAIN, TUNED, TORCH, JAX = "nnlite", "plain", "tuned", "PyTorch", "JAX-jit"
CONTENDERS = {
    contender.name: contender
    for contender in (
        Contender(NNLITE, nnlite_step),
        Contender(PLAIN, plain_step),
        Contender(TUNED, tuned_step),
        Contender(TORCH, torch_step, requires="torch"),
        Contender(JAX, jax_step, requires="jax"),
    )
}
BASELINES = (PLAIN, TUNED, TORCH, JAX)
"""The contenders nnlite's time is divided by, in the tables' order."""


def available(names: tuple[str, ...] | None = None) -> tuple[list[str], dict[str, str]]:
    """The contenders (of ``names``, default all) that can run here, and why the others cannot."""
    chosen = list(CONTENDERS) if names is None else list(names)
    missing = {name: CONTENDERS[name].missing() for name in chosen}
    return [name for name in chosen if missing[name] is None], {
        name: reason for name, reason in missing.items() if reason is not None
    }
