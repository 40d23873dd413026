"""The dense layers' conversions to PyTorch and ONNX, pinned where mutation testing found them
unpinned.

BiasAppend: in PyTorch (``nnlite.interop.BiasAppend``) the ones column is made in x's dtype and on
x's device, so the output keeps both; in ONNX the ones column is ``ConstantOfShape`` of the graph's
float type (a float32 graph has float32 ones), and its one constant is an initializer named by the
layer's path, ``<path>.one``, as every converter's constants are (OnnxGraph.constant).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import interop

torch: Any = pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# BiasAppend
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_bias_append_in_torch_keeps_the_inputs_dtype(dtype: str) -> None:
    """y = [x, 1] in x's own dtype: float16 is not widened to torch's default float32."""
    x = torch.tensor([[2.0, -3.0], [0.5, 4.0]], dtype=getattr(torch, dtype))
    y = interop.to_torch(nl.BiasAppend())(x)
    assert y.dtype == x.dtype
    expected = torch.tensor([[2.0, -3.0, 1.0], [0.5, 4.0, 1.0]], dtype=x.dtype)
    assert torch.equal(y, expected)


def test_bias_append_in_torch_makes_the_ones_on_the_inputs_device() -> None:
    """The ones are made on x's device: on the meta device (no data) the output is there too,
    where ones made on the CPU could not be concatenated with x."""
    x = torch.empty(3, 2, dtype=torch.float64, device="meta")
    y = interop.to_torch(nl.BiasAppend())(x)
    assert y.device.type == "meta"
    assert tuple(y.shape) == (3, 3)
    assert y.dtype == torch.float64


def test_bias_append_in_a_float32_onnx_graph_appends_float32_ones(tmp_path: Path) -> None:
    """A float32 graph's ones column is float32: onnxruntime returns [x, 1] as float32."""
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "bias.onnx"
    interop.to_onnx(nl.BiasAppend(), path, dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.array([[2.0, -3.0], [0.5, 4.0], [1.5, 0.0]], dtype=np.float32)
    (y,) = session.run(None, {"x": x})
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[2.0, -3.0, 1.0], [0.5, 4.0, 1.0], [1.5, 0.0, 1.0]])


def test_bias_append_names_its_constant_by_its_path(tmp_path: Path) -> None:
    """BiasAppend's one constant, the [1] that Concat appends to [N] to make the shape [N, 1], is
    the int64 initializer ``<path>.one``: "1.one" for a BiasAppend at index 1."""
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "names.onnx"
    interop.to_onnx(nl.Sequential(nl.Tanh(), nl.BiasAppend()), path, dtype=np.float64)
    graph = onnx.load(str(path)).graph
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    assert list(constants) == ["1.one"]
    assert constants["1.one"].dtype == np.int64
    np.testing.assert_array_equal(constants["1.one"], [1])
