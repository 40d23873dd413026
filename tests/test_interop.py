"""nnlite.interop: PyTorch and ONNX agree with nnlite, forward and backward; round trips; export.

PyTorch's autograd is the independent oracle for every hand-written backward here: for each layer,
each loss and drawn networks, nnlite's input and parameter gradients must equal autograd's.

Tolerances. Two engines that compute the same formula in a different order (BLAS kernels, fused
multiply-adds, another sigmoid) differ by rounding errors, which are bounded by a few units of
eps times the magnitude of the terms summed, not of the result: where terms cancel, the result is
small and its relative error large. So each comparison is |a - e| <= rtol * (|e| + scale), where
``scale`` bounds the terms (computed by ``magnitudes`` below from |x|, |W| and |b|). With at most
~12 layers of width <= 6, the worst-case bound is about 12 * 6 * 3 eps * scale = 5e-14 * scale in
float64: rtol = 1e-12 leaves a factor 20, and still catches any error above rounding (a wrong
backward is off by O(1)). In float32 the same count gives 2.6e-5 worst case; onnxruntime's float32
Sigmoid and Tanh are fast approximations good to a few eps, so rtol = 64 eps = 7.6e-6 is used,
relative to (|e| + scale) as above.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlite as nl
from nnlite import interop
from nnlite.cli import main
from nnlite.testing import strategies as nst
from tests.layer_chains import chains

torch: Any = pytest.importorskip("torch")

Array = nl.FloatArray
ROOT = Path(__file__).resolve().parent.parent

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 64 * float(np.finfo(np.float32).eps)}
DTYPES = st.sampled_from([np.float64, np.float32])

# ---------------------------------------------------------------------------------------------
# Drawn networks, and the magnitudes that bound their rounding errors
# ---------------------------------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn, dtype: Any = None) -> tuple[nl.Sequential, Array]:
    """A drawn chain of layers of every registered kind (tests/layer_chains.py), float32 or
    float64 (or the given dtype), and an input batch."""
    dtype = draw(DTYPES) if dtype is None else dtype
    n_in = draw(nst.feature_widths())
    model, _ = draw(chains(n_in, dtype))
    return model, draw(nst.inputs(n_in, dtype=dtype))


def flat(layer: nl.Layer) -> list[nl.Layer]:
    if isinstance(layer, nl.Sequential):
        return [inner for outer in layer for inner in flat(outer)]
    return [layer]


def magnitudes(model: nl.Layer, x: Array, grad_y: Array | None = None) -> dict[str, Any]:
    """Bounds on the terms the forward and backward sum, for the tolerances (see the top).

    Forward: A = |x| pushed through |W| and |b|; an activation f has |f(v)| <= |v| + 1 and slope
    <= 1 (the drawn LeakyReLU slopes are <= 1). Backward: G = |grad_y| pulled back through |W^T|.
    Each bound is multiplied by (1 + max A) for the gradients, since a derivative evaluated at an
    input off by a rounding error moves by at most that error (the second derivatives are <= 1).
    Also the pre-activations of ReLU and LeakyReLU, whose kink makes the derivative jump.
    """
    a = np.abs(x).astype(np.float64)
    inputs = []
    for layer in flat(model):
        inputs.append(a)
        if isinstance(layer, nl.Linear):
            a = a @ np.abs(layer.weight.data) + (
                0 if layer.bias is None else np.abs(layer.bias.data)
            )
        elif isinstance(layer, nl.BiasAppend):
            a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
        else:
            a = a + 1
    result: dict[str, Any] = {"output": a}
    largest = 1 + max([float(np.max(v, initial=0.0)) for v in [*inputs, a]])
    if grad_y is None:
        return result
    g = np.abs(grad_y).astype(np.float64)
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    for layer, a_in in zip(reversed(flat(model)), reversed(inputs), strict=True):
        if isinstance(layer, nl.Linear):
            result[names[id(layer.weight)]] = largest * (a_in.T @ g)
            if layer.bias is not None:
                result[names[id(layer.bias)]] = largest * g.sum(axis=0)
            g = g @ np.abs(layer.weight.data).T
        elif isinstance(layer, nl.BiasAppend):
            g = g[:, :-1]
    result["input"] = largest * g
    return result


def kink_inputs(model: nl.Layer, x: Array) -> list[tuple[Array, Array]]:
    """(input, its magnitude bound) of every ReLU and LeakyReLU, from nnlite's own forward."""
    found: list[tuple[Array, Array]] = []
    a, v = np.abs(x).astype(np.float64), x
    for layer in flat(model):
        if isinstance(layer, (nl.ReLU, nl.LeakyReLU)):
            found.append((v, a))
        v = layer(v)
        if isinstance(layer, nl.Linear):
            a = a @ np.abs(layer.weight.data) + (
                0 if layer.bias is None else np.abs(layer.bias.data)
            )
        elif isinstance(layer, nl.BiasAppend):
            a = np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)
        else:
            a = a + 1
    return found


def assume_off_the_kinks(model: nl.Layer, x: Array) -> None:
    """Where an input of ReLU or LeakyReLU is within rounding of 0 but not exactly 0, the two
    engines may round to opposite sides of the kink and legitimately take different slopes."""
    for v, a in kink_inputs(model, x):
        assume(not np.any((v != 0) & (np.abs(v) <= 1e-10 * (1 + a))))


def assert_close(actual: Any, expected: Any, scale: Any, rtol: float, what: str) -> None:
    """|actual - expected| <= rtol * (|expected| + scale), elementwise, same shape."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    error = np.abs(actual - expected)
    allowed = rtol * (np.abs(expected) + scale)
    worst = np.unravel_index(np.argmax(error - allowed), error.shape) if error.size else ()
    assert np.all(error <= allowed), (
        f"{what} differs at {worst}: {actual[worst]!r} vs {expected[worst]!r} "
        f"(error {error[worst]:.3g}, allowed {allowed[worst]:.3g})"
    )


def autograd(module: Any, x: Array, grad_y: Array) -> tuple[Array, Array, dict[str, Array]]:
    """PyTorch's y, dL/dx and dL/d(parameter) for L = sum(grad_y * module(x)), weights in nnlite's
    (in, out) layout so they compare with nnlite's directly."""
    x_tensor = torch.tensor(x, requires_grad=True)
    y = module(x_tensor)
    y.backward(torch.from_numpy(grad_y))
    grads = {}
    for name, parameter in module.named_parameters():
        grad = parameter.grad.numpy()
        grads[name] = grad.T if name.endswith("weight") else grad
    return y.detach().numpy(), x_tensor.grad.numpy(), grads


def assert_gradients_match_autograd(model: nl.Layer, module: Any, x: Array, grad_y: Array) -> None:
    """nnlite's backward (input and every parameter) equals autograd's on the torch module."""
    model.zero_grad()
    model(x)
    grad_x = model.backward(grad_y)
    _, torch_grad_x, torch_grads = autograd(module, x, grad_y)
    scale = magnitudes(model, x, grad_y)
    rtol = RTOL[np.dtype(x.dtype)]
    assert_close(grad_x, torch_grad_x, scale["input"], rtol, "dL/dx")
    names = [name for name, _ in model.named_parameters()]
    assert sorted(torch_grads) == sorted(names)
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, torch_grads[name], scale[name], rtol, f"dL/d{name}")


def assert_same_model(actual: nl.Layer | nl.Loss, expected: nl.Layer) -> None:
    """Same architecture (repr), parameter names, dtypes and bits."""
    assert isinstance(actual, nl.Layer)
    assert repr(actual) == repr(expected)
    pairs = zip(actual.named_parameters(), expected.named_parameters(), strict=True)
    for (name, parameter), (expected_name, expected_parameter) in pairs:
        assert name == expected_name
        assert parameter.data.dtype == expected_parameter.data.dtype
        assert parameter.data.tobytes() == expected_parameter.data.tobytes()


# ---------------------------------------------------------------------------------------------
# Forward: nnlite, PyTorch and onnxruntime compute the same y
# ---------------------------------------------------------------------------------------------


@given(case=networks())
def test_torch_forward_equals_nnlite(case: tuple[nl.Sequential, Array]) -> None:
    model, x = case
    module = interop.to_torch(model)
    y = model(x)
    torch_y = module(torch.from_numpy(x)).detach().numpy()
    assert torch_y.dtype == y.dtype
    assert_close(torch_y, y, magnitudes(model, x)["output"], RTOL[np.dtype(x.dtype)], "y")


@given(case=networks(), batch=nst.batch_sizes())
def test_onnxruntime_forward_equals_nnlite_at_any_batch_size(
    case: tuple[nl.Sequential, Array], batch: int, workdir: Path
) -> None:
    """One file, run at the drawn batch and at another: the batch dimension is dynamic."""
    ort = pytest.importorskip("onnxruntime")
    model, x = case
    path = workdir / "model.onnx"
    interop.to_onnx(model, path, dtype=x.dtype)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for rows in (x, np.concatenate([x] * batch)[: batch + 1]):
        (onnx_y,) = session.run(None, {"x": rows})
        y = model(rows)
        assert onnx_y.dtype == y.dtype
        assert_close(onnx_y, y, magnitudes(model, rows)["output"], RTOL[np.dtype(x.dtype)], "y")


def onnx_ops(model: nl.Layer, path: Path) -> tuple[list[str], Any]:
    """The op types of ``to_onnx(model)``'s nodes, in order, and the graph."""
    onnx = pytest.importorskip("onnx")
    interop.to_onnx(model, path)
    proto = onnx.load(str(path))
    assert [opset.version for opset in proto.opset_import] == [interop.ONNX_OPSET] == [17]
    return [node.op_type for node in proto.graph.node], proto.graph


def test_the_onnx_graph_uses_the_documented_ops(workdir: Path) -> None:
    onnx = pytest.importorskip("onnx")
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0), nl.LeakyReLU(0.25), nl.BiasAppend(), nl.Linear(4, 1, bias=False)
    )
    ops, graph = onnx_ops(model, workdir / "ops.onnx")
    bias_append = ["Shape", "Concat", "ConstantOfShape", "Concat"]
    assert ops == ["MatMul", "Add", "LeakyRelu", *bias_append, "MatMul"]
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    assert np.array_equal(
        weights["0.weight"], model.state_dict()["0.weight"]
    )  # (in, out), as nnlite
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 2]


def test_a_float64_slope_float32_cannot_hold_is_not_rounded(workdir: Path) -> None:
    """LeakyRelu's alpha is float32: 0.1 would become 0.10000000149. In float64 the graph
    computes max(x, 0) + 0.1 * min(x, 0) instead, and in float32 LeakyRelu is exact."""
    assert onnx_ops(nl.LeakyReLU(0.1), workdir / "slope.onnx")[0] == ["Relu", "Sub", "Mul", "Add"]
    float32 = nl.Sequential(nl.Linear(1, 1, rng=0, dtype=np.float32), nl.LeakyReLU(0.1))
    assert onnx_ops(float32, workdir / "slope32.onnx")[0] == ["MatMul", "Add", "LeakyRelu"]


# ---------------------------------------------------------------------------------------------
# Backward: nnlite's gradients equal PyTorch autograd's
# ---------------------------------------------------------------------------------------------

LAYERS: dict[str, Callable[[int], nl.Layer]] = {
    **{
        kind.name: kind.example
        for kind in interop.layer_kinds()
        if kind.torch and kind.sample_shape is None
    },
    "Linear(bias=False)": lambda n: nl.Linear(n, 2, bias=False, rng=n),
}
"""Every registered kind on rows that converts to PyTorch, by its example, and a Linear without
bias. The kinds with a ``sample_shape`` (images) are in tests/test_interop_images.py."""


@pytest.mark.parametrize("name", LAYERS)
@given(data=st.data())
def test_every_layer_backward_equals_autograd(name: str, data: st.DataObject) -> None:
    """A random upstream gradient, so a backward that ignores it cannot pass. A ReLU input of
    exactly 0 is drawn often: both engines then use the same slope (0, and negative_slope)."""
    n = data.draw(nst.feature_widths(), label="n_features")
    layer = LAYERS[name](n)
    x = data.draw(nst.inputs(n), label="x")
    grad_y = data.draw(nst.arrays(layer(x).shape), label="grad_y")
    assert_gradients_match_autograd(layer, interop.to_torch(layer), x, grad_y)


@given(case=networks(dtype=np.float64), data=st.data())
def test_network_backward_equals_autograd(
    case: tuple[nl.Sequential, Array], data: st.DataObject
) -> None:
    model, x = case
    assume_off_the_kinks(model, x)
    grad_y = data.draw(nst.arrays(model(x).shape), label="grad_y")
    assert_gradients_match_autograd(model, interop.to_torch(model), x, grad_y)


def test_the_derivation_network_backward_equals_autograd() -> None:
    model = nl.two_layer_network(3, 4, 2, rng=0)
    rng = np.random.default_rng(1)
    x, grad_y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    assert_gradients_match_autograd(model, interop.to_torch(model), x, grad_y)


class ForgetfulLinear(nl.Linear):
    """A wrong backward: dL/dW without the input (grad_y summed over rows, broadcast)."""

    def backward(self, grad_y: Array) -> Array:
        self.weight.grad += np.ones_like(self.x).T @ grad_y
        if self.bias is not None:
            self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.data.T


class UntransposedTanh(nl.Tanh):
    """A wrong backward: the derivative of tanh taken as 1 - x^2 instead of 1 - tanh(x)^2."""

    def backward(self, grad_y: Array) -> Array:
        return grad_y * (1 - self.x**2)


@pytest.mark.parametrize("broken", [ForgetfulLinear, UntransposedTanh])
def test_autograd_catches_a_wrong_backward(broken: type[nl.Layer]) -> None:
    """The oracle can fail: the same network with one broken layer disagrees with autograd."""
    rng = np.random.default_rng(2)
    x, grad_y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))

    def network(linear: type[nl.Linear], tanh: type[nl.Tanh]) -> nl.Sequential:
        return nl.Sequential(linear(3, 4, rng=0), tanh(), nl.Linear(4, 2, rng=1))

    reference = interop.to_torch(network(nl.Linear, nl.Tanh))
    assert_gradients_match_autograd(network(nl.Linear, nl.Tanh), reference, x, grad_y)
    wrong = (
        network(ForgetfulLinear, nl.Tanh)
        if broken is ForgetfulLinear
        else network(nl.Linear, UntransposedTanh)
    )
    with pytest.raises(AssertionError, match="differs"):
        assert_gradients_match_autograd(wrong, reference, x, grad_y)


# Losses: each drawn in its own domain, with the bound on the terms it sums (value, gradient).


def probabilities(shape: tuple[int, int]) -> st.SearchStrategy[Array]:
    """Values in [0, 1]: the ends, tiny ones and ones next to 1 included (the clamp's region).
    No subnormals, as in nnlite.testing.strategies: there precision is absolute, not relative."""
    eps = 2.0**-52  # the clamp's bounds are eps and 1 - eps: values on and beyond both
    ends = st.sampled_from([0.0, 1.0, eps / 4, eps, 1 - eps, 1 - eps / 2, 1e-9, 1 - 1e-9, 0.5])
    inside = st.floats(nst.MIN_MAGNITUDE, 1.0)
    return hnp.arrays(np.float64, shape, elements=st.one_of(ends, inside))


@st.composite
def loss_cases(draw: st.DrawFn, name: str) -> tuple[Array, Array, Array, Array]:
    """prediction, target, and the scales of the loss's terms and of its gradient."""
    shape = draw(nst.batch_shapes())
    n = shape[0]
    if name == "MSELoss":
        y, t = draw(nst.arrays(shape)), draw(nst.arrays(shape))
        return y, t, np.sum((np.abs(y) + np.abs(t)) ** 2) / n, (np.abs(y) + np.abs(t)) / n
    if name == "BCELoss":
        p, t = draw(probabilities(shape)), draw(probabilities(shape))
        q = np.clip(p, np.finfo(float).eps, 1 - np.finfo(float).eps)
        terms = np.abs(t * np.log(q)) + np.abs((1 - t) * np.log1p(-q))
        return p, t, terms.sum() / n, (t / q + (1 - t) / (1 - q)) / n
    if name == "BCEWithLogitsLoss":
        z, t = draw(nst.arrays(shape)), draw(probabilities(shape))
        return z, t, np.sum(np.abs(z) + 1) / n, np.ones(shape) / n
    assert name == "SoftmaxCrossEntropyLoss", f"{name}: give its domain and scales here"
    z = draw(nst.arrays(shape))
    t = draw(st.one_of(probabilities(shape), st.just(np.eye(shape[1])[np.arange(n) % shape[1]])))
    spread = np.abs(z - z.max(axis=1, keepdims=True)) + np.log(shape[1]) + 1
    row_total = t.sum(axis=1, keepdims=True)
    return z, t, np.sum(t * spread) / n, (row_total + t) / n


LOSSES = [kind.name for kind in interop.loss_kinds() if kind.torch]


@pytest.mark.parametrize("name", LOSSES)
@given(data=st.data())
def test_every_loss_value_and_backward_equal_autograd(name: str, data: st.DataObject) -> None:
    prediction, target, value_scale, grad_scale = data.draw(loss_cases(name))
    loss = getattr(nl, name)()
    value = loss(prediction, target)
    grad = loss.backward()
    module = interop.to_torch(loss)
    prediction_tensor = torch.tensor(prediction, requires_grad=True)
    torch_value = module(prediction_tensor, torch.from_numpy(target))
    torch_value.backward()
    assert_close(torch_value.item(), value, value_scale, 1e-12, f"{name} value")
    assert_close(prediction_tensor.grad.numpy(), grad, grad_scale, 1e-12, f"{name} gradient")


def test_mse_keeps_nnlites_half_sum_over_rows() -> None:
    """2 rows of 3 ones against 0: nnlite's 1/(2N) sum = 6 / 4, not torch.nn.MSELoss's mean 1."""
    y, t = torch.ones(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)
    assert interop.to_torch(nl.MSELoss())(y, t).item() == 1.5
    assert torch.nn.MSELoss()(y, t).item() == 1.0


@pytest.mark.parametrize("name", LOSSES)
def test_a_loss_refuses_a_broadcast_target(name: str) -> None:
    module = interop.to_torch(getattr(nl, name)())
    with pytest.raises(ValueError, match="target of the prediction's shape"):
        module(torch.full((3, 1), 0.5, dtype=torch.float64), torch.ones(3, dtype=torch.float64))


# ---------------------------------------------------------------------------------------------
# Round trips and what does not convert
# ---------------------------------------------------------------------------------------------


@given(case=networks())
def test_nnlite_to_torch_to_nnlite_is_bit_identical(case: tuple[nl.Sequential, Array]) -> None:
    model, _ = case
    module = interop.to_torch(model)
    for name, parameter in model.named_parameters():
        tensor = module.get_parameter(name).detach().numpy()
        expected = parameter.data.T if name.endswith("weight") else parameter.data
        assert tensor.dtype == expected.dtype
        assert tensor.tobytes() == np.ascontiguousarray(expected).tobytes()
        assert not np.shares_memory(tensor, parameter.data)
    assert_same_model(interop.from_torch(module), model)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_torch_network_converts_to_nnlite_and_back(dtype: Any) -> None:
    generator = torch.Generator().manual_seed(0)
    first = torch.nn.utils.skip_init(torch.nn.Linear, 3, 4, dtype=dtype)
    second = torch.nn.utils.skip_init(torch.nn.Linear, 5, 2, bias=False, dtype=dtype)
    with torch.no_grad():  # explicit values from a seeded generator, not torch's global RNG
        for parameter in [*first.parameters(), *second.parameters()]:
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=dtype))
    module = torch.nn.Sequential(
        first, torch.nn.Tanh(), torch.nn.Sequential(interop.BiasAppend(), second)
    )
    model = interop.from_torch(module)
    assert isinstance(model, nl.Sequential)
    assert isinstance(model[2], nl.Sequential)
    again = interop.to_torch(model)
    for (name, tensor), (other_name, other) in zip(
        module.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert name == other_name
        assert tensor.dtype == other.dtype == dtype
        assert torch.equal(tensor, other)
    x = torch.rand(6, 3, generator=generator, dtype=dtype)
    assert torch.equal(again(x), module(x))
    assert model(x.numpy()).dtype == x.numpy().dtype


def test_losses_convert_back() -> None:
    for name in LOSSES:
        assert type(interop.from_torch(interop.to_torch(getattr(nl, name)()))) is getattr(nl, name)


def skip_init(cls: Any, **kwargs: Any) -> Any:
    """A (2, 2) Linear of ``cls`` left uninitialized: torch's global RNG is never drawn from."""
    return torch.nn.utils.skip_init(cls, 2, 2, **kwargs)


class Doubling(nl.Layer):
    """y = 2x: a user's layer, with no counterpart in PyTorch or ONNX."""

    def forward(self, x: Array) -> Array:
        return 2 * x

    def backward(self, grad_y: Array) -> Array:
        return 2 * grad_y


def test_an_unsupported_torch_module_is_named_with_where_it_is() -> None:
    module = torch.nn.Sequential(skip_init(torch.nn.Linear), torch.nn.Sequential(torch.nn.GELU()))
    with pytest.raises(interop.ConversionError) as info:
        interop.from_torch(module)
    message = str(info.value)
    assert "Sequential layer 1.0: GELU(" in message
    for supported in ["torch.nn.Linear", "torch.nn.Sigmoid", "torch.nn.LeakyReLU", "BiasAppend"]:
        assert supported in message
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (skip_init(type("MyLinear", (torch.nn.Linear,), {})), r"MyLinear\(.*\) has no nnlite"),
        (torch.nn.MSELoss(), r"MSELoss\(\) has no nnlite"),  # a mean, not nnlite's 1/(2N) sum
        (skip_init(torch.nn.Linear, dtype=torch.float16), "parameters are torch.float16, not"),
        (torch.nn.LeakyReLU(-0.5), "negative_slope must be a finite number >= 0"),
    ],
    ids=["subclass", "torch MSELoss", "float16", "negative slope"],
)
def test_modules_that_do_not_convert(module: Any, expected: str) -> None:
    with pytest.raises(interop.ConversionError, match=expected):
        interop.from_torch(module)


def test_an_unsupported_nnlite_layer_is_named(workdir: Path) -> None:
    model = nl.Sequential(nl.Sigmoid(), nl.Sequential(nl.Identity(), Doubling()))
    with pytest.raises(
        interop.ConversionError, match=r"Sequential layer 1\.1: Doubling\(\) has no"
    ):
        interop.to_torch(model)
    pytest.importorskip("onnx")
    with pytest.raises(
        interop.ConversionError, match=r"Sequential layer 1\.1: Doubling\(\) has no"
    ):
        interop.to_onnx(model, workdir / "never.onnx")
    assert not (workdir / "never.onnx").exists()


def test_mixed_dtypes_are_refused() -> None:
    model = nl.Sequential(nl.Linear(2, 2, dtype=np.float32), nl.Linear(2, 1))
    with pytest.raises(ValueError, match="mix float32 and float64"):
        interop.to_torch(model)


# ---------------------------------------------------------------------------------------------
# Optional dependencies
# ---------------------------------------------------------------------------------------------


def test_importing_nnlite_imports_neither_torch_nor_onnx() -> None:
    code = (
        "import sys, nnlite, nnlite.interop, nnlite.cli; "
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("missing", "extra"), [("torch", "torch"), ("onnx", "onnx")])
def test_a_missing_extra_says_what_to_install(
    missing: str, extra: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # import now raises ImportError
    convert: Callable[[], object] = (
        (lambda: interop.to_torch(nl.Sigmoid()))
        if missing == "torch"
        else (lambda: interop.to_onnx(nl.Sigmoid(), tmp_path / "m.onnx"))
    )
    with pytest.raises(nl.MissingExtraError, match=rf'pip install "nnlite\[{extra}\]"'):
        convert()
    nl.save(nl.Sigmoid(), tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "--to", missing, str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("nnlite: error: ")
    assert f'pip install "nnlite[{extra}]"' in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# nnlite export
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, nl.Layer, Array]:
    """A trained-looking model with every kind of layer, saved, and an input for it."""
    model = nl.Sequential(
        nl.BiasAppend(),
        nl.Linear(3, 5, rng=0),
        nl.LeakyReLU(0.1),
        nl.Sequential(nl.Tanh(), nl.BiasAppend(), nl.Linear(6, 4, bias=False, rng=1)),
        nl.ReLU(),
        nl.Identity(),
        nl.Linear(4, 2, rng=2),
        nl.Sigmoid(),
    )
    nl.save(model, tmp_path / "model.npz")
    return tmp_path / "model.npz", model, np.random.default_rng(3).standard_normal((7, 2))


def test_export_to_torch_loads_safely_and_runs_the_same(
    saved: tuple[Path, nl.Layer, Array], tmp_path: Path, capsys: Any
) -> None:
    path, model, x = saved
    out = tmp_path / "model.pt"
    assert main(["export", str(path), "--to", "torch", str(out)]) == 0
    assert f"exported {path} to {out}" in capsys.readouterr().out
    document = torch.load(out, weights_only=True)  # no pickled code: the safe loader reads it
    assert document["format"] == "nnlite-torch"
    assert sorted(document["state_dict"]) == [
        "1.bias",
        "1.weight",
        "3.2.weight",
        "6.bias",
        "6.weight",
    ]
    module = interop.load_torch(out)
    y = module(torch.from_numpy(x)).detach().numpy()
    assert_close(y, model(x), magnitudes(model, x)["output"], 1e-12, "y")
    assert_same_model(interop.from_torch(module), model)


def test_export_to_onnx_runs_in_onnxruntime(
    saved: tuple[Path, nl.Layer, Array], tmp_path: Path, capsys: Any
) -> None:
    ort = pytest.importorskip("onnxruntime")
    path, model, x = saved
    out = tmp_path / "model.onnx"
    assert main(["export", str(path), "--to", "onnx", str(out)]) == 0
    assert "ONNX opset 17" in capsys.readouterr().out
    (y,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    assert_close(y, model(x), magnitudes(model, x)["output"], 1e-12, "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "model.onnx"]  # no temp


def test_export_errors_are_one_line(
    saved: tuple[Path, nl.Layer, Array], tmp_path: Path, capsys: Any
) -> None:
    path, _, _ = saved
    nl.save(nl.Sequential(Doubling()), tmp_path / "custom.npz")
    (tmp_path / "old.onnx").write_bytes(b"old")
    commands = [
        ["export", str(tmp_path / "missing.npz"), "--to", "torch", str(tmp_path / "x.pt")],
        ["export", str(path), "--to", "onnx", str(tmp_path / "no-such-dir" / "x.onnx")],
    ]
    for command in commands:
        assert main(command) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1, err
        assert err.startswith("nnlite: error: ")
    with pytest.raises(SystemExit) as info:
        main(["export", str(path), "--to", "tensorflow", str(tmp_path / "x")])
    assert info.value.code == 2
    assert "invalid choice: 'tensorflow'" in capsys.readouterr().err


def test_load_torch_refuses_other_files(tmp_path: Path) -> None:
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(nl.LoadError, match="not a file written by save_torch"):
        interop.load_torch(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(nl.LoadError, match=r"junk\.pt"):
        interop.load_torch(tmp_path / "junk.pt")


def test_a_model_trained_by_the_command_continues_training_in_pytorch(
    tmp_path: Path, capsys: Any
) -> None:
    """nnlite train --save, nnlite export --to torch, then PyTorch: the loss curve starts where
    nnlite left it (to rounding) and goes on down under torch.optim.SGD."""
    model_path, torch_path = tmp_path / "moons.npz", tmp_path / "moons.pt"
    command = ["train", "--dataset", "moons", "--epochs", "30", "--no-progress"]
    assert main([*command, "--save", str(model_path)]) == 0
    assert main(["export", str(model_path), "--to", "torch", str(torch_path)]) == 0
    capsys.readouterr()

    X, Y = nl.datasets.two_moons(rng=0)  # the command's data, split and seed (seed 0)
    X_train, _, Y_train, _ = nl.datasets.train_test_split(X, Y, stratify=True, rng=0)
    nnlite_loss = nl.MSELoss()(nl.load(model_path)(X_train), Y_train)

    module = interop.load_torch(torch_path)
    loss = interop.to_torch(nl.MSELoss())
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    inputs, targets = torch.from_numpy(X_train), torch.from_numpy(Y_train)
    curve = []
    for _ in range(20):
        optimizer.zero_grad()
        value = loss(module(inputs), targets)
        value.backward()
        optimizer.step()
        curve.append(float(value.detach()))
    assert curve[0] == pytest.approx(nnlite_loss, rel=1e-12, abs=0)
    assert curve[-1] < curve[0]
