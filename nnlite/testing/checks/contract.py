"""The contract checks: accumulation, no mutation, no aliasing, a repeatable backward, purity
across batches, and the base class's boundary checks."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import as_float_array
from nnlite.layer import Layer
from nnlite.testing._compare import allowed_difference, at, fail, first_true, worst_mismatch
from nnlite.testing._pinning import Pinned, declares, layers_of, replica, set_mode
from nnlite.testing.checks._run import Run, start
from nnlite.typing import FloatArray, RngLike


def check_accumulates(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """backward adds into every ``parameter.grad`` (``+=``, never ``=``): from gradients that are
    not zero, and twice for two calls; ``zero_grad`` resets every parameter (tied ones too);
    ``backward_parameters`` adds exactly what backward adds, without zeroing in between."""
    run = start("accumulates", layer, x, grad_y, rng)
    parameters = list(run.layer.named_parameters())
    if not parameters:
        return
    run.backward()
    once = run.grads()
    run.backward()
    _expect_sum(run, "a second backward", run.grads(), once, once)

    run.layer.zero_grad()
    for name, parameter in parameters:
        if np.any(parameter.grad != 0):
            raise fail("accumulates", run.subject, f"zero_grad() left parameter '{name}' nonzero")

    start_values = {
        name: run.rng.standard_normal(p.shape).astype(p.dtype) for name, p in parameters
    }
    for name, parameter in parameters:
        parameter.grad[...] = start_values[name]
    run.backward()
    _expect_sum(run, "backward on gradients that were not zero", run.grads(), start_values, once)

    run.layer.zero_grad()
    run.backward()
    run.layer.backward_parameters(run.grad_y.copy())
    _expect_sum(run, "backward then backward_parameters", run.grads(), once, once)


def _expect_sum(
    run: Run,
    what: str,
    got: dict[str, FloatArray],
    first: dict[str, FloatArray],
    second: dict[str, FloatArray],
) -> None:
    for name, values in got.items():
        expected = first[name] + second[name]
        index = worst_mismatch(values, expected, allowed_difference(expected, 0.0, run.eps))
        if index is not None:
            raise fail(
                "accumulates",
                run.subject,
                f"after {what}, parameter '{name}'.grad is not the sum of the two gradients "
                f"(backward must add into .grad with +=, not assign it): at index {index} "
                f"expected {at(expected, index)}, got {at(values, index)}",
            )


def check_no_mutation(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """forward leaves x as it was, backward leaves grad_y as it was, and neither changes a
    parameter's values."""
    run = start("no_mutation", layer, x, grad_y, rng)
    # x as given, not run.x: start's forward may have changed that copy already, and a change that
    # a second forward repeats to no effect (x -= x.max()) would then go unseen.
    given = np.array(as_float_array(x, run.layer, "input"), copy=True)
    before = {name: p.data.copy() for name, p in layer.named_parameters()}  # the same, as given
    given_x = given.copy()
    run.pinned.forward(given_x)
    _unchanged(run, "forward", "its input x", given_x, given)
    given_grad_y = run.grad_y.copy()
    run.layer.backward(given_grad_y)
    _unchanged(run, "backward", "its argument grad_y", given_grad_y, run.grad_y)
    for name, parameter in run.layer.named_parameters():
        _unchanged(run, "forward or backward", f"parameter '{name}'", parameter.data, before[name])


def _unchanged(run: Run, call: str, what: str, now: FloatArray, was: FloatArray) -> None:
    changed = ~((now == was) | (np.isnan(now) & np.isnan(was)))
    index = first_true(changed)
    if index is not None:
        raise fail(
            "no_mutation",
            run.subject,
            f"{call} modified {what} in place: at index {index} it was {at(was, index)}, now "
            f"{at(now, index)} ({_elements(int(np.count_nonzero(changed)))} changed); compute into "
            "a new array",
        )


def _elements(count: int) -> str:
    return f"{count} element{'s' if count != 1 else ''}"


def check_no_aliasing(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """An output or dL/dx that one call returned is not changed by later calls: a layer does not
    hand out a buffer it reuses."""
    run = start("no_aliasing", layer, x, grad_y, rng)
    y = run.pinned.forward(run.x)
    grad_x = run.layer.backward(run.grad_y.copy())
    kept_y, kept_grad_x = np.array(y, copy=True), np.array(grad_x, copy=True)
    other_x = run.x + run.rng.standard_normal(run.x.shape).astype(run.x.dtype)
    run.pinned.forward(other_x)
    run.layer.backward(-2 * run.grad_y)
    for name, returned, kept in (("forward's output", y, kept_y), ("dL/dx", grad_x, kept_grad_x)):
        index = worst_mismatch(returned, kept, 0.0)
        if index is not None:
            raise fail(
                "no_aliasing",
                run.subject,
                f"the array one call returned as {name} was changed by the next forward and "
                f"backward: at index {index} it held {at(kept, index)}, now {at(returned, index)}"
                "; return a new array from each call",
            )


def check_repeatable_backward(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """A second backward after one forward gives the same dL/dx and parameter gradients: backward
    does not consume or change what forward cached."""
    run = start("repeatable_backward", layer, x, grad_y, rng)
    first, first_grads = run.backward(), run.grads()
    run.layer.zero_grad()
    second, second_grads = run.backward(), run.grads()
    pairs = [("dL/dx", first, second)] + [
        (f"parameter '{name}'.grad", first_grads[name], second_grads[name]) for name in first_grads
    ]
    for name, a, b in pairs:
        index = worst_mismatch(b, a, allowed_difference(a, 0.0, run.eps))
        if index is not None:
            raise fail(
                "repeatable_backward",
                run.subject,
                f"a second backward after the same forward gave a different {name}: at index "
                f"{index} {at(a, index)}, then {at(b, index)}; backward must not change or "
                "consume what forward cached",
            )


def check_pure(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """forward(x) after a forward of another batch equals forward(x) on a fresh copy: the layer
    keeps no hidden state between batches.

    A layer that declares ``stateful`` (running statistics updated in training) is checked in
    evaluation mode, where it must be pure.
    """
    stateful = declares(layer, "stateful")
    run = start("pure", layer, x, grad_y, rng, mode=False if stateful else None)
    other = run.x * 2 + run.rng.standard_normal(run.x.shape).astype(run.x.dtype)
    # Two copies of the layer as it was given, before the forward run.layer has seen.
    fresh, used = replica(layer), replica(layer)
    for copy_ in (fresh, used):
        set_mode(copy_, run.layer)
    alone = np.array(Pinned(fresh, restore=False).forward(run.x.copy()), copy=True)
    pinned_used = Pinned(used, restore=False)
    pinned_used.forward(other)
    after_other = np.array(pinned_used.forward(run.x.copy()), copy=True)
    index = worst_mismatch(after_other, alone, allowed_difference(alone, 0.0, run.eps))
    if index is not None:
        hint = (
            "in evaluation mode a stateful layer must not change what its forward reads"
            if stateful
            else "if the layer keeps state between batches by design (running statistics), "
            "declare stateful = True on its class; it is then checked pure in evaluation mode"
        )
        raise fail(
            "pure",
            run.subject,
            f"forward(x) after a forward of another batch differs from forward(x) on a fresh "
            f"copy, at index {index}: {at(after_other, index)} against {at(alone, index)}; {hint}",
        )


def check_boundary(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """The base class's boundary checks still hold for the layer as written: backward before
    forward raises a RuntimeError (nnlite's StateError), a grad_y of the wrong shape raises a
    ValueError, and a complex input a TypeError."""
    run = start("boundary", layer, x, grad_y, rng)
    fresh = replica(run.layer)
    for inner in layers_of(fresh):
        inner._output_shape = None  # as it was before any forward
    _expect_raise(run, RuntimeError, "backward before any forward", fresh.backward, run.grad_y)
    run.pinned.forward(run.x)
    wrong = np.zeros((run.y.shape[0] + 1, *run.y.shape[1:]), dtype=run.y.dtype)
    _expect_raise(
        run,
        ValueError,
        f"backward with grad_y of shape {wrong.shape}, not {run.y.shape}",
        run.layer.backward,
        wrong,
    )
    _expect_raise(
        run, TypeError, "forward on a complex input", run.layer, run.x.astype(np.complex128)
    )


def _expect_raise(
    run: Run, error: type[Exception], what: str, call: object, argument: FloatArray
) -> None:
    try:
        call(argument)  # type: ignore[operator]
    except error:
        return
    except Exception as other:
        raise fail(
            "boundary",
            run.subject,
            f"{what} raised {type(other).__name__} ({other}), not a {error.__name__}: does the "
            "layer bypass nnlite.Layer's checked forward and backward?",
        ) from other
    raise fail(
        "boundary",
        run.subject,
        f"{what} raised nothing, where nnlite.Layer raises a {error.__name__}: does the layer "
        "replace forward, backward or __call__ in a way that skips the base class's checks?",
    )
