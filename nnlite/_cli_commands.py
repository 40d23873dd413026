"""What each ``nnlite`` command does, and the settings it trains with; :mod:`nnlite.cli` holds
the command line that reaches them."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from nnlite import datasets
from nnlite._architecture import input_width
from nnlite._cli_checks import (
    check_finite,
    custom_layers,
    plot_target,
    save_target,
)
from nnlite._validation import label
from nnlite.errors import ConversionError, MissingExtraError, NnliteError
from nnlite.layer import Layer
from nnlite.layers import BiasAppend
from nnlite.losses import MSELoss, SoftmaxCrossEntropyLoss
from nnlite.metrics import METRICS
from nnlite.networks import digits_cnn, two_layer_network
from nnlite.optim import SGD, Adam, Optimizer
from nnlite.plotting import plot_history
from nnlite.progress import Progress
from nnlite.sequential import Sequential
from nnlite.serialization import load, save
from nnlite.testing import check_gradients
from nnlite.training import History, accuracy, fit
from nnlite.typing import FloatArray


@dataclass(frozen=True)
class Defaults:
    """The training settings ``nnlite train`` uses for a data set unless told otherwise."""

    hidden: int
    epochs: int
    lr: float
    batch_size: int
    optimizer: str
    input_bias: bool = False


# Tuned so that the derivation's network (sigmoid hidden layer, bias column, sigmoid outputs, MSE)
# learns each set in about a second on 2 cores; digits reaches 97% test accuracy or more with the
# default seed (and with seeds 1 to 4) and a stratified 75/25 split.
#
# input_bias appends a column of ones to the input too, so the hidden layer gets a bias as the
# output layer does. The derivation's H = X W1 has none: each hidden unit is then
# sigma(w . x) = 1/2 + (an odd function of x), and so is any sum of them, which cannot separate
# data that is symmetric about the origin, like the two circles (it stays at 50%).
DEFAULTS = {
    "digits": Defaults(hidden=100, epochs=50, lr=0.005, batch_size=32, optimizer="adam"),
    "xor": Defaults(hidden=4, epochs=3000, lr=2.0, batch_size=4, optimizer="sgd"),
    "moons": Defaults(
        hidden=16, epochs=300, lr=0.05, batch_size=16, optimizer="adam", input_bias=True
    ),
    "circles": Defaults(
        hidden=16, epochs=300, lr=0.05, batch_size=16, optimizer="adam", input_bias=True
    ),
    "spirals": Defaults(
        hidden=64, epochs=300, lr=0.02, batch_size=32, optimizer="adam", input_bias=True
    ),
}

# --model cnn: nnlite.networks.digits_cnn, on the digits only, with a cross-entropy loss
# (98.89% test accuracy with seed 0, 98.71% on average over seeds 0 to 4).
CNN_DEFAULTS = Defaults(hidden=0, epochs=40, lr=0.002, batch_size=32, optimizer="adam")

OPTIMIZERS: dict[str, Callable[[Layer, float], Optimizer]] = {
    "sgd": lambda model, lr: SGD(model.parameters(), lr=lr),
    "sgd-momentum": lambda model, lr: SGD(model.parameters(), lr=lr, momentum=0.9),
    "adam": lambda model, lr: Adam(model.parameters(), lr=lr),
}

LOADERS: dict[str, Callable[[int], tuple[FloatArray, FloatArray]]] = {
    "digits": lambda seed: datasets.load_digits(),
    "xor": lambda seed: datasets.xor(),
    "moons": lambda seed: datasets.two_moons(rng=seed),
    "circles": lambda seed: datasets.circles(rng=seed),
    "spirals": lambda seed: datasets.spirals(rng=seed),
}

MAX_HIDDEN = 100_000
"""The most hidden units ``train --hidden`` takes: digits' 64 inputs then make 6.4 million
weights, and more is a typo rather than a plan (50 million ran out of memory)."""

MAX_CHECK_ROWS = 100_000
"""The most rows of ``check --batch-size``: each element checked costs four forwards of them."""


def train(args: argparse.Namespace) -> int:
    """``nnlite train``: train two_layer_network on a data set and report its accuracy."""
    cnn = args.model == "cnn"
    if cnn and (args.dataset != "digits" or args.hidden is not None or args.input_bias):
        raise NnliteError("--model cnn takes the digits only, without --hidden or --input-bias")
    settings = _settings(args)
    if args.save is not None:
        save_target(args.save)
    plot_path = plot_target(args.plot) if args.plot is not None else None
    data = _data(args.dataset, args.seed, args.test_size)
    n_in, n_out = data.X_train.shape[1], data.Y_train.shape[1]
    model = (
        digits_cnn(n_out, rng=args.seed) if cnn else _model(n_in, settings, n_out, seed=args.seed)
    )
    print(f"data: {args.dataset}, {data.n_train} training and {data.n_test} test rows ({data.how})")
    print(model)
    print(
        f"training: {settings.optimizer}, lr {settings.lr:g}, {settings.epochs} epochs, "
        f"batch size {settings.batch_size}, seed {args.seed}"
    )
    optimizer = OPTIMIZERS[settings.optimizer](model, settings.lr)
    start = time.perf_counter()
    history = fit(
        model,
        SoftmaxCrossEntropyLoss() if cnn else MSELoss(),
        optimizer,
        data.X_train,
        data.Y_train,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        rng=args.seed,
        validation_data=(data.X_test, data.Y_test),
        progress=args.progress,
        metrics=METRICS if plot_path is not None else (),  # for the plot to draw
    )
    seconds = time.perf_counter() - start
    print(f"train accuracy {accuracy(model(data.X_train), data.Y_train):.2%}")
    print(f"test accuracy  {accuracy(model(data.X_test), data.Y_test):.2%}")
    print(f"final loss     {history.loss[-1]:.4g} (train), {history.val_loss[-1]:.4g} (test)")
    print(f"wall time      {seconds:.2f} s for {history.epochs} epochs")
    if args.save is not None:
        save(model, args.save)
        print(f"saved the model to {args.save}")
    if plot_path is not None:
        name = "digits_cnn" if cnn else "two_layer_network"
        _plot(history, plot_path, title=f"{name} on {args.dataset}")
        print(f"saved the plot to {plot_path}")
    return 0


def check(args: argparse.Namespace) -> int:
    """``nnlite check``: load a saved model and check its gradients against finite differences."""
    model = _load(args)
    n_features = args.features if args.features is not None else _input_width(model)
    x = np.random.default_rng(args.seed).standard_normal((args.batch_size, n_features))
    print(model)
    bound = _check_bound(model, x, args.max_elements, args.time_limit)
    progress = _ElementProgress() if _showing(args.progress) else None
    try:
        report = check_gradients(model, x, rng=args.seed, max_elements=bound, progress=progress)
    except AssertionError as failure:
        print(failure)
        return 1
    finally:
        if progress is not None:
            progress.close()
    print(report)
    return 0


def predict(args: argparse.Namespace) -> int:
    """``nnlite predict``: the accuracy of a saved model on a data set."""
    model = _load(args)
    data = _data(args.dataset, args.seed, args.test_size)
    test = accuracy(model(data.X_test), data.Y_test)
    print(f"test accuracy  {test:.2%} ({data.n_test} rows, {data.how})")
    if data.held_out:
        X_all = np.concatenate([data.X_train, data.X_test])
        Y_all = np.concatenate([data.Y_train, data.Y_test])
        print(f"all rows       {accuracy(model(X_all), Y_all):.2%} ({X_all.shape[0]} rows)")
    return 0


def export(args: argparse.Namespace) -> int:
    """``nnlite export``: write a saved model as a PyTorch file or an ONNX graph.

    torch: nnlite.interop.save_torch, a state_dict and the architecture that
    ``torch.load(OUT, weights_only=True)`` reads without running code, and
    ``nnlite.interop.load_torch(OUT)`` turns back into the module. onnx: nnlite.interop.to_onnx,
    opset 17, batch size free.
    """
    from nnlite import interop  # imports torch or onnx only when run

    save_target(args.out, option="OUT")
    model = _load(args)
    try:
        if args.to == "torch":
            interop.save_torch(model, args.out)
            how = "load it with nnlite.interop.load_torch(path)"
        else:
            interop.to_onnx(model, args.out)
            how = f"ONNX opset {interop.ONNX_OPSET}, input 'x', output 'y'"
    except (TypeError, ValueError) as error:  # a model the target cannot express, said so
        if isinstance(error, NnliteError):
            raise
        raise ConversionError(str(error)) from error
    print(f"exported {args.path} to {args.out} ({how})")
    return 0


def _settings(args: argparse.Namespace) -> Defaults:
    """The data set's defaults, with every option given on the command line instead."""
    defaults = CNN_DEFAULTS if args.model == "cnn" else DEFAULTS[args.dataset]
    given = {
        field.name: getattr(args, field.name)
        for field in fields(Defaults)
        if getattr(args, field.name) is not None
    }
    return replace(defaults, **given)


def _model(n_in: int, settings: Defaults, n_out: int, *, seed: int) -> Sequential:
    """two_layer_network, after a BiasAppend on the input when ``settings.input_bias``."""
    if not settings.input_bias:
        return two_layer_network(n_in, settings.hidden, n_out, rng=seed)
    return Sequential(BiasAppend(), *two_layer_network(n_in + 1, settings.hidden, n_out, rng=seed))


@dataclass(frozen=True)
class _Split:
    """A data set's train and test rows, and a few words on how they were split."""

    X_train: FloatArray
    X_test: FloatArray
    Y_train: FloatArray
    Y_test: FloatArray
    how: str
    held_out: bool  # False: too small to split, the test rows are the training rows

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])


def _data(name: str, seed: int, test_size: float) -> _Split:
    """The data set split into train and test rows."""
    X, Y = LOADERS[name](seed)
    if X.shape[0] < 10:  # xor: four points, nothing to hold out
        return _Split(X, X, Y, Y, "too small to split: test rows are the training rows", False)
    try:
        parts = datasets.train_test_split(X, Y, test_size=test_size, stratify=True, rng=seed)
    except ValueError as error:  # a fraction that leaves a part, or a class, empty
        raise NnliteError(f"--test-size {test_size:g} does not fit {name}: {error}") from error
    return _Split(*parts, f"stratified {1 - test_size:.0%}/{test_size:.0%} split", True)


def _load(args: argparse.Namespace) -> Layer:
    """The model at ``args.path``, with the --custom-layers classes known, its weights finite."""
    model = load(args.path, custom_layers=custom_layers(args.custom_layers))
    check_finite(model, args.path)
    return model


def _input_width(model: Layer) -> int:
    """The input width the model's layers require (see nnlite._architecture.input_width)."""
    width = input_width(model)
    if width is None:
        raise NnliteError(
            f"cannot tell the input width of the model {label(model)}: pass --features N"
        )
    return width


def _check_bound(
    model: Layer, x: FloatArray, max_elements: int | None, time_limit: float
) -> int | None:
    """The most elements ``check`` estimates: ``--max-elements``, and no more than fit in
    ``--time-limit`` seconds, by the time of a forward measured here; None for every one."""
    total = x.size + sum(parameter.data.size for parameter in model.parameters())
    # An element costs four forwards of the checker's float64 copy, its bookkeeping about as
    # much again, and some Python besides: so measured on this machine (with much noise) on
    # models of 7 thousand to 1.1 million parameters. The first call is the slowest, so the
    # least of three is taken.
    per_element = 8 * min(_seconds(model, x) for _ in range(3)) + _ELEMENT_OVERHEAD
    in_time = max(1, int(time_limit / per_element))
    bound = min(in_time, max_elements if max_elements is not None else total)
    if bound >= total:
        return None
    why = (
        f"--max-elements {max_elements}"
        if bound == max_elements
        else f"to finish in about {time_limit:g} s: --time-limit"
    )
    print(f"checking a random share of each tensor, about {bound:,} of {total:,} elements ({why})")
    return bound


_ELEMENT_OVERHEAD = 3e-4
"""Seconds of Python per element checked, beyond its forwards (measured, see _check_bound)."""


def _seconds(model: Layer, x: FloatArray) -> float:
    start = time.perf_counter()
    model(x)
    return time.perf_counter() - start


def _showing(progress: bool | None) -> bool:
    """--progress, --no-progress, or neither: shown only when stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


class _ElementProgress:
    """``check_gradients``'s ``progress(done, total)`` shown as a Progress of elements."""

    def __init__(self) -> None:
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(total, enabled=True, unit="element")
        self.bar.update({})

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _plot(history: History, path: str, *, title: str) -> None:
    """plot_history, with the command's own word for a missing matplotlib."""
    try:
        plot_history(history, path, title=title)
    except MissingExtraError as error:
        raise MissingExtraError('--plot needs matplotlib: pip install "nnlite[plot]"') from error
