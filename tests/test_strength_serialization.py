"""nl.save's and nl.load's messages and bounds, pinned in full where mutation testing found them
unpinned: what a file that is not a model says, the version it names, the walk that bounds an
architecture's size before anything is built, and what save refuses before writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite._architecture import layer_classes
from nnlite.errors import LoadError, SaveError
from nnlite.serialization import _SIZE_SLACK, ARCHITECTURE_KEY, MAX_LAYERS, check_size

CLASSES = layer_classes(None)


def _npz(tmp_path: Path, **entries: Any) -> Path:
    path = tmp_path / "file.npz"
    np.savez(path, **entries)  # stored, not compressed: as nl.save writes
    return path


def _reason(path: Path) -> str:
    """The part of nl.load's message after "could not load PATH: "."""
    with pytest.raises(LoadError) as caught:
        nl.load(path)
    message = str(caught.value)
    prefix = f"nl.load could not load {path}: "
    assert message.startswith(prefix), message
    return message[len(prefix) :]


def _document(**changes: Any) -> np.ndarray[Any, Any]:
    document = {"format": "nnlite", "version": 1, "model": {"class": "Sigmoid", "config": {}}}
    document.update(changes)
    return np.array(json.dumps({k: v for k, v in document.items() if v is not None}))


# --- what a file that is not a model says ------------------------------------------------------


def test_a_file_without_the_json_lists_its_entries(tmp_path: Path) -> None:
    path = _npz(tmp_path, b=np.zeros(1), a=np.zeros(1))
    assert _reason(path) == (
        f"no {ARCHITECTURE_KEY!r} entry: this .npz was not written by nl.save "
        "(its entries: 'a', 'b')"
    )


def test_an_empty_archive_says_it_has_no_entries(tmp_path: Path) -> None:
    path = _npz(tmp_path)
    assert _reason(path).endswith("(its entries: none)")


def test_a_file_that_is_no_archive_says_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "file.npz"
    path.write_bytes(b"plain text, no zip")
    assert _reason(path) == "not an .npz archive: it starts with b'plai', not a zip signature"


@pytest.mark.parametrize(
    ("version", "end"),
    [
        (0, "unsupported format version 0: this nnlite reads version 1"),
        (2, "unsupported format version 2: this nnlite reads version 1, the file was written by "
         "a newer one"),
    ],
)  # fmt: skip
def test_the_version_message_says_newer_only_of_a_newer_version(
    tmp_path: Path, version: int, end: str
) -> None:
    path = _npz(tmp_path, **{ARCHITECTURE_KEY: _document(version=version)})
    assert _reason(path) == end


def test_a_document_without_a_model(tmp_path: Path) -> None:
    document = np.array(json.dumps({"format": "nnlite", "version": 1}))
    path = _npz(tmp_path, **{ARCHITECTURE_KEY: document})
    assert _reason(path) == "the JSON has no 'model' entry"


def test_unexpected_entries_are_all_named(tmp_path: Path) -> None:
    path = _npz(
        tmp_path, **{ARCHITECTURE_KEY: _document(), "junk1": np.zeros(1), "junk2": np.zeros(1)}
    )
    assert _reason(path) == "unexpected entries 'junk1', 'junk2'"


# --- the size walk, before anything is built ---------------------------------------------------


def _identity() -> dict[str, Any]:
    return {"class": "Identity", "config": {}}


def _sequential(*layers: Any) -> dict[str, Any]:
    return {"class": "Sequential", "layers": list(layers)}


def _linear(n_in: int, n_out: int) -> dict[str, Any]:
    config = {"in_features": n_in, "out_features": n_out, "bias": False, "dtype": "float64"}
    return {"class": "Linear", "config": config}


def test_the_layer_bound_counts_every_layer_once_the_model_included() -> None:
    """MAX_LAYERS layers in all, the outer Sequential one of them, is the most; one more is
    refused. Layers in two nested Sequentials add up."""
    check_size(_sequential(*[_identity()] * (MAX_LAYERS - 1)), CLASSES, 0)
    with pytest.raises(LoadError) as caught:
        check_size(_sequential(*[_identity()] * MAX_LAYERS), CLASSES, 0)
    assert str(caught.value) == (
        f"the architecture has more than {MAX_LAYERS:,} layers, the most a file may"
    )
    half = [_identity()] * (MAX_LAYERS // 2)
    with pytest.raises(LoadError, match="more than"):
        check_size(_sequential(_sequential(*half), _sequential(*half)), CLASSES, 0)


def test_the_size_bound_is_a_running_total_with_its_slack_exactly() -> None:
    """Two Linears of 200 values each, against a file of 400 - slack values: their total is the
    most it takes; one value less in the file and the second Linear is named, with the total."""
    model = _sequential(_linear(10, 20), _linear(20, 10))
    check_size(model, CLASSES, 400 - _SIZE_SLACK)
    with pytest.raises(LoadError) as caught:
        check_size(model, CLASSES, 399 - _SIZE_SLACK)
    config = "{'bias': False, 'dtype': 'float64', 'in_features': 20, 'out_features': 10}"
    assert str(caught.value) == (
        f"Sequential layer 1: Linear(**{config}) asks for 200 parameter values, 400 with the "
        f"layers before it, and the file holds at most {399 - _SIZE_SLACK:,}: nothing was built"
    )


def test_a_single_layer_model_is_named_the_model() -> None:
    with pytest.raises(LoadError, match=r"^the model: Linear\(\*\*\{"):
        check_size(_linear(1000, 1000), CLASSES, 0)


def test_the_walk_goes_past_a_description_that_is_no_layer() -> None:
    """A layer's description that is not a dict of a class name is left to build to report: the
    walk goes on to the layers after it, and still finds the one that is too large."""
    check_size(_sequential(3, ["x"], {"config": {}}), CLASSES, 0)
    with pytest.raises(LoadError, match="Sequential layer 1: Linear"):
        check_size(_sequential(3, _linear(1000, 1000)), CLASSES, 0)


def test_the_walk_counts_the_layers_a_container_holds_by_name() -> None:
    residual = {"class": "Residual", "config": {}, "layers": {"inner": _linear(1000, 1000)}}
    with pytest.raises(LoadError, match=r"Sequential layer 0\.0: Linear"):
        check_size(_sequential(residual), CLASSES, 0)


def test_layers_listed_under_a_layer_that_holds_none_are_not_walked() -> None:
    """Only a Sequential or a container holds layers; "layers" anywhere else is left to build."""
    linear = _linear(2, 2)
    linear["layers"] = [_linear(1000, 1000)]
    sequential = _sequential()
    sequential["layers"] = {"inner": _linear(1000, 1000)}
    check_size(linear, CLASSES, 0)
    check_size(sequential, CLASSES, 0)


def test_a_float32_model_near_its_file_size_loads(tmp_path: Path) -> None:
    """A file holds at least a value per 4 bytes of its parameter entries: 400,000 float32 values
    in 1.6 MB, well beyond the slack, load."""
    model = nl.Sequential(nl.Linear(1000, 400, bias=False, rng=0, dtype=np.float32))
    nl.save(model, tmp_path / "m.npz")
    loaded = nl.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.state_dict()["0.weight"], model.state_dict()["0.weight"])


def test_the_size_message_gives_whole_numbers(tmp_path: Path) -> None:
    document = np.array(
        json.dumps({"format": "nnlite", "version": 1, "model": _linear(1000, 1000)})
    )
    path = _npz(tmp_path, **{ARCHITECTURE_KEY: document, "param:weight": np.zeros(3)})
    assert _reason(path).endswith("nothing was built")
    assert " the file holds at most " in _reason(path)
    held = _reason(path).split(" the file holds at most ")[1].removesuffix(": nothing was built")
    assert held.replace(",", "").isdigit(), held


# --- what save refuses before writing ----------------------------------------------------------


def test_save_names_what_is_not_a_layer(tmp_path: Path) -> None:
    with pytest.raises(TypeError) as caught:
        nl.save(3, tmp_path / "m.npz")  # type: ignore[arg-type]
    assert str(caught.value) == "nl.save expects a Layer, got an int"


class IntegerState(nl.Layer):
    """A layer of one's own whose state_dict holds an integer array."""

    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0

    def state_dict(self) -> dict[str, Any]:
        return {"count": np.array([3])}


def test_save_refuses_a_state_that_is_not_float(tmp_path: Path) -> None:
    with pytest.raises(SaveError) as caught:
        nl.save(IntegerState(), tmp_path / "m.npz")
    assert str(caught.value) == (
        "nl.save: parameter or buffer 'count' is int64, not float32 or float64; nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


class Scaled(nl.Layer):
    """A layer of one's own whose constructor argument is a float."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale}

    def forward(self, x: Any) -> Any:
        return x * self.scale

    def backward(self, grad_y: Any) -> Any:
        return grad_y * self.scale


def test_save_refuses_a_configuration_json_cannot_hold(tmp_path: Path) -> None:
    """NaN is no JSON: refused, naming the layer and why, before anything is written (so the
    document save writes never holds one)."""
    with pytest.raises(SaveError) as caught:
        nl.save(Scaled(float("nan")), tmp_path / "m.npz")
    assert str(caught.value) == (
        "nl.save cannot save the model, Scaled(scale=nan): get_config() returned "
        "{'scale': nan}, which is not JSON (Out of range float values are not JSON compliant); "
        "nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


def test_save_names_both_layers_of_a_tied_parameter(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(2, 2, rng=0), nl.Linear(2, 2, rng=1))
    model[1].weight = model[0].weight  # type: ignore[attr-defined]
    with pytest.raises(SaveError) as caught:
        nl.save(model, tmp_path / "m.npz")
    assert str(caught.value) == (
        "nl.save: parameter '0.weight' is also '1.weight': one parameter held by two layers, "
        "Sequential layer 0 and Sequential layer 1. A file rebuilds each layer from its own "
        "constructor and holds each parameter once, so the tie cannot be restored on loading: "
        "give each layer its own copy, or make the tie inside one layer of your own, whose "
        "constructor makes it; nothing was written"
    )
