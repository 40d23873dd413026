"""The registry of kinds: one description per layer and loss kind, read by everything else.

The demonstration: Scale (tests/scale.py) is a layer kind added from outside nnlite, its own file
holding the layer and its entry, SCALE. With ``register(SCALE)`` and nothing else, it saves and
loads without ``custom_layers``, ``nnlite check`` finds its input width, the supported-lists of the
messages name it, the tests draw it, and it converts to PyTorch and back and to ONNX.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite import interop
from nnlite._architecture import input_width
from nnlite.cli import main
from nnlite.interop import LayerKind, LossKind, TorchFormula, register, unregister
from nnlite.testing import check_layer
from nnlite.testing import strategies as nst
from tests.layer_chains import chains
from tests.scale import SCALE, Scale


@pytest.fixture
def scale_registered() -> Iterator[None]:
    register(SCALE)  # the one entry
    try:
        yield
    finally:
        unregister(Scale)


# ---------------------------------------------------------------------------------------------
# The demonstration: a new kind is its own file and one registry entry
# ---------------------------------------------------------------------------------------------


def test_unregistered_the_new_kind_is_refused_everywhere(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(3, 2, rng=0), Scale(2))
    nl.save(model, tmp_path / "model.npz")  # saving needs only get_config
    with pytest.raises(nl.LoadError, match="unknown layer class 'Scale'"):
        nl.load(tmp_path / "model.npz")
    assert "Scale" not in interop.SUPPORTED_LAYERS
    assert input_width(nl.Sequential(Scale(4), nl.Linear(4, 1))) is None


def test_a_registered_kind_saves_and_loads_without_custom_layers(
    scale_registered: None, tmp_path: Path
) -> None:
    model = nl.Sequential(nl.Linear(3, 2, rng=0), Scale(2), nl.Sigmoid())
    model[1].scale.data[:] = [7.0, -3.0]  # type: ignore[attr-defined]  # trained, not initial
    nl.save(model, tmp_path / "model.npz")
    loaded = nl.load(tmp_path / "model.npz")
    assert type(loaded[1]) is Scale  # type: ignore[index]
    for (name, value), (other, expected) in zip(
        loaded.state_dict().items(), model.state_dict().items(), strict=True
    ):
        assert name == other
        np.testing.assert_array_equal(value, expected)


def test_the_command_reads_the_input_width_from_the_kind(
    scale_registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = nl.Sequential(Scale(4), nl.BiasAppend(), nl.Linear(5, 1, rng=0))
    assert input_width(model) == 4
    nl.save(model, tmp_path / "model.npz")
    assert main(["check", str(tmp_path / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "input     (4, 4)" in out
    assert "passed" in out


@given(data=st.data())
def test_the_drawn_chains_draw_the_new_kind(data: st.DataObject) -> None:
    """tests/layer_chains.py draws every registered kind, by its example and output width."""
    register(SCALE)
    try:
        n_in = data.draw(nst.feature_widths())
        model, width = data.draw(chains(n_in, dtype="float64"))
        x = data.draw(nst.inputs(n_in))
        assert model(x).shape == (x.shape[0], width)
    finally:
        unregister(Scale)


def test_the_new_kind_passes_the_property_test_by_its_example() -> None:
    check_layer(SCALE.example)


def test_a_registered_kind_converts_to_pytorch_and_back(scale_registered: None) -> None:
    torch: Any = pytest.importorskip("torch")
    assert "Scale" in interop.SUPPORTED_LAYERS
    assert "nnlite.interop.Scale" in interop.SUPPORTED_MODULES
    scale = Scale(2)
    model = nl.Sequential(nl.Linear(3, 2, rng=0), scale, nl.Tanh())
    module = interop.to_torch(model)
    assert type(module[1]) is interop.Scale
    x = np.random.default_rng(0).standard_normal((5, 3))
    x_tensor = torch.tensor(x, requires_grad=True)
    y = module(x_tensor)
    np.testing.assert_allclose(y.detach().numpy(), model(x), rtol=1e-13, atol=1e-15)
    grad_y = np.random.default_rng(1).standard_normal((5, 2))
    y.backward(torch.from_numpy(grad_y))  # autograd, the independent reference
    model.zero_grad()
    grad_x = model.backward(grad_y)
    np.testing.assert_allclose(x_tensor.grad.numpy(), grad_x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(module[1].scale.grad.numpy(), scale.scale.grad, rtol=1e-12)
    back = interop.from_torch(module)
    assert isinstance(back, nl.Sequential)
    assert isinstance(back[1], Scale)
    assert back[1].scale.data.tobytes() == scale.scale.data.tobytes()


def test_a_registered_kind_converts_to_onnx(scale_registered: None, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = nl.Sequential(nl.Linear(3, 2, rng=0), Scale(2), nl.Sigmoid())
    interop.to_onnx(model, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((4, 3))
    (y,) = session.run(None, {"x": x})
    np.testing.assert_allclose(y, model(x), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# The registry itself
# ---------------------------------------------------------------------------------------------


def test_every_built_in_layer_and_loss_has_its_kind() -> None:
    layers = {kind.layer for kind in interop.layer_kinds()}
    assert layers >= {nl.Linear, nl.Sigmoid, nl.Tanh, nl.ReLU, nl.LeakyReLU, nl.Identity}
    assert nl.BiasAppend in layers
    losses = {kind.loss for kind in interop.loss_kinds()}
    assert losses >= {nl.MSELoss, nl.BCELoss, nl.BCEWithLogitsLoss, nl.SoftmaxCrossEntropyLoss}
    assert interop.layer_kind(nl.Linear) is not None
    assert interop.layer_kind(type("MyLinear", (nl.Linear,), {})) is None  # exact classes


def test_the_supported_lists_are_the_registry() -> None:
    names = [kind.name for kind in interop.layer_kinds() if kind.torch]
    losses = [kind.name for kind in interop.loss_kinds() if kind.torch]
    assert (
        f"Sequential, {', '.join(sorted(names))}; losses {', '.join(sorted(losses))}"
    ) == interop.SUPPORTED_LAYERS


def test_a_kind_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="'Linear' is registered already"):
        register(LayerKind(nl.Linear, example=lambda n: nl.Linear(n, 1)))
    other = type("Linear", (nl.Layer,), {})  # another class of a built-in's name
    with pytest.raises(ValueError, match="a name of its own"):
        register(LayerKind(other, example=lambda n: other()))
    with pytest.raises(ValueError, match="'Sequential' is registered already"):
        register(LayerKind(type("Sequential", (nl.Layer,), {}), example=lambda n: nl.Identity()))
    with pytest.raises(TypeError, match="LayerKind or a LossKind"):
        register(nl.Linear)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="a LayerKind describes a Layer class, got <class 'nnlite"):
        register(LayerKind(nl.MSELoss, example=lambda n: nl.Identity()))  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="'Scale' is not registered"):
        unregister(Scale)


def test_a_registered_loss_converts_by_its_formula() -> None:
    torch: Any = pytest.importorskip("torch")

    class HalfSum(nl.Loss):
        """L = 1/2 sum (target - prediction), a loss of a user's own."""

        def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
            self.shape = prediction.shape
            return float(np.sum(target - prediction) / 2)

        def backward(self) -> nl.FloatArray:
            return np.full(self.shape, -0.5)

    register(LossKind(HalfSum, torch=TorchFormula(lambda torch, p, t: (t - p).sum() / 2)))
    try:
        module = interop.to_torch(HalfSum())
        assert type(module) is interop.HalfSum
        value = module(
            torch.ones(2, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
        )
        assert value.item() == -1.0
        with pytest.raises(ValueError, match="target of the prediction's shape"):
            module(torch.ones(2, 1), torch.ones(2))
        assert type(interop.from_torch(module)) is HalfSum
    finally:
        unregister(HalfSum)
    with pytest.raises(AttributeError):
        interop.HalfSum  # noqa: B018


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([nl.Linear(3, 2)], 3),
        ([nl.BiasAppend(), nl.Linear(3, 2)], 2),
        ([nl.Sigmoid(), nl.Sequential(nl.BiasAppend(), nl.BiasAppend()), nl.Linear(5, 1)], 3),
        ([nl.BiasAppend(), nl.Linear(1, 2)], None),  # no input of width 0
        ([nl.Sigmoid(), nl.Tanh()], None),  # no layer fixes it
        ([nl.Linear(2, 4), nl.Linear(9, 1)], 2),  # the first one fixes it
    ],
)
def test_the_input_width_comes_from_the_kinds(layers: list[nl.Layer], expected: int | None) -> None:
    assert input_width(nl.Sequential(*layers)) == expected
