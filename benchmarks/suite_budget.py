"""What the conformance suite costs: ``check_layer`` on one small layer, at the CI profile.

Run it from a checkout::

    python -m benchmarks.suite_budget

It times ``nnlite.testing.check_layer(factory)`` (every check that applies, at the hypothesis
profile the tests use in CI: derandomized, 25 examples) for a few built-in layers and for the
derivation's two-layer network, in CPU seconds and wall seconds. The goal is about 2 s or less for
one small layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hypothesis import HealthCheck, settings

import nnlite as nl
from nnlite.testing import check_layer

FACTORIES: dict[str, Callable[[int], nl.Layer]] = {
    "Linear(n, 3)": lambda n: nl.Linear(n, 3, rng=0),
    "Sigmoid": lambda n: nl.Sigmoid(),
    "LayerNorm(n)": lambda n: nl.LayerNorm(n),
    "Dropout(0.3)": lambda n: nl.Dropout(0.3, rng=0),
    "BatchNorm1d(n)": lambda n: nl.BatchNorm1d(n),
    "two_layer_network(n, 3, 2)": lambda n: nl.two_layer_network(n, 3, 2, rng=0),
}


def main() -> None:
    settings.register_profile(
        "budget",
        deadline=None,
        derandomize=True,
        max_examples=25,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("budget")
    print(f"{'layer':<28} {'CPU s':>7} {'wall s':>7}")
    for name, factory in FACTORIES.items():
        wall, cpu = time.perf_counter(), time.process_time()
        check_layer(factory)
        print(f"{name:<28} {time.process_time() - cpu:>7.2f} {time.perf_counter() - wall:>7.2f}")


if __name__ == "__main__":
    main()
