"""Every nnlite optimizer step by step against torch.optim, for the same settings and gradients.

Skipped without torch. Parameters of three shapes, float64, ten steps of drawn gradients; after
every step the weights must agree to rtol 1e-12, with atol 1e-12 times the largest |w| of the run
(as in test_optim.py: where an update cancels, rounding is judged against its terms). PyTorch
computes the same formulas in its own order (``lerp`` for the moving averages), a few ulps away;
a wrong rule is off by far more.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import optim

torch: Any = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), ()]

# (nnlite class, torch class name, settings both take under the same names)
CASES: list[tuple[type[optim.Optimizer], str, dict[str, Any]]] = [
    (optim.SGD, "SGD", {"lr": 0.1}),
    (optim.SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (optim.SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    (optim.SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    (optim.Adam, "Adam", {"lr": 0.01}),
    (optim.Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}),
    (optim.Adam, "Adam", {"lr": 0.01, "betas": (0.5, 0.7), "amsgrad": True}),
    (optim.AdamW, "AdamW", {"lr": 0.01}),
    (optim.AdamW, "AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    (optim.RMSprop, "RMSprop", {}),
    (optim.RMSprop, "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9}),
    (optim.RMSprop, "RMSprop", {"lr": 0.01, "centered": True, "weight_decay": 0.1}),
    (
        optim.RMSprop,
        "RMSprop",
        {"lr": 0.005, "alpha": 0.8, "eps": 1e-4, "momentum": 0.5, "centered": True},
    ),
]


def _case_id(case: tuple[type[optim.Optimizer], str, dict[str, Any]]) -> str:
    kind, _, settings = case
    return kind.__name__ + "".join(f"-{k}={v}" for k, v in settings.items())


def run_both(
    make: Callable[[list[nl.Parameter]], optim.Optimizer],
    make_torch: Callable[[list[Any]], Any],
    steps: int = 10,
    seed: int = 0,
) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """The weights of both after each step, from the same start and the same gradients."""
    generator = np.random.default_rng(seed)
    initial = [generator.normal(size=shape) for shape in SHAPES]
    ours = [nl.Parameter(w.copy()) for w in initial]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in initial]
    optimizer, torch_optimizer = make(ours), make_torch(theirs)
    trajectory = []
    for _ in range(steps):
        for p, t in zip(ours, theirs, strict=True):
            g = generator.normal(size=p.shape)
            p.grad[...] = g
            t.grad = torch.from_numpy(g.copy())
        optimizer.step()
        torch_optimizer.step()
        trajectory.append(
            ([p.data.copy() for p in ours], [t.detach().numpy().copy() for t in theirs])
        )
    return trajectory


def assert_trajectories_match(trajectory: list[tuple[list[np.ndarray], list[np.ndarray]]]) -> None:
    scale = max(float(np.max(np.abs(w))) for _, expected in trajectory for w in expected)
    for step, (actual, expected) in enumerate(trajectory):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            np.testing.assert_allclose(
                a, e, rtol=1e-12, atol=1e-12 * scale, err_msg=f"step {step}, parameter {i}"
            )


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_each_step_equals_torch_optim(
    case: tuple[type[optim.Optimizer], str, dict[str, Any]],
) -> None:
    kind, torch_name, settings = case
    torch_kind = getattr(torch.optim, torch_name)
    assert_trajectories_match(
        run_both(lambda ps: kind(ps, **settings), lambda ts: torch_kind(ts, **settings))
    )


def test_the_comparison_can_fail() -> None:
    """Adam's L2 decay against AdamW's decoupled decay: same settings, another rule, caught."""
    trajectory = run_both(
        lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
        lambda ts: torch.optim.AdamW(ts, lr=0.01, weight_decay=0.1),
    )
    with pytest.raises(AssertionError):
        assert_trajectories_match(trajectory)


@pytest.mark.parametrize("torch_name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_the_defaults_are_torchs(torch_name: str) -> None:
    ours = inspect.signature(getattr(optim, torch_name)).parameters
    theirs = inspect.signature(getattr(torch.optim, torch_name)).parameters
    for name, parameter in ours.items():
        if name == "params" or (torch_name == "SGD" and name == "lr"):
            continue  # nnlite's SGD requires lr, as torch's did before 2.x
        assert name in theirs, name
        assert parameter.default == theirs[name].default, name
