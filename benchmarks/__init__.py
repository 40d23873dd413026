"""The benchmark: one training step of the derivation's network, nnlite's against the others.

Run it from a checkout, with the contenders installed (``pip install -e ".[bench]"``)::

    python -m benchmarks                 # every size and dtype, 3 runs each, curves, extras
    python -m benchmarks --quick         # the CI smoke run: tiny, float64, seconds
    python -m benchmarks --sizes tiny,small --runs 1 --no-growth --no-extras
    python -m benchmarks --write-docs    # the full run, then docs/performance.md and its figure

The modules: :mod:`~benchmarks.problem` (the sizes and the batch), :mod:`~benchmarks.handwritten`
and :mod:`~benchmarks.contenders` (the steps timed), :mod:`~benchmarks.timing` (interleaved
samples), :mod:`~benchmarks.runner` (each job in a process of its own), :mod:`~benchmarks.breakdown`
and :mod:`~benchmarks.digits` (memory, the parts of nnlite's step, the digits end to end),
:mod:`~benchmarks.cnn` (one step of the digits' CNN, nnlite's against PyTorch's),
:mod:`~benchmarks.goals`, :mod:`~benchmarks.report` (the tables) and :mod:`~benchmarks.page` (the
page, from the template ``page.md.in``).
"""
