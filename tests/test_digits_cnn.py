"""digits_cnn and ``nnlite train --model cnn``: the network, a cheap run of the command, its save
and load, and its errors.

The accuracy itself (98.5% and more with the defaults) is measured by
``python examples/digits_cnn.py --seeds 0 1 2 3 4``, not here: these runs train one epoch.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from nnlite.cli import main


def test_digits_cnn_is_the_documented_stack() -> None:
    model = nl.digits_cnn(rng=0)
    assert [type(layer).__name__ for layer in model] == [
        "Unflatten", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten",
        "Linear",
    ]  # fmt: skip
    assert model(np.zeros((3, 64))).shape == (3, 10)
    assert nl.digits_cnn(4, rng=0)(np.zeros((3, 64))).shape == (3, 4)
    assert model.num_parameters() == (9 * 16 + 16) + (16 * 9 * 32 + 32) + (128 * 10 + 10)


def test_the_same_seed_gives_the_same_network() -> None:
    first, second = nl.digits_cnn(rng=3).state_dict(), nl.digits_cnn(rng=3).state_dict()
    assert all(np.array_equal(first[name], second[name]) for name in first)
    other = nl.digits_cnn(rng=4).state_dict()
    assert not np.array_equal(first["1.weight"], other["1.weight"])


def test_a_saved_cnn_loads_bit_for_bit_forward_and_backward(tmp_path: Path) -> None:
    model = nl.digits_cnn(rng=0)
    path = tmp_path / "cnn.npz"
    nl.save(model, path)
    loaded = nl.load(path)
    rng = np.random.default_rng(1)
    x, grad_y = rng.random((5, 64)), rng.standard_normal((5, 10))
    assert loaded(x).tobytes() == model(x).tobytes()
    assert loaded.backward(grad_y).tobytes() == model.backward(grad_y).tobytes()
    for (name, parameter), (_, other) in zip(
        model.named_parameters(), loaded.named_parameters(), strict=True
    ):
        assert parameter.grad.tobytes() == other.grad.tobytes(), name


def _percent(text: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)%", text)
    assert match, f"no {label!r} in:\n{text}"
    return float(match[1])


def test_train_model_cnn_for_one_epoch_then_predict_the_saved_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One epoch of the CNN's defaults (a few hundred ms): the model, the loss and the settings
    are the CNN's, and the saved model predicts what the trained one did."""
    pytest.importorskip("sklearn")
    path = tmp_path / "cnn.npz"
    arguments = ["train", "--model", "cnn", "--epochs", "1", "--no-progress", "--save", str(path)]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "(1) Conv2d(1, 16, kernel_size=(3, 3), padding=(1, 1))" in out
    assert "training: adam, lr 0.002, 1 epochs, batch size 32, seed 0" in out
    trained = _percent(out, "test accuracy")
    assert trained > 50.0  # one epoch of a working CNN is far above chance (10%)
    assert main(["predict", str(path)]) == 0
    assert _percent(capsys.readouterr().out, "test accuracy") == trained


@pytest.mark.parametrize(
    "arguments",
    [["--dataset", "moons"], ["--hidden", "8"], ["--input-bias"]],
    ids=["dataset", "hidden", "input-bias"],
)
def test_what_the_cnn_does_not_take_is_an_error(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--model", "cnn", "--no-progress", *arguments]) == 1
    assert capsys.readouterr().err == (
        "nnlite: error: --model cnn takes the digits only, without --hidden or --input-bias\n"
    )
