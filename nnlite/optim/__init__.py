"""Optimizers: update each parameter's ``data`` in place from its ``grad``.

The training loop is PyTorch's::

    optimizer = SGD(model.parameters(), lr=0.1)
    for x, y in batches:
        optimizer.zero_grad()
        loss(model(x), y)
        model.backward(loss.backward())
        optimizer.step()

The rules are PyTorch's (``torch.optim.SGD``, ``Adam``, ``AdamW`` and ``RMSprop``), so
hyperparameters carry over. A step writes into the existing ``parameter.data`` arrays, so references
to them (a layer's weight, a view) stay valid. The optimizer's state and scratch arrays are made
once, when it is created, so a step allocates at most one array: SGD's update ``w -= lr * d`` makes
one temporary of the parameter it updates, freed at once, as a hand-written step does (a scratch
array held for it would add to the memory of the whole run). Every optimizer's state (its moving
averages, its step count, and its learning rate, which a schedule changes) is in
``state_dict()``, and ``load_state_dict`` puts it back, strictly, to resume a run where it
stopped.

Each rule is its own module (:mod:`~nnlite.optim.sgd`, :mod:`~nnlite.optim.adam`,
:mod:`~nnlite.optim.rmsprop`), a few in-place lines under the docstring that writes it out; they
share the base class and its checks (:mod:`~nnlite.optim.base`).
"""

from nnlite.optim.adam import Adam, AdamW
from nnlite.optim.base import Optimizer
from nnlite.optim.rmsprop import RMSprop
from nnlite.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop"]
