"""nnlite.interop for the kinds on images (Conv2d, the pools, Flatten, Unflatten): PyTorch's
forward and autograd agree with nnlite's forward and backward, the conversions round-trip bit for
bit, and onnxruntime runs the ONNX graphs to the same output.

The kinds are read from the registry: every kind with a ``sample_shape`` is tested by its example
on drawn batches of that shape, and drawn variants of them (tests/image_networks.py) cover the
options. PyTorch's autograd is the independent oracle for every backward here.

Tolerances, as in tests/test_interop.py: |a - e| <= rtol * (|e| + scale), with ``scale`` a bound
on the terms summed (:func:`magnitudes`), rtol 1e-12 in float64 (a Conv2d of the sizes drawn sums
at most a few hundred terms, each rounded once or twice: about 1e-13 of the terms' size at worst)
and 64 float32 epsilons in float32.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite import interop
from nnlite.testing import strategies as nst
from tests.image_networks import EveryTiedMaximum, image_layers, image_networks

torch: Any = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Any:
    """PyTorch on one thread while these tests run: its convolutions of a few pixels gain nothing
    from a second, and its idle threads spinning beside numpy's made each call 4 times slower
    (measured: 0.19 s against 0.05 s per comparison of a Conv2d on 2 busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


Array = nl.FloatArray
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 64 * float(np.finfo(np.float32).eps)}
IMAGE_KINDS = [kind for kind in interop.layer_kinds() if kind.sample_shape is not None]


def test_the_image_kinds_are_the_ones_expected() -> None:
    """The registry's kinds with a sample_shape, each tested below by its example."""
    names = {kind.name for kind in IMAGE_KINDS}
    assert names >= {"Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Unflatten"}


class SumPool(nl.AvgPool2d):
    """y = the sum of each window: kh kw times AvgPool2d's."""

    def forward(self, x: Array) -> Array:
        return super().forward(x) * int(np.prod(self.kernel_size))

    def backward(self, grad_y: Array) -> Array:
        return super().backward(grad_y) * int(np.prod(self.kernel_size))


class PlusOne(nl.Layer):
    """y = x + 1, slope 1."""

    def forward(self, x: Array) -> Array:
        return x + 1

    def backward(self, grad_y: Array) -> Array:
        return grad_y


def bounding(layer: nl.Layer) -> nl.Layer:
    """The model whose forward of |x| bounds, elementwise, the terms each output of ``layer``
    sums, and whose backward of |grad_y| bounds those of each gradient: |W| and |b| for the
    weights; PlusOne for an activation f (|f(v)| <= |v| + 1, slope at most 1); a window's sum
    for MaxPool2d (its maximum is one of the window's values, and its gradient goes to one of
    them, which depends on the values: the sum bounds every choice)."""
    if isinstance(layer, nl.Sequential):
        return nl.Sequential(*(bounding(inner) for inner in layer))
    if isinstance(layer, (nl.ReLU, nl.Tanh, nl.Sigmoid)):
        return PlusOne()
    if isinstance(layer, nl.MaxPool2d):
        return SumPool(layer.kernel_size, layer.stride)
    copied = copy.deepcopy(layer)
    for parameter in copied.parameters():
        parameter.data = np.abs(parameter.data).astype(np.float64)
        parameter.grad = np.zeros_like(parameter.data)
    return copied


def magnitudes(layer: nl.Layer, x: Array, grad_y: Array) -> dict[str, Any]:
    """Bounds on the terms each result sums (see :func:`bounding`), as tests/test_interop.py's
    for rows. The gradients' are multiplied by 1 + the largest forward bound, since a derivative
    taken at an input off by a rounding error moves by at most that error times the largest
    second derivative (at most 1 for these activations) and the values it multiplies."""
    bound = bounding(layer)
    output = bound(np.abs(x).astype(np.float64))
    factor = 1 + float(np.max(output, initial=0.0))
    result: dict[str, Any] = {"output": output}
    result["input"] = factor * bound.backward(np.abs(grad_y).astype(np.float64))
    for name, parameter in bound.named_parameters():
        result[name] = factor * parameter.grad
    return result


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


def in_nnlite_layout(module: Any, tensors: dict[str, Any]) -> dict[str, Array]:
    """Torch tensors named as ``module``'s parameters, in nnlite's layouts: a copy of the module
    holding them, converted by from_torch (whose layouts the forward comparisons pin down)."""
    holder = copy.deepcopy(module)
    with torch.no_grad():
        for name, parameter in holder.named_parameters():
            parameter.copy_(tensors[name])
    converted = interop.from_torch(holder)
    assert isinstance(converted, nl.Layer)
    return {name: p.data for name, p in converted.named_parameters()}


def assert_matches_autograd(layer: nl.Layer, x: Array, grad_y: Array, module: Any = None) -> None:
    """nnlite's y, dL/dx and dL/dparameters equal PyTorch's forward and autograd's, for
    L = sum(grad_y * y), on ``module`` (by default ``to_torch(layer)``)."""
    module = interop.to_torch(layer) if module is None else module
    module.zero_grad()
    rtol = RTOL[np.dtype(x.dtype)]
    layer.zero_grad()
    y = layer(x)
    grad_x = layer.backward(grad_y)
    x_tensor = torch.tensor(x, requires_grad=True)
    torch_y = module(x_tensor)
    torch_y.backward(torch.from_numpy(grad_y))
    scale = magnitudes(layer, x, grad_y)
    assert torch_y.dtype == x_tensor.dtype
    assert_close(torch_y.detach().numpy(), y, scale["output"], rtol, "y")
    assert_close(x_tensor.grad.numpy(), grad_x, scale["input"], rtol, "dL/dx")
    grads = in_nnlite_layout(module, {n: p.grad for n, p in module.named_parameters()})
    assert sorted(grads) == sorted(name for name, _ in layer.named_parameters())
    for name, parameter in layer.named_parameters():
        assert_close(parameter.grad, grads[name], scale[name], rtol, f"dL/d{name}")


# ---------------------------------------------------------------------------------------------
# Forward and backward against PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", IMAGE_KINDS, ids=lambda kind: kind.name)
@given(data=st.data())
def test_every_image_kind_matches_pytorch(kind: interop.LayerKind, data: st.DataObject) -> None:
    """Each kind's example, on drawn batches of its sample shape: values with ties included
    (MaxPool2d's gradient goes to the first maximum of a window in both)."""
    assert kind.sample_shape is not None
    layer = kind.example(kind.sample_shape[0])
    x = data.draw(nst.arrays((data.draw(nst.batch_sizes()), *kind.sample_shape)), label="x")
    grad_y = data.draw(nst.arrays(layer(x).shape), label="grad_y")
    assert_matches_autograd(layer, x, grad_y)


@given(case=image_layers(), data=st.data())
def test_drawn_image_layers_match_pytorch(
    case: tuple[nl.Layer, tuple[int, ...]], data: st.DataObject
) -> None:
    """Kernels, strides and paddings drawn, each height and width of its own; windows that
    overlap (where values tie too) or leave gaps."""
    layer, shape = case
    x = data.draw(nst.arrays((data.draw(nst.batch_sizes()), *shape)), label="x")
    grad_y = data.draw(nst.arrays(layer(x).shape), label="grad_y")
    assert_matches_autograd(layer, x, grad_y)


@given(case=image_networks(), data=st.data())
def test_drawn_networks_on_images_match_pytorch(
    case: tuple[nl.Sequential, tuple[int, ...]], data: st.DataObject
) -> None:
    model, shape = case
    x = data.draw(nst.arrays((data.draw(nst.batch_sizes()), *shape)), label="x")
    grad_y = data.draw(nst.arrays(model(x).shape), label="grad_y")
    assert_matches_autograd(model, x, grad_y)


def test_float32_stays_float32_in_pytorch() -> None:
    rng = np.random.default_rng(0)
    layer = nl.Conv2d(2, 3, 3, stride=2, padding=1, rng=0, dtype=np.float32)
    x = rng.standard_normal((4, 2, 7, 6)).astype(np.float32)
    assert_matches_autograd(layer, x, rng.standard_normal((4, 3, 4, 3)).astype(np.float32))
    assert interop.to_torch(layer).weight.dtype == torch.float32


def test_pytorch_picks_the_first_of_tied_maxima_as_nnlite_does() -> None:
    """The documented rule, seen in PyTorch itself: one window, its maximum at 3 places."""
    x = np.array([[[[1.0, 3.0, 3.0], [0.0, 3.0, 2.0]]]])
    x_tensor = torch.tensor(x, requires_grad=True)
    torch.nn.MaxPool2d((2, 3))(x_tensor).sum().backward()
    expected = np.array([[[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(x_tensor.grad.numpy(), expected)
    pool = nl.MaxPool2d((2, 3))
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))), expected)


def test_autograd_catches_a_pool_that_gives_every_tie_the_gradient() -> None:
    x, grad_y = np.array([[[[1.0, 3.0], [3.0, 0.0]]]]), np.ones((1, 1, 1, 1))
    reference = interop.to_torch(nl.MaxPool2d(2))
    with pytest.raises(AssertionError, match="dL/dx differs"):
        assert_matches_autograd(EveryTiedMaximum(2), x, grad_y, reference)
    assert_matches_autograd(nl.MaxPool2d(2), x, grad_y, reference)


class TransposedKernel(nl.Conv2d):
    """A wrong backward: dL/dW with the kernel's rows and columns swapped (a square kernel)."""

    def backward(self, grad_y: Array) -> Array:
        before = self.weight.grad.copy()
        grad_x = super().backward(grad_y)
        added = self.weight.grad - before
        self.weight.grad[...] = before + added.transpose(0, 2, 1, 3)
        return grad_x


def test_autograd_catches_a_conv_with_a_transposed_kernel_gradient() -> None:
    rng = np.random.default_rng(1)
    x, grad_y = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 2, 3, 3))
    reference = interop.to_torch(nl.Conv2d(1, 2, 3, rng=0))
    with pytest.raises(AssertionError, match="dL/dweight differs"):
        assert_matches_autograd(TransposedKernel(1, 2, 3, rng=0), x, grad_y, reference)
    assert_matches_autograd(nl.Conv2d(1, 2, 3, rng=0), x, grad_y, reference)


# ---------------------------------------------------------------------------------------------
# Conversions both ways, and what does not convert
# ---------------------------------------------------------------------------------------------


def assert_same_layer(actual: nl.Layer | nl.Loss, expected: nl.Layer) -> None:
    assert isinstance(actual, nl.Layer)
    assert repr(actual) == repr(expected)
    assert actual.get_config() == expected.get_config()
    for (name, value), (other, wanted) in zip(
        actual.state_dict().items(), expected.state_dict().items(), strict=True
    ):
        assert name == other
        assert value.dtype == wanted.dtype
        assert value.tobytes() == wanted.tobytes()


@given(case=image_networks(dtype=st.sampled_from(["float64", "float32"])))
def test_image_networks_go_to_pytorch_and_back_bit_for_bit(
    case: tuple[nl.Sequential, tuple[int, ...]],
) -> None:
    model, _ = case
    assert_same_layer(interop.from_torch(interop.to_torch(model)), model)


def test_the_conv_weight_is_pytorchs_with_its_axes_moved() -> None:
    layer = nl.Conv2d(2, 3, (2, 4), rng=0)
    module = interop.to_torch(layer)
    assert layer.weight.shape == (2, 2, 4, 3)  # (in, kh, kw, out)
    assert tuple(module.weight.shape) == (3, 2, 2, 4)  # (out, in, kh, kw)
    for o, c, u, v in np.ndindex(3, 2, 2, 4):
        assert module.weight[o, c, u, v].item() == layer.weight.data[c, u, v, o]


def test_a_torch_cnn_converts_to_nnlite() -> None:
    generator = torch.Generator().manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 6, 6)),
        torch.nn.Conv2d(1, 2, 3, padding=1, dtype=torch.float64),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.AvgPool2d(3, stride=1),
        torch.nn.Flatten(),
    )
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=torch.float64))
    model = interop.from_torch(module)
    assert isinstance(model, nl.Sequential)
    assert [type(layer).__name__ for layer in model] == [
        "Unflatten", "Conv2d", "ReLU", "MaxPool2d", "AvgPool2d", "Flatten"
    ]  # fmt: skip
    x = torch.rand(3, 36, generator=generator, dtype=torch.float64)
    np.testing.assert_allclose(model(x.numpy()), module(x).detach().numpy(), rtol=1e-13)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (lambda: torch.nn.Conv2d(1, 1, 3, dilation=2), "dilation=\\(1, 1\\) only, got \\(2, 2\\)"),
        (lambda: torch.nn.Conv2d(2, 2, 3, groups=2), "groups=1 only, got 2"),
        (lambda: torch.nn.Conv2d(1, 1, 3, padding="same"), "padding in pixels, got 'same'"),
        (lambda: torch.nn.Conv2d(1, 1, 3, padding_mode="reflect"), "padding_mode='zeros' only"),
        (lambda: torch.nn.MaxPool2d(2, padding=1), "padding=0 only, got 1"),
        (lambda: torch.nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=False only"),
        (lambda: torch.nn.MaxPool2d(2, return_indices=True), "return_indices=False only"),
        (lambda: torch.nn.AvgPool2d(2, divisor_override=3), "divisor_override=None only"),
        (lambda: torch.nn.Flatten(0), "start_dim=1, end_dim=-1"),
        (lambda: torch.nn.Unflatten(2, (2, 2)), "dimension 1 only, got dim=2"),
    ],
    ids=[
        "dilation", "groups", "same", "reflect", "max padding", "ceil", "indices", "divisor",
        "flatten dims", "unflatten dim",
    ],
)  # fmt: skip
def test_options_nnlite_has_not_are_refused(module: Any, expected: str) -> None:
    with torch.device("meta"):  # no values drawn from torch's global generator
        made = module()
    with pytest.raises(interop.ConversionError, match=expected):
        interop.from_torch(made)


# ---------------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop_images")


def run_onnx(model: nl.Layer, x: Array, path: Path, input_shape: Any = None) -> Array:
    ort = pytest.importorskip("onnxruntime")
    interop.to_onnx(model, path, dtype=x.dtype, input_shape=input_shape)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    return y


@pytest.mark.parametrize("kind", IMAGE_KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_image_kind_runs_in_onnxruntime(
    kind: interop.LayerKind, dtype: Any, workdir: Path
) -> None:
    assert kind.sample_shape is not None
    layer = kind.example(kind.sample_shape[0])
    if layer.parameters():  # the example, in the dtype
        converted = interop.from_torch(
            interop.to_torch(layer).to(getattr(torch, np.dtype(dtype).name))
        )
        assert isinstance(converted, nl.Layer)
        layer = converted
    x = np.random.default_rng(0).standard_normal((3, *kind.sample_shape)).astype(dtype)
    shape = None if kind.input_width(layer) is not None else kind.sample_shape
    y = run_onnx(layer, x, workdir / f"{kind.name}.onnx", input_shape=shape)
    assert y.dtype == dtype
    scale = magnitudes(layer, x, np.ones_like(layer(x)))["output"]
    assert_close(y, layer(x), scale, RTOL[np.dtype(dtype)], "y")


@given(case=image_networks(dtype=st.sampled_from(["float64", "float32"])), batch=nst.batch_sizes())
def test_image_networks_run_in_onnxruntime(
    case: tuple[nl.Sequential, tuple[int, ...]], batch: int, workdir: Path
) -> None:
    model, shape = case
    dtype = model.parameters()[0].data.dtype
    x = np.random.default_rng(batch).standard_normal((batch, *shape)).astype(dtype)
    input_shape = None if len(shape) == 1 else shape
    y = run_onnx(model, x, workdir / "network.onnx", input_shape=input_shape)
    scale = magnitudes(model, x, np.ones_like(model(x)))["output"]
    assert_close(y, model(x), scale, RTOL[np.dtype(dtype)], "y")


def onnx_ops(model: nl.Layer, path: Path, **options: Any) -> list[str]:
    onnx = pytest.importorskip("onnx")
    interop.to_onnx(model, path, **options)
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def test_the_onnx_graphs_use_the_documented_ops(workdir: Path) -> None:
    """float32: Conv, MaxPool, AveragePool. float64: the windows as slices, then MatMul and
    ReduceMean (ONNX Runtime has no float64 Conv or AveragePool)."""
    images = {"input_shape": (1, 4, 4)}
    conv32 = nl.Conv2d(1, 2, 2, padding=1, rng=0, dtype=np.float32)
    assert onnx_ops(conv32, workdir / "c32.onnx", **images) == ["Conv"]
    slices = ["Slice", "Unsqueeze"] * 4 + ["Concat"]
    conv64 = nl.Conv2d(1, 2, 2, padding=1, rng=0)
    expected = ["Pad", *slices, "Transpose", "Reshape", "MatMul", "Add", "Transpose"]
    assert onnx_ops(conv64, workdir / "c64.onnx", **images) == expected
    assert onnx_ops(nl.MaxPool2d(2), workdir / "m.onnx", **images) == ["MaxPool"]
    average = {**images, "dtype": np.float32}
    assert onnx_ops(nl.AvgPool2d(2), workdir / "a32.onnx", **average) == ["AveragePool"]
    assert onnx_ops(nl.AvgPool2d(2), workdir / "a64.onnx", **images) == [*slices, "ReduceMean"]
    assert onnx_ops(nl.Flatten(), workdir / "f.onnx", **images) == ["Flatten"]
    assert onnx_ops(nl.Unflatten((1, 4, 4)), workdir / "u.onnx") == ["Reshape"]


def test_a_model_on_images_needs_its_input_shape(workdir: Path) -> None:
    pytest.importorskip("onnx")
    model = nl.Sequential(nl.Conv2d(1, 2, 3, rng=0), nl.Flatten())
    with pytest.raises(nl.ShapeError, match=r"Conv2d\(1, 2, .*\) does not take rows: pass input_"):
        interop.to_onnx(model, workdir / "never.onnx")
    rows = nl.Sequential(nl.Unflatten((1, 3, 3)), *model)
    with pytest.raises(nl.ShapeError, match=r"takes rows \(N, 9\), not input_shape \(1, 3, 3\)"):
        interop.to_onnx(rows, workdir / "never.onnx", input_shape=(1, 3, 3))
    with pytest.raises(nl.errors.ArgumentValueError, match="input_shape must be a non-empty"):
        interop.to_onnx(model, workdir / "never.onnx", input_shape=())
    assert not (workdir / "never.onnx").exists()
