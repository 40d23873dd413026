"""Files for PyTorch: load_torch reads as strictly as nl.load, and never loads changed values.

Bit flips and truncations over a whole file, and the files crafted to cost a lot, are in
tests/test_fault_injection.py; here each way a file can be wrong, one at a time.
"""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import interop
from nnlite._architecture import layer_spec

torch: Any = pytest.importorskip("torch")


def small_model() -> nl.Sequential:
    return nl.Sequential(nl.Linear(3, 4, rng=0), nl.Tanh(), nl.Linear(4, 2, rng=1), nl.Sigmoid())


def document(model: nl.Layer) -> dict[str, Any]:
    """What save_torch writes for ``model``, as a dict to change before writing it."""
    return {
        "format": "nnlite-torch",
        "version": 1,
        "architecture": json.dumps(layer_spec(model)),
        "state_dict": dict(interop.to_torch(model).state_dict()),
    }


def refused(path: Path, pattern: str) -> nl.LoadError:
    with pytest.raises(nl.LoadError) as info:
        interop.load_torch(path)
    message = str(info.value)
    assert message.startswith(f"load_torch could not load {path}: "), message
    assert re.search(pattern, message), message
    return info.value


def test_a_saved_file_loads_the_same_values(tmp_path: Path) -> None:
    model = small_model()
    interop.save_torch(model, tmp_path / "model.pt")
    module = interop.load_torch(tmp_path / "model.pt")
    for name, tensor in module.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), interop.to_torch(model).state_dict()[name])
    assert torch.load(tmp_path / "model.pt", weights_only=True)["format"] == "nnlite-torch"


@pytest.mark.parametrize("dtype", ["int64", "bool", "float32"])
def test_a_tensor_of_another_dtype_is_refused_not_cast(tmp_path: Path, dtype: str) -> None:
    content = document(small_model())
    weight = content["state_dict"]["0.weight"]
    content["state_dict"]["0.weight"] = weight.to(getattr(torch, dtype))
    torch.save(content, tmp_path / "model.pt")
    refused(
        tmp_path / "model.pt",
        rf"'0\.weight' is torch\.{dtype} \(torch\.strided\), the model's is torch\.float64: "
        "nothing is cast",
    )


@pytest.mark.parametrize("version", [True, 1.0, "1", 2, None])
def test_the_version_must_be_the_int_1(tmp_path: Path, version: object) -> None:
    content = document(small_model())
    content["version"] = version
    torch.save(content, tmp_path / "model.pt")
    refused(tmp_path / "model.pt", rf"unsupported version {re.escape(repr(version))}")


@pytest.mark.parametrize(
    ("architecture", "shown"),
    [(b'{"class": "Sigmoid", "config": {}}', "a bytes of length 34"), (None, "None")],
)
def test_the_architecture_must_be_a_str(tmp_path: Path, architecture: object, shown: str) -> None:
    content = document(small_model())
    content["architecture"] = architecture
    torch.save(content, tmp_path / "model.pt")
    refused(tmp_path / "model.pt", f"must be JSON text \\(a str\\).*found {shown}")


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda state: state.pop("2.bias"), r"missing key '2\.bias'"),
        (lambda state: state.update(extra=torch.zeros(1, dtype=torch.float64)), "unexpected key"),
        (
            lambda state: state.update({"2.bias": torch.zeros(3, dtype=torch.float64)}),
            r"'2\.bias' has shape \(3,\), the model's \(2,\)",
        ),
        (lambda state: state.update({"0.bias": [0.0] * 4}), "must be a dict of tensors"),
    ],
    ids=["missing", "unexpected", "shape", "not a tensor"],
)
def test_a_state_dict_that_does_not_fit_is_refused(
    tmp_path: Path, change: Any, pattern: str
) -> None:
    content = document(small_model())
    change(content["state_dict"])
    torch.save(content, tmp_path / "model.pt")
    refused(tmp_path / "model.pt", pattern)


def rezip(source: Path, target: Path, *, method: int = zipfile.ZIP_STORED, twice: str = "") -> None:
    """``source``'s entries in a new zip: compressed with ``method``, or the entry ``twice``
    written a second time with other bytes."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", method) as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info.filename, data)
            if info.filename == twice:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
                    new.writestr(info.filename, bytes(len(data)))


def tensor_entry(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return next(name for name in archive.namelist() if re.search(r"/data/\d+$", name))


def test_a_repeated_entry_is_refused(tmp_path: Path) -> None:
    interop.save_torch(small_model(), tmp_path / "model.pt")
    entry = tensor_entry(tmp_path / "model.pt")
    rezip(tmp_path / "model.pt", tmp_path / "twice.pt", twice=entry)
    refused(tmp_path / "twice.pt", f"entry '{entry}' appears twice")


def test_a_compressed_entry_is_refused_without_inflating_it(tmp_path: Path) -> None:
    interop.save_torch(small_model(), tmp_path / "model.pt")
    rezip(tmp_path / "model.pt", tmp_path / "deflated.pt", method=zipfile.ZIP_DEFLATED)
    refused(tmp_path / "deflated.pt", r"is compressed \(method 8\)")


def test_a_flipped_bit_in_a_tensor_is_found(tmp_path: Path) -> None:
    """The tensor bytes are under their entry's CRC-32, read before torch.load runs."""
    model = small_model()
    interop.save_torch(model, tmp_path / "model.pt")
    data = bytearray((tmp_path / "model.pt").read_bytes())
    weight = interop.to_torch(model).state_dict()["0.weight"].numpy().tobytes()
    at = data.index(weight)  # the weight's first bytes, in its stored entry
    data[at + 3] ^= 0x10
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    refused(tmp_path / "flipped.pt", r"damaged \(BadZipFile: Bad CRC-32")


def test_an_architecture_larger_than_its_file_is_refused_before_it_is_built(
    tmp_path: Path,
) -> None:
    huge = nl.Linear(3, 2)
    content = document(huge)
    content["architecture"] = json.dumps(
        {"class": "Linear", "config": {"in_features": 10_000, "out_features": 10_000}}
    )
    torch.save(content, tmp_path / "model.pt")
    refused(tmp_path / "model.pt", r"asks for 100,010,000 parameter values.*nothing was built")


def test_other_files_are_refused(tmp_path: Path) -> None:
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    refused(tmp_path / "other.pt", "not a file written by save_torch")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    refused(tmp_path / "junk.pt", "it starts with b'junk', not a zip signature")
    refused(tmp_path / "missing.pt", "cannot open the file")
    refused(tmp_path, "a directory, not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    os.mkfifo(path)
    outcome: list[BaseException] = []

    def try_to_load() -> None:
        try:
            interop.load_torch(path)
        except BaseException as error:  # reported by the assertions below
            outcome.append(error)

    thread = threading.Thread(target=try_to_load, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # blocked in open(): a writer lets it go on before the test fails
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("load_torch blocked on a FIFO")
    [error] = outcome
    assert isinstance(error, nl.LoadError)
    assert "a FIFO, not a regular file" in str(error)
