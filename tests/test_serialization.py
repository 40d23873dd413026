"""save and load: round trips, user layers, corrupt files (always one LoadError), atomic writes."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import re
import signal
import stat
import struct
import subprocess
import sys
import threading
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
import nnlite._files
import nnlite.serialization
from nnlite._files import write_atomically
from nnlite.interop import LayerKind, layer_kind, layer_kinds, register, unregister
from nnlite.serialization import load, save
from nnlite.testing import strategies as nst
from tests.layer_chains import chains

Array = nl.FloatArray

# ---------------------------------------------------------------------------------------------
# Layers of a user's own, and helpers
# ---------------------------------------------------------------------------------------------


class Scale(nl.Layer):
    """y = x * s, one learned scale per feature: a user's layer with constructor arguments."""

    def __init__(self, n_features: int, start: float = 0.5) -> None:
        self.n_features, self.start = n_features, start
        self.scale = nl.Parameter(np.linspace(start, start + 1, n_features))

    def forward(self, x: Array) -> Array:
        self.x = x
        return x * self.scale.data

    def backward(self, grad_y: Array) -> Array:
        self.scale.grad += np.sum(grad_y * self.x, axis=0)
        return grad_y * self.scale.data

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "start": self.start}

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, start={self.start}"


class NoConfig(nl.Layer):
    """A layer with a constructor argument and no get_config: it cannot be rebuilt."""

    def __init__(self, n_features: int) -> None:
        self.scale = nl.Parameter(np.ones(n_features))


class NumpyConfig(Scale):
    """get_config returns a numpy integer, which JSON cannot hold."""

    def get_config(self) -> dict[str, Any]:
        return {"n_features": np.int64(self.n_features)}


class ListConfig(Scale):
    """get_config returns a list, not a dict of arguments."""

    def get_config(self) -> Any:
        return [self.n_features]


class Doubling(nl.Layer):
    """y = 2x, no parameters: stands in for a kind registered later."""

    def forward(self, x: Array) -> Array:
        return 2 * x

    def backward(self, grad_y: Array) -> Array:
        return 2 * grad_y


def reference_model() -> nl.Sequential:
    """A float32 layer, a float64 one without bias, and a nested Sequential."""
    return nl.Sequential(
        nl.Linear(3, 4, rng=0, dtype=np.float32),
        nl.Sigmoid(),
        nl.Sequential(nl.BiasAppend(), nl.Linear(5, 2, bias=False, rng=1)),
    )


def load_error(path: Path, match: str | None = None, **kwargs: Any) -> nl.LoadError:
    """load(path) must raise a LoadError (anything else fails the test) naming the path, whose
    message matches the regular expression ``match``."""
    with pytest.raises(nl.LoadError, match=match) as info:
        load(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def assert_identical(actual: Array, expected: Array) -> None:
    """Same dtype, same shape, same bits."""
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


def assert_same_model(actual: nl.Layer, expected: nl.Layer) -> None:
    """Same architecture (repr), same parameter names and bit-identical values, no shared memory."""
    assert repr(actual) == repr(expected)
    pairs = zip(actual.named_parameters(), expected.named_parameters(), strict=True)
    for (name, parameter), (expected_name, expected_parameter) in pairs:
        assert name == expected_name
        assert_identical(parameter.data, expected_parameter.data)
        assert not np.shares_memory(parameter.data, expected_parameter.data)


def write_npz(path: Path, entries: dict[str, Any]) -> Path:
    """An .npz with exactly these entries, written by numpy itself (object arrays pickled)."""
    with open(path, "wb") as file:
        np.savez(file, **entries)
    return path


def document(model: Any, **fields: Any) -> Array:
    """The JSON entry save writes, with ``fields`` replacing or adding top-level keys."""
    return np.array(json.dumps({"format": "nnlite", "version": 1, "model": model, **fields}))


LINEAR_2_3 = {
    "class": "Linear",
    "config": {"in_features": 2, "out_features": 3, "bias": True, "dtype": "float64"},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the property tests, whose examples overwrite one file each."""
    return tmp_path_factory.mktemp("serialization")


@pytest.fixture(scope="module")
def saved_bytes(workdir: Path) -> bytes:
    """The bytes of reference_model() as save writes them."""
    path = workdir / "reference.npz"
    save(reference_model(), path)
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------

DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def models_with_inputs(draw: st.DrawFn) -> tuple[nl.Sequential, Array]:
    """The derivation's network or a drawn chain of every registered kind (Linears of both dtypes),
    and an input batch (float32 or float64)."""
    if draw(st.booleans(), label="two_layer_network"):
        model = draw(nst.two_layer_networks())
        n_in = model[0].in_features  # type: ignore[attr-defined]
    else:
        n_in = draw(nst.feature_widths())
        model, _ = draw(chains(n_in))
    return model, draw(nst.inputs(n_in, dtype=draw(DTYPES)))


@given(case=models_with_inputs(), data=st.data())
def test_a_loaded_model_is_bit_identical_forward_and_backward(
    case: tuple[nl.Sequential, Array], data: st.DataObject, workdir: Path
) -> None:
    model, x = case
    path = workdir / "round_trip.npz"
    save(model, path)
    loaded = load(path)
    assert_same_model(loaded, model)
    y = model(x)
    assert_identical(loaded(x), y)
    grad_y = data.draw(nst.arrays(y.shape, dtype=y.dtype), label="grad_y")
    model.zero_grad()
    assert_identical(loaded.backward(grad_y), model.backward(grad_y))
    for parameter, expected in zip(loaded.parameters(), model.parameters(), strict=True):
        assert_identical(parameter.grad, expected.grad)


@pytest.mark.parametrize("kind", layer_kinds(), ids=lambda kind: kind.name)
def test_every_registered_kind_round_trips(tmp_path: Path, kind: LayerKind) -> None:
    """Read from the registry, so a kind registered is covered, built by its example."""
    layer = kind.example(3)
    save(layer, tmp_path / "layer.npz")
    loaded = load(tmp_path / "layer.npz")
    assert type(loaded) is kind.layer
    assert_same_model(loaded, layer)


def test_the_file_holds_float_arrays_and_one_json_text(tmp_path: Path) -> None:
    """The format, pinned: "param:<name>" float arrays and a 0-d unicode JSON entry."""
    model = reference_model()
    save(model, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as npz:
        entries = {name: npz[name] for name in npz.files}
    assert sorted(entries) == ["nnlite.json", "param:0.bias", "param:0.weight", "param:2.1.weight"]
    text = entries.pop("nnlite.json")
    assert text.dtype.kind == "U"
    assert text.shape == ()
    assert json.loads(text.item()) == {
        "format": "nnlite",
        "version": 1,
        "model": {
            "class": "Sequential",
            "layers": [
                {
                    "class": "Linear",
                    "config": {
                        "in_features": 3,
                        "out_features": 4,
                        "bias": True,
                        "dtype": "float32",
                    },
                },
                {"class": "Sigmoid", "config": {}},
                {
                    "class": "Sequential",
                    "layers": [
                        {"class": "BiasAppend", "config": {}},
                        {
                            "class": "Linear",
                            "config": {
                                "in_features": 5,
                                "out_features": 2,
                                "bias": False,
                                "dtype": "float64",
                            },
                        },
                    ],
                },
            ],
        },
    }
    for name, values in model.state_dict().items():
        assert_identical(entries["param:" + name], values)


def test_a_float32_model_loads_as_float32(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(3, 2, rng=0, dtype=np.float32), nl.Sigmoid())
    save(model, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert [parameter.dtype for parameter in loaded.parameters()] == [np.float32, np.float32]
    assert loaded(np.ones((4, 3), dtype=np.float32)).dtype == np.float32


def test_the_path_is_used_exactly_as_given(tmp_path: Path) -> None:
    """No ".npz" is added; str and PathLike both work; saving again replaces the file."""
    first, second = nl.Linear(2, 2, rng=0), nl.Linear(2, 2, rng=1)
    save(first, str(tmp_path / "model"))
    assert os.listdir(tmp_path) == ["model"]
    assert_same_model(load(str(tmp_path / "model")), first)
    save(second, tmp_path / "model")
    assert os.listdir(tmp_path) == ["model"]
    assert_same_model(load(tmp_path / "model"), second)


# ---------------------------------------------------------------------------------------------
# User layers
# ---------------------------------------------------------------------------------------------


def test_a_user_layer_round_trips_through_custom_layers(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(3, 2, rng=0), Scale(2, start=0.25))
    model[1].scale.data[:] = [7.0, -3.0]  # type: ignore[attr-defined]  # trained, not initial
    save(model, tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz", custom_layers={"Scale": Scale})
    assert isinstance(loaded, nl.Sequential)
    assert isinstance(loaded[1], Scale)
    assert loaded[1].start == 0.25
    assert_same_model(loaded, model)


def test_a_user_layer_without_custom_layers_is_named(tmp_path: Path) -> None:
    save(nl.Sequential(nl.Sigmoid(), nl.Sequential(Scale(2))), tmp_path / "model.npz")
    message = str(load_error(tmp_path / "model.npz", "Sequential layer 1.0: unknown layer class"))
    assert "'Scale'" in message
    assert "custom_layers={'Scale': Scale}" in message
    for name in [*(kind.name for kind in layer_kinds()), "Sequential"]:  # the known ones listed
        assert name in message


def test_custom_layers_win_over_a_built_in_of_the_same_name(tmp_path: Path) -> None:
    class Sigmoid(nl.Sigmoid):
        """A user's instrumented Sigmoid, chosen explicitly at load time."""

    save(nl.Sequential(nl.Sigmoid()), tmp_path / "model.npz")
    assert type(load(tmp_path / "model.npz")[0]) is nl.Sigmoid  # type: ignore[index]
    loaded = load(tmp_path / "model.npz", custom_layers={"Sigmoid": Sigmoid})
    assert type(loaded[0]) is Sigmoid  # type: ignore[index]


def test_custom_layers_must_be_layer_classes(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'Scale' maps to Scale\(.*\), an instance"):
        load(tmp_path / "model.npz", custom_layers={"Scale": Scale(2)})  # type: ignore[dict-item]


def test_registered_kinds_are_looked_up_when_loading(tmp_path: Path) -> None:
    """A kind in the registry loads without custom_layers, and is listed among the known ones."""
    save(nl.Sequential(Doubling()), tmp_path / "model.npz")
    load_error(tmp_path / "model.npz", "unknown layer class 'Doubling'")
    register(LayerKind(Doubling, example=lambda n: Doubling()))
    try:
        assert isinstance(load(tmp_path / "model.npz")[0], Doubling)  # type: ignore[index]
    finally:
        unregister(Doubling)
    load_error(tmp_path / "model.npz", "unknown layer class 'Doubling'")


ShadowLinear = type("Linear", (Scale,), {})  # a user class with a built-in's name


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (NoConfig(2), r"NoConfig\(\): get_config\(\) raised .*takes n_features"),
        (NumpyConfig(2), r"NumpyConfig\(.*\): .*which is not JSON"),
        (Scale(2, start=float("nan")), r"Scale\(.*\): .*which is not JSON"),
        (ListConfig(2), r"ListConfig\(.*\): get_config\(\) must return a dict"),
        (ShadowLinear(2), r"Linear\(.*\): it has the class name of nnlite's built-in Linear"),
    ],
    ids=["no get_config", "numpy value", "nan", "not a dict", "built-in name"],
)
def test_a_layer_that_cannot_be_rebuilt_is_refused_at_save(
    tmp_path: Path, layer: nl.Layer, expected: str
) -> None:
    """The error names the layer and its index path; nothing is written, an old file is kept."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"old contents")
    model = nl.Sequential(nl.Linear(2, 2, rng=0), nl.Sequential(nl.Sigmoid(), layer))
    with pytest.raises(nl.SaveError, match=r"cannot save Sequential layer 1\.1, " + expected):
        save(model, path)
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_weight_tied_between_two_layers_is_refused_at_save_naming_both(tmp_path: Path) -> None:
    """Saved, the file would hold the weight once and nl.load would refuse it (a missing key):
    refused at save instead, naming both places, and nothing is written."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"old contents")
    first, second = nl.Linear(3, 3, rng=0), nl.Linear(3, 3)
    second.weight = first.weight
    model = nl.Sequential(first, nl.Sigmoid(), nl.Sequential(second))
    with pytest.raises(
        nl.SaveError,
        match=re.escape(
            "nl.save: parameter '0.weight' is also '2.0.weight': one parameter held by two "
            "layers, Sequential layer 0 and Sequential layer 2.0."
        ),
    ):
        save(model, path)
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["model.npz"]


class TiedPair(nl.Layer):
    """y = (x W) W^T: one weight used twice, the tie made by the constructor."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.encoder = nl.Linear(n, n, bias=False, rng=0)
        self.tied = self.encoder.weight  # the same Parameter under a second name

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x, self.h = x, x @ self.tied.data
        return self.h @ self.tied.data.T

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        grad_h = grad_y @ self.tied.data
        self.tied.grad += self.x.T @ grad_h + grad_y.T @ self.h
        return grad_h @ self.tied.data.T

    def get_config(self) -> dict[str, Any]:
        return {"n": self.n}


def test_a_tie_its_layer_makes_is_saved_and_restored(tmp_path: Path) -> None:
    pair = TiedPair(3)
    pair.encoder.weight.data[...] = np.arange(9.0).reshape(3, 3)
    save(nl.Sequential(pair, nl.Sigmoid()), tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz", custom_layers={"TiedPair": TiedPair})
    assert isinstance(loaded, nl.Sequential)
    again = loaded[0]
    assert isinstance(again, TiedPair)
    assert again.tied is again.encoder.weight
    np.testing.assert_array_equal(again.tied.data, np.arange(9.0).reshape(3, 3))


# ---------------------------------------------------------------------------------------------
# Corrupt files: always one LoadError, never another exception
# ---------------------------------------------------------------------------------------------


def test_a_missing_file_a_directory_and_an_empty_file(tmp_path: Path) -> None:
    error = load_error(tmp_path / "missing.npz", "cannot open the file")
    assert isinstance(error.__cause__, FileNotFoundError)  # chained, for the traceback
    load_error(tmp_path, "cannot open the file")
    (tmp_path / "empty.npz").write_bytes(b"")
    load_error(tmp_path / "empty.npz", "the file is empty")


def test_every_truncation_is_a_load_error(saved_bytes: bytes, workdir: Path) -> None:
    """Every length from one byte short down to 0: the whole property, checked exhaustively."""
    path = workdir / "truncated.npz"
    path.write_bytes(saved_bytes)
    for length in reversed(range(len(saved_bytes))):
        os.truncate(path, length)  # shrinking in place: far faster than rewriting each time
        load_error(path)


@given(junk=st.binary(max_size=3000), zip_signature=st.booleans())
def test_random_bytes_are_a_load_error(junk: bytes, zip_signature: bool, workdir: Path) -> None:
    """Junk, and junk that starts like a zip so that it reaches the zip reader."""
    path = workdir / "junk.npz"
    path.write_bytes((b"PK\x03\x04" if zip_signature else b"") + junk)
    load_error(path)


@given(data=st.data())
def test_a_flipped_bit_is_a_load_error_or_changes_nothing(
    data: st.DataObject, saved_bytes: bytes, workdir: Path
) -> None:
    """Every zip entry carries a CRC-32 of its bytes and load checks them all, so a flip inside an
    entry (JSON, npy header or values) is a LoadError; a flip in zip metadata that nothing reads
    (a timestamp) loads the same model. Nothing else may happen."""
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(saved_bytes) - 1), label="bit")
    flipped = bytearray(saved_bytes)
    flipped[bit // 8] ^= 1 << (bit % 8)
    path = workdir / "flipped.npz"
    path.write_bytes(bytes(flipped))
    outcome: nl.Layer | nl.LoadError
    try:
        outcome = load(path)
    except nl.LoadError as error:
        outcome = error
    if isinstance(outcome, nl.LoadError):
        assert str(path) in str(outcome)
    else:
        assert_same_model(outcome, reference_model())


def test_a_flipped_bit_in_a_weight_fails_the_checksum(saved_bytes: bytes, tmp_path: Path) -> None:
    """Without the CRC check this would load quietly with a different weight."""
    weights = reference_model()[0].weight.data.tobytes()  # type: ignore[attr-defined]
    position = saved_bytes.index(weights) + 5
    flipped = bytearray(saved_bytes)
    flipped[position] ^= 1
    (tmp_path / "model.npz").write_bytes(bytes(flipped))
    load_error(tmp_path / "model.npz", "Bad CRC-32")


def test_a_zip_that_is_not_an_npz_and_an_npz_without_the_json(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as archive:
        archive.writestr("notes.txt", "not a model")
    load_error(tmp_path / "notes.zip", r"no 'nnlite.json' entry.*its entries: 'notes.txt'")
    write_npz(tmp_path / "model.npz", {"param:0.weight": np.ones((2, 3))})
    load_error(tmp_path / "model.npz", r"no 'nnlite.json' entry.*its entries: 'param:0.weight'")


@pytest.mark.parametrize(
    ("json_entry", "expected"),
    [
        (np.array("{"), "is not valid JSON"),
        (np.array("[" * 100_000 + "]" * 100_000), "is not valid JSON .*recursion"),
        (np.array("[]"), r"not an nnlite model file \(format \[\]"),
        (document(LINEAR_2_3, format="keras"), r"not an nnlite model file \(format 'keras'"),
        (document(LINEAR_2_3, version=2), "version 2: this nnlite reads version 1, .* newer"),
        (document(LINEAR_2_3, version="1"), "unsupported format version '1'"),
        (document(LINEAR_2_3, version=True), "unsupported format version True"),
        (np.array(json.dumps({"format": "nnlite", "version": 1})), "no 'model' entry"),
        (np.array(b"{}"), r"a 0-d unicode array of JSON text, found dtype \|S2"),
        (np.array(["{}"]), r"a 0-d unicode array of JSON text, found .* shape \(1,\)"),
        (np.array(1.0), "a 0-d unicode array of JSON text, found dtype float64"),
    ],
    ids=[
        "malformed",
        "too deep",
        "not an object",
        "format",
        "newer version",
        "version string",
        "version bool",
        "no model",
        "bytes",
        "1-d",
        "float",
    ],
)
def test_a_bad_json_entry_is_a_load_error(tmp_path: Path, json_entry: Array, expected: str) -> None:
    load_error(write_npz(tmp_path / "model.npz", {"nnlite.json": json_entry}), expected)


def nested(depth: int) -> dict[str, Any]:
    """A Sigmoid inside ``depth`` Sequentials."""
    spec: dict[str, Any] = {"class": "Sigmoid", "config": {}}
    for _ in range(depth):
        spec = {"class": "Sequential", "layers": [spec]}
    return spec


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"class": "Linear"}, r"the model: expected \{'class', 'config'"),
        ({"class": 3, "config": {}}, r"the model: expected \{'class': name"),
        ({"class": "Sequential", "layers": {}}, r"expected \{'class', 'layers': \[...\]\}"),
        (
            {"class": "Sequential", "layers": [{"class": "Linear", "config": {"in_features": 1}}]},
            r"Sequential layer 0: Linear\(\*\*\{'in_features': 1\}\) failed: TypeError",
        ),
        (
            {"class": "Linear", "config": {"in_features": 0, "out_features": 2}},
            r"Linear\(\*\*.*\) failed: ArgumentValueError: Linear: in_features must be an int >= 1",
        ),
        (
            {"class": "Linear", "config": {"in_features": 2, "out_features": 2, "act": "relu"}},
            r"failed: TypeError: .*'act'",
        ),
        (nested(150), "Sequentials nested deeper than 100"),
    ],
    ids=[
        "no config",
        "class not a str",
        "layers not a list",
        "missing",
        "invalid",
        "unknown",
        "deep",
    ],
)
def test_a_bad_architecture_is_a_load_error(
    tmp_path: Path, model: dict[str, Any], expected: str
) -> None:
    load_error(write_npz(tmp_path / "model.npz", {"nnlite.json": document(model)}), expected)


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"param:weight": np.ones((3, 2)), "param:bias": np.ones(3)},
            r"'weight': expected shape \(2, 3\)",
        ),
        (
            {"param:weight": np.ones((2, 3), np.float32), "param:bias": np.ones(3)},
            "'weight': expected dtype float64, found float32",
        ),
        ({"param:weight": np.ones((2, 3))}, "missing key 'bias'"),
        (
            {"param:weight": np.ones((2, 3)), "param:bias": np.ones(3), "param:gain": np.ones(3)},
            "unexpected key 'gain'",
        ),
        (
            {"param:weight": np.ones((2, 3)), "param:bias": np.ones(3), "notes": np.ones(1)},
            "unexpected entries 'notes'",
        ),
    ],
    ids=["shape", "dtype", "missing", "unexpected parameter", "unexpected entry"],
)
def test_parameters_that_do_not_fit_are_a_load_error(
    tmp_path: Path, parameters: dict[str, Array], expected: str
) -> None:
    path = write_npz(tmp_path / "model.npz", {"nnlite.json": document(LINEAR_2_3), **parameters})
    load_error(path, expected)


UNPICKLED: list[str] = []


def _record_unpickling() -> None:
    UNPICKLED.append("unpickled")


class Tripwire:
    """Unpickling one records it in UNPICKLED: what a malicious file would run code with."""

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        return _record_unpickling, ()


@pytest.mark.parametrize("entry", ["param:weight", "nnlite.json"])
def test_a_pickled_object_array_is_never_unpickled(tmp_path: Path, entry: str) -> None:
    pickle.loads(pickle.dumps(Tripwire()))  # the tripwire works ...
    assert UNPICKLED == ["unpickled"]
    UNPICKLED.clear()
    entries: dict[str, Any] = {
        "nnlite.json": document(LINEAR_2_3),
        "param:weight": np.ones((2, 3)),
        "param:bias": np.ones(3),
    }
    entries[entry] = np.array([Tripwire()], dtype=object)
    load_error(write_npz(tmp_path / "model.npz", entries), "an object array .* never read")
    assert UNPICKLED == []  # ... and load never set it off


# ---------------------------------------------------------------------------------------------
# Atomic writes, and all-or-nothing loading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("old", [b"old contents", None], ids=["over a file", "new file"])
@pytest.mark.parametrize(
    "interruption", [OSError("disk full"), KeyboardInterrupt()], ids=["OSError", "interrupt"]
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: bytes | None, interruption: BaseException
) -> None:
    path = tmp_path / "model.npz"
    if old is not None:
        path.write_bytes(old)
    written: list[int] = []

    def fail_halfway(file: Any, **entries: Any) -> None:
        written.append(file.write(b"PK\x03\x04 the first half of an archive"))
        raise interruption

    monkeypatch.setattr(np, "savez", fail_halfway)
    with pytest.raises(type(interruption)):
        save(reference_model(), path)
    assert written  # the failure came in the middle of writing
    if old is None:
        assert os.listdir(tmp_path) == []
    else:
        assert os.listdir(tmp_path) == ["model.npz"]
        assert path.read_bytes() == old


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"old contents")
    temporaries: list[Path] = []

    def fail(source: str, target: str) -> None:
        temporaries.append(Path(source))
        assert repr(load(source)) == repr(reference_model())  # the whole model is in it
        raise OSError("cannot rename")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="cannot rename"):
        save(reference_model(), path)
    assert [temporary.parent for temporary in temporaries] == [tmp_path]  # beside the target
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_the_temporary_is_fsynced_then_renamed_onto_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(descriptor: int) -> None:
        calls.append("fsync")
        fsync(descriptor)

    def recording_replace(source: str, target: str) -> None:
        calls.append(f"replace {Path(source).parent == tmp_path} {target}")
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    save(reference_model(), tmp_path / "model.npz")
    assert calls == ["fsync", f"replace True {tmp_path / 'model.npz'}"]


def test_a_state_that_does_not_fit_changes_no_parameter() -> None:
    """load builds a new model; load_state_dict into an existing one is all or nothing."""
    model = reference_model()
    before = model.state_dict()
    state = model.state_dict()
    state["0.weight"] = state["0.weight"] + 1  # fits, and comes first
    state["2.1.weight"] = np.zeros((4, 2))  # does not fit
    with pytest.raises(
        nl.LoadError, match=r"'2.1.weight': expected shape \(5, 2\), found \(4, 2\)"
    ):
        model.load_state_dict(state)
    for name, values in model.state_dict().items():
        assert_identical(values, before[name])


# ---------------------------------------------------------------------------------------------
# Saving: interrupted saves, concurrent saves, modes, symlinks, long names, error messages
# ---------------------------------------------------------------------------------------------

needs_posix = pytest.mark.skipif(sys.platform == "win32", reason="signals, modes and locks")

KILLED_MID_SAVE = """
import os, signal, sys
import numpy as np
import nnlite as nl

def die_halfway(file, **entries):
    file.write(b"PK\\x03\\x04 the first half of an archive")
    file.flush()
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))

np.savez = die_halfway
nl.save(nl.Linear(3, 2, rng=0), sys.argv[1])
"""


@needs_posix
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
def test_the_next_save_removes_what_a_killed_save_left(tmp_path: Path, signal_name: str) -> None:
    """A process killed mid-save runs no cleanup: its temporary stays until a save of the same
    name removes it."""
    path = tmp_path / "model.npz"
    for _ in range(2):  # the second killed save removes the first one's temporary
        child = subprocess.run(
            [sys.executable, "-c", KILLED_MID_SAVE, str(path), signal_name], check=False
        )
        assert child.returncode == -getattr(signal, signal_name)
        [left] = os.listdir(tmp_path)
        assert left.startswith(".model.npz.")
        assert left.endswith(".tmp")
    save(reference_model(), path)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert_same_model(load(path), reference_model())


def test_a_save_never_removes_the_temporary_of_a_save_still_running(tmp_path: Path) -> None:
    """One save is held mid-write while another save of the same path runs to the end: the first
    one's temporary is live, not stale, and the first save still succeeds."""
    path = str(tmp_path / "model.npz")
    writing, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow(file: Any) -> None:
        file.write(b"first")
        writing.set()
        assert resume.wait(10)

    def first_save() -> None:
        try:
            write_atomically(path, slow)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    thread = threading.Thread(target=first_save)
    thread.start()
    assert writing.wait(10)
    write_atomically(path, lambda file: file.write(b"second"))
    assert len(os.listdir(tmp_path)) == 2  # the target and the first save's live temporary
    resume.set()
    thread.join(10)
    assert errors == []
    assert Path(path).read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["model.npz"]


@needs_posix
def test_a_temporary_taken_for_stale_before_it_is_locked_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between creating its temporary and locking it, a save can lose it to another save's
    clean-up; it notices and starts again under a new name, and the save goes through."""
    path = str(tmp_path / "model.npz")
    created: list[str] = []
    real_open = os.open

    def open_then_clean(name: str, flags: int, mode: int = 0o777) -> int:
        descriptor = real_open(name, flags, mode)
        if flags & os.O_CREAT and not created:  # the first temporary: clean up before the lock
            created.append(name)
            nnlite._files._remove_stale_temporaries(str(tmp_path), ".model.npz.")
        return descriptor

    monkeypatch.setattr(os, "open", open_then_clean)
    write_atomically(path, lambda file: file.write(b"contents"))
    assert created
    assert not os.path.exists(created[0])
    assert Path(path).read_bytes() == b"contents"
    assert os.listdir(tmp_path) == ["model.npz"]


@needs_posix
def test_saving_over_a_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"old contents")
    path.chmod(0o600)
    save(reference_model(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    save(reference_model(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@needs_posix
def test_a_new_file_gets_the_mode_of_any_new_file(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        save(reference_model(), tmp_path / "model.npz")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o640


@needs_posix
def test_saving_to_a_symlink_writes_its_target(tmp_path: Path) -> None:
    """The link stays a link; the file it points to (in another directory) gets the new model,
    and the temporary was made beside that file."""
    (tmp_path / "models").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "models" / "model.npz"
    target.write_bytes(b"old contents")
    link = tmp_path / "links" / "current.npz"
    link.symlink_to(os.path.join("..", "models", "model.npz"))
    save(reference_model(), link)
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("..", "models", "model.npz")
    assert_same_model(load(target), reference_model())
    assert os.listdir(tmp_path / "models") == ["model.npz"]
    assert os.listdir(tmp_path / "links") == ["current.npz"]


def test_a_dangling_symlink_is_saved_through(tmp_path: Path) -> None:
    link = tmp_path / "current.npz"
    if sys.platform == "win32":
        pytest.skip("symlinks need privileges on Windows")
    link.symlink_to("model.npz")
    save(reference_model(), link)
    assert link.is_symlink()
    assert_same_model(load(tmp_path / "model.npz"), reference_model())


@pytest.mark.parametrize("length", [244, 255])
def test_a_file_name_of_any_valid_length_can_be_saved(tmp_path: Path, length: int) -> None:
    """The temporary's name is longer than the target's; it is shortened to fit NAME_MAX (255
    bytes on the usual file systems)."""
    path = tmp_path / ("m" * (length - 4) + ".npz")
    save(reference_model(), path)
    assert os.listdir(tmp_path) == [path.name]
    assert_same_model(load(path), reference_model())


def test_a_failed_save_names_the_path_not_the_temporary(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "model.npz"
    with pytest.raises(FileNotFoundError) as info:
        save(reference_model(), path)
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value)


@pytest.mark.parametrize("step", ["write", "replace"])
def test_an_error_while_writing_or_renaming_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A full disk during the write (no file name in the error) and a failed rename (two names,
    the temporary first): both become an error about the caller's path, of the same type."""
    path = tmp_path / "model.npz"

    def full_disk(file: Any, **entries: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def refused(source: str, target: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", source, None, target)

    if step == "write":
        monkeypatch.setattr(np, "savez", full_disk)
    else:
        monkeypatch.setattr(os, "replace", refused)
    expected = OSError if step == "write" else PermissionError
    with pytest.raises(expected) as info:
        save(reference_model(), path)
    assert info.value.filename == str(path)
    assert info.value.filename2 is None
    assert str(info.value).endswith(f": {str(path)!r}")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Hostile files: a strict reader whose every read is bounded
# ---------------------------------------------------------------------------------------------


def npy_bytes(array: Array) -> bytes:
    """The .npy bytes numpy writes for ``array``."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_zip(
    path: Path,
    entries: list[tuple[str, bytes]],
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    """A zip of exactly these (name, bytes) entries, repeated names included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of a repeated name
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def linear_2_3_entries(**replace: bytes) -> list[tuple[str, bytes]]:
    """The zip entries of a file holding Linear(2, 3): JSON, weight and bias."""
    entries = {
        "nnlite.json.npy": npy_bytes(document(LINEAR_2_3)),
        "param:weight.npy": npy_bytes(np.arange(6.0).reshape(2, 3)),
        "param:bias.npy": npy_bytes(np.ones(3)),
    }
    entries.update(replace)
    return list(entries.items())


def relisted(archive: bytes, copies: int, rename: bool) -> bytes:
    """A zip of one entry whose central directory lists that entry ``copies`` times: the same
    bytes read again and again (renamed copies change the last letter of the name)."""
    end = len(archive) - 22  # the end record, no comment
    directory_size, directory_offset = struct.unpack_from("<LL", archive, end + 12)
    record = archive[directory_offset : directory_offset + directory_size]
    name_length = struct.unpack_from("<H", record, 28)[0]
    records = []
    for copy in range(copies):
        name = bytearray(record[46 : 46 + name_length])
        if rename:
            name[-1] = ord("a") + copy % 26
        records.append(record[:46] + bytes(name) + record[46 + name_length :])
    directory = b"".join(records)
    end_record = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, copies, copies, len(directory), directory_offset, 0
    )
    return archive[:directory_offset] + directory + end_record


def peak_allocated(function: Callable[[], object]) -> int:
    """The peak of the memory Python and numpy allocated while ``function`` ran, in bytes."""
    tracemalloc.start()
    try:
        function()
    except nl.LoadError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_a_compressed_entry_is_refused_without_inflating_it(tmp_path: Path) -> None:
    """Format 1 is uncompressed: a compressed entry (a zip bomb's way in) is never read."""
    path = write_zip(tmp_path / "model.npz", linear_2_3_entries(), zipfile.ZIP_DEFLATED)
    load_error(path, r"entry 'nnlite.json.npy' is compressed \(method 8\)")


@pytest.mark.parametrize(
    "names", [("param:bias.npy", "param:bias.npy"), ("param:bias", "param:bias.npy")]
)
def test_a_repeated_entry_is_refused_not_read_last_wins(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    first, second = names
    entries = [*linear_2_3_entries(), (second, npy_bytes(np.full(3, 7.0)))]
    entries[2] = (first, entries[2][1])
    load_error(write_zip(tmp_path / "model.npz", entries), r"'param:bias(\.npy)?' appears twice")


@pytest.mark.parametrize(("rename", "expected"), [(False, "appears twice"), (True, "overlap")])
def test_one_block_listed_many_times_is_refused_at_once(
    tmp_path: Path, rename: bool, expected: str
) -> None:
    data = npy_bytes(np.zeros(1 << 17))  # 1 MiB
    single = write_zip(tmp_path / "single.npz", [("param:weight.npy", data)]).read_bytes()
    path = tmp_path / "model.npz"
    path.write_bytes(relisted(single, 16, rename))
    load_error(path, expected)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    outcome: list[BaseException] = []

    def try_to_load() -> None:
        try:
            load(path)
        except BaseException as error:  # reported by the assertions below
            outcome.append(error)

    thread = threading.Thread(target=try_to_load, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # blocked in open(): a writer lets it go on before the test fails
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("load blocked on a FIFO")
    [error] = outcome
    assert isinstance(error, nl.LoadError)
    assert re.search(rf"{re.escape(str(path))}: .*a FIFO, not a regular file", str(error))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused(tmp_path: Path) -> None:
    load_error(Path("/dev/zero"), "a character device, not a regular file")


def test_the_json_is_read_before_any_parameter(tmp_path: Path) -> None:
    """A file that is no nnlite model says so, however damaged its other entries are."""
    path = write_zip(
        tmp_path / "model.npz",
        linear_2_3_entries(**{"nnlite.json.npy": npy_bytes(document(LINEAR_2_3, format="keras"))}),
    )
    data = bytearray(path.read_bytes())
    weight = np.arange(6.0).reshape(2, 3).tobytes()
    data[data.index(weight) + 3] ^= 1
    path.write_bytes(bytes(data))
    load_error(path, "not an nnlite model file")


def test_an_architecture_larger_than_its_file_is_refused_before_it_is_built(
    tmp_path: Path,
) -> None:
    """A JSON entry of a kilobyte asking for Linear(10000, 10000), 800 MB of weights that are not
    in the file: refused from the entries' sizes, before anything is allocated."""
    huge = {"class": "Linear", "config": {"in_features": 10_000, "out_features": 10_000}}
    model = {"class": "Sequential", "layers": [{"class": "Sigmoid", "config": {}}, huge]}
    path = write_npz(tmp_path / "model.npz", {"nnlite.json": document(model)})
    assert path.stat().st_size < 2000
    peak = peak_allocated(lambda: load_error(path, r"Sequential layer 1: Linear\(.*\) asks for"))
    assert peak < 10 * 2**20


def test_a_file_holding_a_little_less_than_its_architecture_names_what_is_missing(
    tmp_path: Path,
) -> None:
    """The size check refuses only what costs far more than the file: small differences reach
    load_state_dict, which names every key that does not fit."""
    linear = {"class": "Linear", "config": {"in_features": 100, "out_features": 100}}
    path = write_npz(
        tmp_path / "model.npz", {"nnlite.json": document(linear), "param:bias": np.ones(100)}
    )
    load_error(path, "missing key 'weight'")


def test_more_layers_than_the_limit_are_refused_before_any_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    monkeypatch.setattr(nl.Sigmoid, "__init__", lambda self: built.append(1))
    many = {"class": "Sequential", "layers": [{"class": "Sigmoid", "config": {}}] * 10_001}
    path = write_npz(tmp_path / "model.npz", {"nnlite.json": document(many)})
    load_error(path, "more than 10,000 layers")
    assert built == []


def test_the_json_entry_has_a_size_limit(tmp_path: Path) -> None:
    text = json.dumps({"format": "nnlite", "version": 1, "model": LINEAR_2_3}) + " " * (4 << 20)
    path = write_npz(tmp_path / "model.npz", {"nnlite.json": np.array(text)})
    load_error(path, "entry 'nnlite.json' holds .* bytes, more than the 16 MiB")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            npy_bytes(np.ones(3)) + b"\0" * 8,
            r"'param:bias' holds 8 bytes more than its .npy header",
        ),
        (npy_bytes(np.ones(3))[:-8], r"'param:bias' holds 8 bytes less than its .npy header"),
        (npy_bytes(np.ones(3, np.int64)), r"'param:bias' is int64, not float32 or float64"),
        (b"\x93NUMPY\x09\x00" + npy_bytes(np.ones(3))[8:], "'param:bias': .npy version 9.0"),
        (b"not an array", r"'param:bias' is not a \.npy array"),
    ],
    ids=["trailing bytes", "short", "int64", "version", "not npy"],
)
def test_an_entry_must_be_exactly_its_npy_header_and_data(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = write_zip(tmp_path / "model.npz", linear_2_3_entries(**{"param:bias.npy": data}))
    load_error(path, expected)


@pytest.mark.parametrize(
    "weight",
    [
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(6.0).reshape(2, 3).astype(">f8"),
        np.arange(6.0, dtype=np.float32).reshape(2, 3).astype(">f4"),
    ],
    ids=["fortran order", "big-endian float64", "big-endian float32"],
)
def test_arrays_numpy_writes_in_other_layouts_load_the_same_values(
    tmp_path: Path, weight: Array
) -> None:
    dtype = weight.dtype.newbyteorder("=")
    linear = {
        "class": "Linear",
        "config": {"in_features": 2, "out_features": 3, "bias": False, "dtype": str(dtype)},
    }
    path = write_npz(
        tmp_path / "model.npz", {"nnlite.json": document(linear), "param:weight": weight}
    )
    loaded = load(path)
    assert loaded.weight.data.dtype == dtype  # type: ignore[attr-defined]
    assert loaded.weight.data.dtype.isnative  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.weight.data, weight)  # type: ignore[attr-defined]


def built_values(layer: nl.Layer) -> int:
    """How many values a layer holds in its state: parameters and buffers."""
    return sum(values.size for values in layer.state_dict().values())


@pytest.mark.parametrize("kind", layer_kinds(), ids=lambda kind: kind.name)
def test_the_size_check_knows_what_every_registered_layer_allocates(kind: LayerKind) -> None:
    """A kind that holds state must say how much its constructor allocates (state_size), or a
    crafted file could make it allocate unchecked. Read from the registry, so a new kind is
    covered."""
    layer = kind.example(3)
    counted = kind.state_size(layer.get_config()) if kind.state_size else 0
    assert counted == built_values(layer)


@given(
    n_in=st.integers(1, 40),
    n_out=st.integers(1, 40),
    bias=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_the_size_check_counts_what_linear_allocates(
    n_in: int, n_out: int, bias: bool, dtype: str
) -> None:
    config = {"in_features": n_in, "out_features": n_out, "bias": bias, "dtype": dtype}
    size = layer_kind(nl.Linear).state_size  # type: ignore[union-attr]
    assert size is not None
    counted = size(config)
    assert counted == built_values(nl.Linear(**config))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "config",
    [
        {"in_features": -100_000, "out_features": 100_000},
        {"in_features": True, "out_features": 100_000},
        {"in_features": "100000", "out_features": 100_000},
    ],
    ids=["negative", "bool", "str"],
)
def test_a_config_the_constructor_refuses_cannot_lower_the_count(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    """A width Linear refuses counts as nothing, never as a negative number that would let the
    next layer, a real Linear(100000, 100000), pass the check."""
    bad = {"class": "Linear", "config": config}
    huge = {"class": "Linear", "config": {"in_features": 100_000, "out_features": 100_000}}
    model = {"class": "Sequential", "layers": [bad, huge]}
    path = write_npz(tmp_path / "model.npz", {"nnlite.json": document(model)})
    load_error(path, r"Sequential layer 1: Linear\(.*\) asks for 10,000,100,000 parameter values")
