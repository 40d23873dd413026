"""fit, predict, evaluate and accuracy."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.errors import ArgumentValueError, TrainingError
from nnlite.optim import SGD
from nnlite.training import accuracy, evaluate, fit, predict

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([[0.0], [1.0], [1.0], [0.0]])


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n, 3))
    Y = (X[:, :1] + X[:, 1:2] > 0).astype(float)
    return X, Y


def test_fit_learns_xor() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    history = fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=2.0), X_XOR, Y_XOR,
        epochs=3000, batch_size=4, rng=0, progress=False,
    )  # fmt: skip
    assert history.epochs == 3000
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert accuracy(model(X_XOR), Y_XOR) == 1.0


@given(n=st.integers(1, 11), batch_size=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_fit_is_the_minibatch_loop_written_out(n: int, batch_size: int, seed: int) -> None:
    """The same permutations, the same steps, the last partial batch averaged over its own rows:
    bit-identical weights and per-epoch losses."""
    X, Y = _data(n, seed)
    model = nl.two_layer_network(3, 2, rng=seed)
    by_hand = copy.deepcopy(model)
    history = fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=0.5), X, Y,
        epochs=2, batch_size=batch_size, rng=seed, progress=False,
    )  # fmt: skip

    generator = np.random.default_rng(seed)
    loss = nl.MSELoss()
    for epoch in range(2):
        order = generator.permutation(n)
        total = 0.0
        for begin in range(0, n, batch_size):
            rows = order[begin : begin + batch_size]
            value = loss(by_hand(X[rows]), Y[rows])
            by_hand.zero_grad()
            by_hand.backward(loss.backward())
            for parameter in by_hand.parameters():
                parameter.data -= 0.5 * parameter.grad
            total += value * len(rows)
        assert history.loss[epoch] == total / n
    for (name, a), (_, b) in zip(model.named_parameters(), by_hand.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_same_rng_same_run_bit_for_bit_and_other_seeds_differ() -> None:
    X, Y = _data(30)

    def run(seed: int) -> tuple[list[float], np.ndarray]:
        model = nl.two_layer_network(3, 4, rng=1)
        history = fit(
            model, nl.MSELoss(), SGD(model.parameters(), lr=0.5), X, Y,
            epochs=5, batch_size=7, rng=seed, progress=False,
        )  # fmt: skip
        return history.loss, model[0].weight.data.copy()  # type: ignore[attr-defined]

    first, again, other = run(3), run(3), run(4)
    assert first[0] == again[0]
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_without_shuffle_the_rows_go_in_order() -> None:
    X, Y = _data(9)
    model = nl.two_layer_network(3, 2, rng=0)
    reference = copy.deepcopy(model)
    fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=0.1), X, Y,
        epochs=1, batch_size=9, shuffle=False, progress=False,
    )  # fmt: skip
    loss = nl.MSELoss()
    loss(reference(X), Y)
    reference.backward(loss.backward())
    np.testing.assert_array_equal(
        model[0].weight.data,  # type: ignore[attr-defined]
        reference[0].weight.data - 0.1 * reference[0].weight.grad,  # type: ignore[attr-defined]
    )


def test_validation_history() -> None:
    X, Y = _data(40)
    X_val, Y_val = _data(20, seed=1)
    model = nl.two_layer_network(3, 4, rng=0)
    loss = nl.MSELoss()
    history = fit(
        model, loss, SGD(model.parameters(), lr=1.0), X, Y,
        epochs=3, batch_size=8, rng=0, validation_data=(X_val, Y_val), progress=False,
    )  # fmt: skip
    assert len(history.val_loss) == len(history.val_accuracy) == len(history.seconds) == 3
    final = evaluate(model, loss, X_val, Y_val)
    assert history.val_loss[-1] == final["loss"]
    assert history.val_accuracy[-1] == final["accuracy"]
    assert not history.stopped_early


def test_early_stopping_restores_the_best_weights() -> None:
    """Validation targets opposite to the training ones: the validation loss rises from the start,
    so training stops after ``patience`` epochs with the weights of epoch 0."""
    X, Y = _data(40)
    model = nl.two_layer_network(3, 4, rng=0)
    after_first_epoch = copy.deepcopy(model)
    fit(
        after_first_epoch, nl.MSELoss(), SGD(after_first_epoch.parameters(), lr=1.0), X, Y,
        epochs=1, batch_size=8, rng=5, progress=False,
    )  # fmt: skip
    history = fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X, Y,
        epochs=50, batch_size=8, rng=5, validation_data=(X, 1 - Y), patience=3, progress=False,
    )  # fmt: skip
    assert history.stopped_early
    assert history.best_epoch == 0
    assert history.epochs == 4
    assert history.val_loss[0] < min(history.val_loss[1:])
    for name, value in after_first_epoch.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value, err_msg=name)


def test_divergence_is_a_clear_error() -> None:
    X, Y = _data(20)
    X *= 1e150
    model = nl.Sequential(nl.Linear(3, 1, rng=0))
    with pytest.raises(TrainingError, match="lower the learning rate"), np.errstate(all="ignore"):
        fit(model, nl.MSELoss(), SGD(model.parameters(), lr=1e10), X, Y, epochs=5, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, r"^fit: epochs must be an int >= 1, got 0$"),
        ({"epochs": 2.5}, TypeError, r"^fit: epochs must be an int >= 1, got 2\.5$"),
        ({"epochs": 1, "batch_size": 0}, ValueError, "^fit: batch_size must be an int >= 1, got 0"),
        ({"epochs": 1, "patience": 2}, ValueError, "patience .* needs validation_data"),
        (
            {"epochs": 1, "patience": -1, "validation_data": (X_XOR, Y_XOR)},
            ValueError,
            "^fit: patience must be an int >= 1, got -1$",
        ),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    model = nl.two_layer_network(2, 2, rng=0)
    with pytest.raises(error, match=message):
        fit(model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X_XOR, Y_XOR, **kwargs)  # type: ignore[arg-type]


def test_mismatched_rows_name_both_shapes() -> None:
    model = nl.two_layer_network(2, 2, rng=0)
    with pytest.raises(nl.ShapeError, match=r"same number of rows, got \(4, 2\) and \(3, 1\)"):
        fit(model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X_XOR, Y_XOR[:3], epochs=1)


def test_progress_off_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    model = nl.two_layer_network(2, 2, rng=0)
    for progress in (False, None):  # None: stderr is not a terminal under pytest
        fit(
            model,
            nl.MSELoss(),
            SGD(model.parameters(), lr=1.0),
            X_XOR,
            Y_XOR,
            epochs=2,
            progress=progress,
        )
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_progress_without_tqdm_prints_plain_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = nl.two_layer_network(2, 2, rng=0)
    fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X_XOR, Y_XOR,
        epochs=3, validation_data=(X_XOR, Y_XOR), progress=True,
    )  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()  # throttled to a line a second: the first and the last
    assert [line.split()[:2] for line in lines] == [["epoch", "1/3"], ["epoch", "3/3"]]
    assert all("loss" in line and "val_accuracy" in line and "samples/s" in line for line in lines)


def test_progress_with_tqdm_shows_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    model = nl.two_layer_network(2, 2, rng=0)
    fit(model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X_XOR, Y_XOR, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "loss=" in err


def test_predict_in_batches_equals_all_at_once() -> None:
    X, _ = _data(23)
    model = nl.two_layer_network(3, 4, 2, rng=0)
    np.testing.assert_array_equal(predict(model, X, batch_size=5), model(X))
    np.testing.assert_array_equal(predict(model, X), model(X))


def test_accuracy_binary_and_one_hot() -> None:
    assert accuracy([[0.2], [0.7], [0.5], [0.1]], [[0.0], [1.0], [0.0], [1.0]]) == 0.5
    assert accuracy([[-1.0], [2.0]], [[0.0], [1.0]], threshold=0.0) == 1.0
    one_hot = np.eye(3)[[0, 2, 1]]
    assert accuracy([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]], one_hot) == pytest.approx(
        2 / 3
    )
    with pytest.raises(nl.ShapeError, match="same shape"):
        accuracy(np.zeros((3, 1)), np.zeros(3))


def test_evaluate_reports_accuracy_only_for_classification_targets() -> None:
    model = nl.two_layer_network(2, 2, rng=0)
    assert set(evaluate(model, nl.MSELoss(), X_XOR, Y_XOR)) == {"loss", "accuracy"}
    assert set(evaluate(model, nl.MSELoss(), X_XOR, Y_XOR * 0.5)) == {"loss"}


def test_fit_never_asks_the_first_layer_for_the_input_gradient() -> None:
    """A training step needs dL/dW1, never dL/dX: fit uses backward_parameters."""

    class NoInputGradient(nl.Linear):
        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            raise AssertionError("fit computed the gradient of the data")

        def backward_parameters(self, grad_y: nl.FloatArray) -> None:
            super().backward_parameters(grad_y)

    first = NoInputGradient(2, 4, bias=False, rng=0)
    model = nl.Sequential(
        first, nl.Sigmoid(), nl.BiasAppend(), nl.Linear(5, 1, bias=False, rng=1), nl.Sigmoid()
    )
    before = first.weight.data.copy()
    history = fit(
        model, nl.MSELoss(), SGD(model.parameters(), lr=2.0), X_XOR, Y_XOR,
        epochs=3, batch_size=2, rng=0, progress=False,
    )  # fmt: skip
    assert len(history.loss) == 3
    assert not np.array_equal(first.weight.data, before)  # the first layer did train


# ---------------------------------------------------------------------------------------------
# Non-finite values: refused in the data, caught at the step, the weights kept finite
# ---------------------------------------------------------------------------------------------


class CountingSGD(SGD):
    """SGD that counts its steps."""

    steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


def _regression(n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]])


@pytest.mark.parametrize(
    ("where", "row", "value", "name"),
    [
        ("X", 3, np.nan, "X"),
        ("Y", 17, np.inf, "Y"),
        ("X_val", 1, -np.inf, "validation_data X"),
        ("Y_val", 0, np.nan, "validation_data Y"),
    ],
)
def test_a_non_finite_value_in_the_data_is_refused_before_any_step(
    where: str, row: int, value: float, name: str
) -> None:
    data = dict(zip(["X", "Y"], _regression(), strict=True))
    data["X_val"], data["Y_val"] = _regression(5, seed=1)
    data[where][row, -1] = value
    model = nl.Sequential(nl.Linear(3, 1, rng=0))
    before = model.state_dict()
    optimizer = CountingSGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ArgumentValueError,
        match=rf"^fit: {name} must hold only finite numbers, got {value} in row {row}",
    ):
        fit(
            model, nl.MSELoss(), optimizer, data["X"], data["Y"], epochs=2,
            validation_data=(data["X_val"], data["Y_val"]), progress=False,
        )  # fmt: skip
    assert optimizer.steps == 0
    for key, values in model.state_dict().items():
        np.testing.assert_array_equal(values, before[key])


def test_a_model_with_non_finite_weights_is_refused_before_any_step() -> None:
    model = nl.Sequential(nl.Linear(3, 1, rng=0))
    model[0].weight.data[1, 0] = np.nan  # type: ignore[attr-defined]
    X, Y = _regression()
    with pytest.raises(
        ArgumentValueError,
        match=r"fit: the model's '0.weight' must hold only finite numbers, got nan",
    ):
        fit(model, nl.MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, progress=False)


def _run_by_hand(
    model: nl.Layer, X: np.ndarray, Y: np.ndarray, lr: float, batch_size: int, seed: int
) -> tuple[int, list[dict[str, np.ndarray]]]:
    """fit's loop written out, until the first step whose loss is not finite: that step's index,
    and the parameters at the start of every step up to it (the last is that step's)."""
    loss = nl.MSELoss()
    generator = np.random.default_rng(seed)
    states = []
    step = 0
    with np.errstate(all="ignore"):
        while True:
            order = generator.permutation(X.shape[0])
            for begin in range(0, X.shape[0], batch_size):
                rows = order[begin : begin + batch_size]
                states.append(model.state_dict())
                value = loss(model(X[rows]), Y[rows])
                if not np.isfinite(value):
                    return step, states
                model.zero_grad()
                model.backward(loss.backward())
                for parameter in model.parameters():
                    parameter.data -= lr * parameter.grad
                step += 1


@pytest.mark.parametrize(
    ("lr", "scale", "weights_broke"),
    [(10.0, 1.0, False), (1e300, 1e10, True)],
    ids=["the loss overflows", "an update overflows"],
)
def test_a_diverging_run_stops_at_its_step_with_the_last_finite_weights(
    lr: float, scale: float, weights_broke: bool
) -> None:
    """Too high a learning rate, two ways: the weights grow until the loss overflows (they are
    still finite: the model keeps them), or one update (of targets of 1e10, so gradients of
    1e10) overflows the weights (the next loss is not finite: the model goes back to the weights
    before that update). Either way fit stops at
    that step, in the middle of an epoch, not at the epoch's end."""
    X, Y = _regression(20)
    Y *= scale
    model = nl.Sequential(nl.Linear(3, 1, rng=0))
    failing, states = _run_by_hand(copy.deepcopy(model), X, Y, lr, batch_size=3, seed=4)
    assert failing % 7 not in (0, 6)  # not the first or last of an epoch's 7 steps
    last_finite = states[-1] if not weights_broke else states[-2]
    assert all(np.isfinite(values).all() for values in last_finite.values())
    assert weights_broke != all(np.isfinite(values).all() for values in states[-1].values())
    optimizer = CountingSGD(model.parameters(), lr=lr)
    with pytest.raises(TrainingError) as info, np.errstate(all="ignore"):
        fit(model, nl.MSELoss(), optimizer, X, Y, epochs=1000, batch_size=3, rng=4, progress=False)
    assert optimizer.steps == failing
    message = str(info.value)
    assert f"step {failing} (epoch {failing // 7}, batch {failing % 7})" in message
    assert "lower the learning rate" in message
    if weights_broke:
        assert f"the update of step {failing - 1} made '0.weight' non-finite" in message
    for name, values in model.state_dict().items():
        np.testing.assert_array_equal(values, last_finite[name], err_msg=name)


def test_weights_that_break_while_the_loss_stays_finite_are_caught_at_the_epoch_end() -> None:
    """Saturated sigmoids hide an infinite weight from the loss: the weights are also checked at
    the end of every epoch, and the model goes back to the last finite ones."""
    X = np.array([[1.0, 2.0], [2.0, 1.0]])
    Y = np.array([[0.0], [1.0]])
    model = nl.Sequential(nl.Linear(2, 1, bias=False, rng=0), nl.Sigmoid())
    start = model.state_dict()

    class Breaking(SGD):
        """An optimizer whose first update sends a weight to +inf, which Sigmoid turns to 1."""

        def step(self) -> None:
            self.parameters[0].data[0, 0] = np.inf

    with (
        pytest.raises(
            TrainingError, match=r"'0.weight' became non-finite in epoch 0 .* loss stayed finite"
        ),
        np.errstate(all="ignore"),
    ):
        fit(
            model,
            nl.MSELoss(),
            Breaking(model.parameters(), lr=0.1),
            X,
            Y,
            epochs=3,
            batch_size=2,
            progress=False,
        )
    for name, values in model.state_dict().items():
        np.testing.assert_array_equal(values, start[name], err_msg=name)


@pytest.mark.parametrize("patience", [None, 2])
def test_a_non_finite_validation_loss_is_an_error_not_a_silent_stop(patience: int | None) -> None:
    """Finite validation data so large that the model's outputs overflow in the loss: an error
    naming the validation loss, not an early stop with best_epoch None."""
    X, Y = _regression(20)
    X_val, Y_val = _regression(5, seed=1)
    model = nl.Sequential(nl.Linear(3, 1, rng=0))
    with (
        pytest.raises(
            TrainingError, match=r"validation loss became inf after epoch 0.* validation_data"
        ),
        np.errstate(all="ignore"),
    ):
        fit(
            model, nl.MSELoss(), SGD(model.parameters(), lr=0.01), X, Y, epochs=5,
            validation_data=(X_val * 1e300, Y_val), patience=patience, progress=False,
        )  # fmt: skip
    assert all(np.isfinite(values).all() for values in model.state_dict().values())
