"""The two hand-written baselines: the derivation's equations in numpy, with no framework.

``plain`` writes each equation as one numpy expression, as a learner would; every step allocates
a fresh array for every intermediate. ``tuned`` computes the same equations into arrays allocated
once, with ``out=`` and in-place operators: no temporaries at all. On this machine a fresh array
of a few hundred kB may or may not cost page faults, depending on the allocator's history, so the
plain step's time at the medium size moves between two speeds; the tuned one does not, and it is
the baseline of the goals at the larger sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.problem import LR, FloatArray, Problem

Step = Callable[[], float]
"""One training step; returns the loss of the batch as a Python float."""


def sigmoid(h: FloatArray) -> FloatArray:
    """sigma(h) = 1 / (1 + exp(-h)), the textbook form (eq. 3 and 5)."""
    result: FloatArray = 1 / (1 + np.exp(-h))
    return result


def plain_gradients(
    X: FloatArray, Y: FloatArray, W1: FloatArray, W2: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """L and dL/dW1, dL/dW2 of the derivation's network, one numpy expression per equation.

    H = X W1, Z = sigma(H), Z1 = [Z, 1], O = Z1 W2, y_hat = sigma(O), L = 1/(2N) sum (Y - y_hat)^2;
    delta = dL/dO = -(Y - y_hat)/N * y_hat (1 - y_hat); dL/dW2 = Z1^T delta (eq. 7);
    dL/dH = (delta W2[:-1]^T) * Z (1 - Z); dL/dW1 = X^T dL/dH (eq. 9).

    Args:
        X: (N, n_in). Y: (N, n_out). W1: (n_in, n_hidden). W2: (n_hidden + 1, n_out).

    Returns:
        ``(L, grad_W1, grad_W2)``, the gradients of the weights' shapes.
    """
    n = X.shape[0]
    H = X @ W1  # eq. 2
    Z = sigmoid(H)  # eq. 3
    Z1 = np.concatenate([Z, np.ones((n, 1), dtype=Z.dtype)], axis=1)
    O = Z1 @ W2  # eq. 4  # noqa: E741 (the derivation's name)
    y_hat = sigmoid(O)  # eq. 5
    residual = Y - y_hat
    loss = float(np.sum(residual**2)) / (2 * n)  # eq. 1
    delta = -residual / n * y_hat * (1 - y_hat)  # dL/dO
    grad_W2 = Z1.T @ delta  # eq. 7
    grad_H = (delta @ W2[:-1].T) * Z * (1 - Z)  # the bias row of W2 does not reach Z
    grad_W1 = X.T @ grad_H  # eq. 9
    return loss, grad_W1, grad_W2


def plain_step(problem: Problem, lr: float = LR) -> Step:
    """The derivation's equations in plain numpy, one expression each: textbook sigmoid
    1/(1 + exp(-h)), its derivative as sigma (1 - sigma), the ones column by ``np.concatenate``,
    ``W -= lr * grad``; no input gradient, no checks (``plain_gradients`` in
    ``benchmarks/handwritten.py``)."""
    X, Y = problem.X, problem.Y
    weights = (problem.W1.copy(), problem.W2.copy())

    def step() -> float:
        W1, W2 = weights
        loss, grad_W1, grad_W2 = plain_gradients(X, Y, W1, W2)
        W1 -= lr * grad_W1  # in place: the arrays in ``weights``
        W2 -= lr * grad_W2
        return loss

    return step


class TunedBuffers:
    """Every intermediate of the step, allocated once for one batch shape and dtype.

    ``Z1`` is (N, n_hidden + 1) with its last column set to ones once; ``Z`` is a view of its
    first n_hidden columns, so sigma(H) is written straight into place and the ones column is
    never copied.
    """

    def __init__(self, n: int, n_in: int, n_hidden: int, n_out: int, dtype: np.dtype[Any]) -> None:
        self.H = np.empty((n, n_hidden), dtype)
        self.Z1 = np.empty((n, n_hidden + 1), dtype)
        self.Z1[:, -1] = 1
        self.Z = self.Z1[:, :-1]
        self.hidden = np.empty((n, n_hidden), dtype)  # sigma' of the hidden layer, then dL/dH
        self.O = np.empty((n, n_out), dtype)
        self.residual = np.empty((n, n_out), dtype)
        self.delta = np.empty((n, n_out), dtype)
        self.grad_W1 = np.empty((n_in, n_hidden), dtype)
        self.grad_W2 = np.empty((n_hidden + 1, n_out), dtype)


def _sigmoid_into(h: FloatArray, out: FloatArray) -> None:
    """out = 1 / (1 + exp(-h)), in four passes over ``out`` and no temporary."""
    np.negative(h, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def tuned_gradients(
    X: FloatArray, Y: FloatArray, W1: FloatArray, W2: FloatArray, buffers: TunedBuffers
) -> tuple[float, FloatArray, FloatArray]:
    """``plain_gradients`` computed into ``buffers``: the same equations, no fresh array.

    Returns:
        ``(L, grad_W1, grad_W2)``; the gradients are ``buffers.grad_W1`` and ``buffers.grad_W2``,
        overwritten by the next call.
    """
    b = buffers
    n = X.shape[0]
    np.matmul(X, W1, out=b.H)  # eq. 2
    _sigmoid_into(b.H, b.Z)  # eq. 3, into the first columns of Z1 = [Z, 1]
    np.matmul(b.Z1, W2, out=b.O)  # eq. 4
    y_hat = b.O
    _sigmoid_into(b.O, y_hat)  # eq. 5, in place
    np.subtract(Y, y_hat, out=b.residual)
    loss = float(np.vdot(b.residual, b.residual)) / (2 * n)  # eq. 1
    np.subtract(1, y_hat, out=b.delta)  # delta = -(Y - y_hat)/N * y_hat (1 - y_hat)
    b.delta *= y_hat
    b.delta *= b.residual
    b.delta *= -1 / n
    np.matmul(b.Z1.T, b.delta, out=b.grad_W2)  # eq. 7
    np.subtract(1, b.Z, out=b.hidden)  # dL/dH = (delta W2[:-1]^T) * Z (1 - Z)
    b.hidden *= b.Z
    back = np.matmul(b.delta, W2[:-1].T, out=b.H)  # H is no longer needed: reuse it
    b.hidden *= back
    np.matmul(X.T, b.hidden, out=b.grad_W1)  # eq. 9
    return loss, b.grad_W1, b.grad_W2


def tuned_step(problem: Problem, lr: float = LR) -> Step:
    """The same equations as ``plain``, with no temporaries: every intermediate computed with
    ``out=`` and in-place operators into arrays allocated once, the ones column set once,
    ``grad *= lr; W -= grad`` (``tuned_gradients`` in ``benchmarks/handwritten.py``)."""
    X, Y = problem.X, problem.Y
    weights = (problem.W1.copy(), problem.W2.copy())
    n_hidden, n_out = problem.W1.shape[1], problem.W2.shape[1]
    buffers = TunedBuffers(X.shape[0], X.shape[1], n_hidden, n_out, X.dtype)

    def step() -> float:
        W1, W2 = weights
        loss, grad_W1, grad_W2 = tuned_gradients(X, Y, W1, W2, buffers)
        grad_W1 *= lr
        W1 -= grad_W1
        grad_W2 *= lr
        W2 -= grad_W2
        return loss

    return step
