"""Fault injection: saves killed mid-write, damaged files, and files crafted to cost a lot.

Kept small for CI, a few seconds in all. ``FAULT_INJECTION_SCALE=20 python -m pytest
tests/test_fault_injection.py`` multiplies the kills, the racing saves and the damaged files for a
long run.
"""

from __future__ import annotations

import ast
import importlib
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.checkpoint import Checkpoint
from tests.test_serialization import assert_same_model, reference_model

SCALE = int(os.environ.get("FAULT_INJECTION_SCALE", "1"))

needs_posix = pytest.mark.skipif(sys.platform == "win32", reason="signals and resource limits")


def temporaries(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------
# Saves killed mid-write, and saves racing each other
# ---------------------------------------------------------------------------------------------

SAVING_FOREVER = """
import sys
import nnlite as nl
from nnlite.checkpoint import Checkpoint

model = nl.Linear(1000, 2000, rng=0)  # 16 MB of weights: a save takes a while
while True:
    nl.save(model, sys.argv[1])
"""


def kill_saves_mid_write(path: Path, program: str, seed: int) -> None:
    """Run ``program`` (Python source saving to ``path`` over and over) in a child 4 * SCALE
    times, and kill it (SIGKILL or SIGTERM, which run no cleanup) while one of its temporaries
    is there; check that some save was cut short in the middle of its write, and that the
    killed saves left temporaries behind."""
    folder = path.parent
    rng = np.random.default_rng(seed)
    cut_short = 0
    for kill in range(4 * SCALE):
        before = set(temporaries(folder))  # what the killed saves before this one left
        child = subprocess.Popen([sys.executable, "-c", program, str(path)])
        try:
            deadline = time.monotonic() + 60
            while not set(temporaries(folder)) - before and time.monotonic() < deadline:
                time.sleep(0.001)
            assert set(temporaries(folder)) - before, "the child never started a save"
            time.sleep(rng.uniform(0, 0.01))
            child.send_signal(signal.SIGKILL if kill % 2 == 0 else signal.SIGTERM)
            assert child.wait(60) in (-signal.SIGKILL, -signal.SIGTERM)
        finally:
            child.kill()
            child.wait()
        left = [(folder / name).stat().st_size for name in temporaries(folder)]
        cut_short += any(size < 16_000_000 for size in left)  # the weights alone are 16 MB
    assert cut_short > 0  # some save was killed in the middle of its write
    assert temporaries(folder)  # the last killed save's, at least


@needs_posix
def test_saves_killed_mid_write_leave_nothing_after_the_next_save(tmp_path: Path) -> None:
    """Each child saves a large model over and over and is killed (SIGKILL or SIGTERM, which
    run no cleanup) while one of its temporaries is there; then one good save leaves only the
    target, and it loads."""
    path = tmp_path / "model.npz"
    kill_saves_mid_write(path, SAVING_FOREVER, seed=0)
    model = reference_model()
    nl.save(model, path)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert_same_model(nl.load(path), model)


CHECKPOINTING_FOREVER = """
import sys
import nnlite as nl
from nnlite.checkpoint import Checkpoint
from nnlite.optim import SGD

model = nl.Linear(1000, 2000, rng=0)  # 16 MB of weights: a save takes a while
optimizer = SGD(model.parameters(), lr=0.1)
while True:
    nl.save_checkpoint(sys.argv[1], model, optimizer, epoch=1)
"""


@needs_posix
def test_checkpoint_saves_killed_mid_write_leave_nothing_after_the_next_save(
    tmp_path: Path,
) -> None:
    """The same for save_checkpoint, which writes through nl.save's writer."""
    path = tmp_path / "checkpoint.npz"
    kill_saves_mid_write(path, CHECKPOINTING_FOREVER, seed=2)
    model, optimizer, _, _ = checkpoint_targets(0)
    nl.save_checkpoint(path, model, optimizer, epoch=2)
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    other, other_optimizer, _, _ = checkpoint_targets(1)
    assert nl.load_checkpoint(path, other, other_optimizer).epoch == 2
    assert_same_model(other, model)


RACING = """
import sys
import nnlite as nl
from nnlite.checkpoint import Checkpoint

path, seed, saves = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model = nl.Linear(50, 50, rng=seed)
for _ in range(saves):
    nl.save(model, path)
"""


def test_racing_saves_of_one_path_all_succeed(tmp_path: Path) -> None:
    """Saves of the same path from several processes at once: none fails (none lost its
    temporary to another one's clean-up), and what is left is one whole model and nothing else."""
    path = tmp_path / "model.npz"
    seeds = range(4)
    children = [
        subprocess.Popen([sys.executable, "-c", RACING, str(path), str(seed), str(50 * SCALE)])
        for seed in seeds
    ]
    assert [child.wait(120) for child in children] == [0] * len(children)
    assert os.listdir(tmp_path) == ["model.npz"]
    loaded = nl.load(path)
    assert any(
        np.array_equal(loaded.weight.data, nl.Linear(50, 50, rng=seed).weight.data)  # type: ignore[attr-defined]
        for seed in seeds
    )


# ---------------------------------------------------------------------------------------------
# Damaged files: each one LoadError naming the path, or (a flip in a byte nothing reads) the
# same values, bit for bit. Never changed values: every entry's bytes are under a CRC-32.
# ---------------------------------------------------------------------------------------------


def load_or_error(path: Path, load: Callable[[Path], Any] = nl.load) -> Any:
    """What ``load(path)`` returns, or the LoadError it raises."""
    try:
        return load(path)
    except nl.LoadError as error:
        return error


def damaged_bytes(original: bytes, kind: str, where: int) -> bytes:
    """``original`` with bit ``where`` flipped (kind "flip") or cut to ``where`` bytes ("cut")."""
    data = bytearray(original)
    if kind == "flip":
        data[where // 8] ^= 1 << (where % 8)
    else:
        del data[where:]
    return bytes(data)


def test_bit_flips_and_truncations_never_load_changed_values(tmp_path: Path) -> None:
    model = reference_model()
    nl.save(model, tmp_path / "model.npz")
    original = (tmp_path / "model.npz").read_bytes()
    path = tmp_path / "damaged.npz"
    rng = np.random.default_rng(0)
    refused = same = 0
    damaged = [
        *(("flip", int(bit)) for bit in rng.choice(8 * len(original), 300 * SCALE, replace=False)),
        *(("cut", int(n)) for n in rng.choice(len(original), 60 * SCALE, replace=False)),
    ]
    for kind, where in damaged:
        path.write_bytes(damaged_bytes(original, kind, where))
        outcome = load_or_error(path)
        if isinstance(outcome, nl.LoadError):
            assert str(path) in str(outcome)
            refused += 1
        else:
            assert kind == "flip", f"a file cut to {where} bytes loaded"
            assert_same_model(outcome, model)
            same += 1
    assert refused + same == len(damaged)
    assert refused > same  # most bytes are read, and checked


def checkpoint_targets(seed: int) -> tuple[nl.Layer, Any, Any, np.random.Generator]:
    """A model, its Adam optimizer, a step schedule and a generator: what a checkpoint loads."""
    from nnlite.optim import Adam
    from nnlite.schedules import StepLR

    model = nl.two_layer_network(2, 5, rng=seed)
    optimizer = Adam(model.parameters(), lr=0.05)
    return model, optimizer, StepLR(optimizer, 1, gamma=0.5), np.random.default_rng(seed)


def states(targets: tuple[nl.Layer, Any, Any, np.random.Generator]) -> list[Any]:
    model, optimizer, schedule, generator = targets
    state = [model.state_dict(), optimizer.state_dict(), schedule.state_dict()]
    return [*state, generator.bit_generator.state]


def assert_same_states(actual: list[Any], expected: list[Any]) -> None:
    """Every array bit for bit (dtype too), every number equal."""
    for got, want in zip(actual, expected, strict=True):
        if isinstance(want, dict) and any(isinstance(v, np.ndarray) for v in want.values()):
            assert got.keys() == want.keys()
            for name, value in want.items():
                if isinstance(value, np.ndarray):
                    assert got[name].dtype == value.dtype, name
                    assert got[name].tobytes() == value.tobytes(), name
                else:
                    assert got[name] == value, name
        else:
            assert got == want


def test_bit_flips_and_truncations_never_load_changed_checkpoint_values(tmp_path: Path) -> None:
    """load_checkpoint: each damaged file is one LoadError naming the path that changes none of
    what it was to load into, or it loads every state of the run that saved it, bit for bit."""
    saved = checkpoint_targets(0)
    x, y = nl.datasets.two_moons(24, rng=0)
    nl.fit(saved[0], nl.MSELoss(), saved[1], x, y, epochs=2, batch_size=8, rng=3,
           schedule=saved[2], validation_data=(x, y), patience=5, progress=False,
           checkpoint=tmp_path / "checkpoint.npz")  # fmt: skip
    original = (tmp_path / "checkpoint.npz").read_bytes()
    expected = nl.load_checkpoint(tmp_path / "checkpoint.npz", *checkpoint_targets(1)[:2],
                                  schedule=checkpoint_targets(1)[2])  # fmt: skip
    assert expected.best is not None
    assert expected.history is not None
    path = tmp_path / "damaged.npz"
    rng = np.random.default_rng(2)
    refused = same = 0
    damaged = [
        *(("flip", int(bit)) for bit in rng.choice(8 * len(original), 150 * SCALE, replace=False)),
        *(("cut", int(n)) for n in rng.choice(len(original), 30 * SCALE, replace=False)),
    ]
    for kind, where in damaged:
        path.write_bytes(damaged_bytes(original, kind, where))
        targets = checkpoint_targets(1)
        before = states(targets)
        model, optimizer, schedule, generator = targets
        outcome: Checkpoint | nl.LoadError
        try:
            outcome = nl.load_checkpoint(path, model, optimizer, schedule=schedule, rng=generator)
        except nl.LoadError as error:
            outcome = error
        if isinstance(outcome, nl.LoadError):
            assert str(path) in str(outcome)
            assert_same_states(states(targets), before)
            refused += 1
        else:
            assert kind == "flip", f"a file cut to {where} bytes loaded"
            assert_same_states(states(targets)[:3], states(saved)[:3])
            assert (outcome.epoch, outcome.history) == (expected.epoch, expected.history)
            assert_same_states([outcome.best], [expected.best])
            same += 1
    assert refused + same == len(damaged)
    assert refused > same


def torch_model() -> nl.Sequential:
    """reference_model in one dtype (a torch module has one): float64, a nested Sequential."""
    return nl.Sequential(
        nl.Linear(3, 4, rng=0),
        nl.Sigmoid(),
        nl.Sequential(nl.BiasAppend(), nl.Linear(5, 2, bias=False, rng=1)),
    )


def test_bit_flips_and_truncations_never_load_changed_torch_values(tmp_path: Path) -> None:
    """The same for interop.load_torch: each damaged file is one LoadError naming the path, or
    the module of the same values, bit for bit."""
    pytest.importorskip("torch")
    from nnlite import interop

    model = torch_model()
    interop.save_torch(model, tmp_path / "model.pt")
    original = (tmp_path / "model.pt").read_bytes()
    path = tmp_path / "damaged.pt"
    rng = np.random.default_rng(1)
    refused = same = 0
    # Half the flips in the tensors' bytes, which torch.load alone reads without a check.
    tensors = [t.numpy().tobytes() for t in interop.to_torch(model).state_dict().values()]
    bits = [8 * original.index(data) + bit for data in tensors for bit in range(8 * len(data))]
    damaged = [
        *(("flip", int(bit)) for bit in rng.choice(8 * len(original), 40 * SCALE, replace=False)),
        *(("flip", int(bit)) for bit in rng.choice(bits, 40 * SCALE, replace=False)),
        *(("cut", int(n)) for n in rng.choice(len(original), 15 * SCALE, replace=False)),
    ]
    for kind, where in damaged:
        path.write_bytes(damaged_bytes(original, kind, where))
        outcome = load_or_error(path, interop.load_torch)
        if isinstance(outcome, nl.LoadError):
            assert str(path) in str(outcome)
            refused += 1
        else:
            assert kind == "flip", f"a file cut to {where} bytes loaded"
            assert_same_model(interop.from_torch(outcome), model)  # type: ignore[arg-type]
            same += 1
    assert refused + same == len(damaged)
    assert refused > same


# ---------------------------------------------------------------------------------------------
# Files crafted to cost a lot: refused within a second, without a large allocation
# ---------------------------------------------------------------------------------------------


@dataclass
class Member:
    """One zip entry as it is stored: its bytes, its size unpacked, its method and CRC-32."""

    name: str
    data: bytes
    size: int
    method: int = 0  # 0: stored, 8: deflated
    crc: int | None = None  # None: the CRC of data (stored entries)


LOCAL_HEADER = struct.Struct("<4s5H3L2H")
DIRECTORY_RECORD = struct.Struct("<4s6H3L5H2L")
END_RECORD = struct.Struct("<4s4H2LH")


def craft_zip(members: list[Member], listed: list[tuple[int, str]] | None = None) -> bytes:
    """A zip of ``members``, whose central directory lists ``(member index, name)`` pairs: by
    default each member once under its own name; a bomb lists one member many times."""
    local, offsets, fields = io.BytesIO(), [], []
    for member in members:
        crc = zlib.crc32(member.data) if member.crc is None else member.crc
        # method, time, date (1980-01-01), CRC-32, size stored, size unpacked
        fields.append((member.method, 0, 33, crc, len(member.data), member.size))
        name = member.name.encode()
        offsets.append(local.tell())
        local.write(LOCAL_HEADER.pack(b"PK\x03\x04", 20, 0, *fields[-1], len(name), 0))
        local.write(name + member.data)
    records = []
    for index, listed_name in listed or [(i, m.name) for i, m in enumerate(members)]:
        name = listed_name.encode()
        header = (b"PK\x01\x02", 20, 20, 0, *fields[index], len(name), 0, 0, 0, 0, 0)
        records.append(DIRECTORY_RECORD.pack(*header, offsets[index]) + name)
    directory = b"".join(records)
    count = min(len(records), 0xFFFF)  # readers go by the directory's size, not this count
    end = END_RECORD.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), local.tell(), 0)
    return local.getvalue() + directory + end


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def deflated_zeros(header: bytes, mebibytes: int) -> Member:
    """An entry of ``header`` then zeros, ``mebibytes`` MiB in all, deflated, its CRC-32 right (a
    reader finds nothing wrong until it has inflated it all). Made in a fraction of a second: with
    a full flush after every MiB, each MiB of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(2**20)
    first = header + chunk[len(header) :]
    data = compressor.compress(first) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    data += middle * (mebibytes - 2) + compressor.compress(chunk) + compressor.flush()
    crc = zlib.crc32(first)
    for _ in range(mebibytes - 1):
        crc = zlib.crc32(chunk, crc)
    return Member("", data, mebibytes * 2**20, method=8, crc=crc)


def json_member(model: object) -> Member:
    text = json.dumps({"format": "nnlite", "version": 1, "model": model})
    data = npy(np.array(text))
    return Member("nnlite.json.npy", data, len(data))


LINEAR = {"class": "Linear", "config": {"in_features": 2, "out_features": 3, "bias": False}}


def bombs(folder: Path) -> dict[str, Path]:
    """Every file the issue's probes found costly, by what it does."""
    files: dict[str, bytes] = {}
    # A 1 MB compressed entry inflating to 1 GiB of JSON text.
    header = npy_header("<U268435424", ())  # (2**30 - 128) / 4 characters
    text = deflated_zeros(header, 1024)
    text.name = "nnlite.json.npy"
    files["a compressed entry of 1 GiB"] = craft_zip([text])
    # One compressed 64 MiB block listed under one name, 64 times and (a 265 KB file) 3,000.
    weight = npy_header("<f8", (2**23 - 16,))
    block = deflated_zeros(weight, 64)
    block.name = "param:weight.npy"
    for copies in (64, 3000):
        files[f"one 64 MiB block listed {copies} times"] = craft_zip(
            [json_member(LINEAR), block], [(0, "nnlite.json.npy")] + [(1, block.name)] * copies
        )
    # One stored 1 MiB block listed under 1,000 different names.
    stored = Member("param:weight.npy", npy(np.zeros(2**17 - 16)), 0)
    stored.size = len(stored.data)
    files["one stored block under 1,000 names"] = craft_zip(
        [json_member(LINEAR), stored],
        [(0, "nnlite.json.npy")] + [(1, f"param:w{i:04}.npy") for i in range(1000)],
    )
    # A central directory of 100,000 entries, 6 MB.
    files["a directory of 100,000 entries"] = craft_zip(
        [json_member(LINEAR), stored],
        [(0, "nnlite.json.npy")] + [(1, f"param:w{i:06}.npy") for i in range(100_000)],
    )
    # A tiny architecture asking for Linear(10000, 10000), and no weights.
    huge = {"class": "Linear", "config": {"in_features": 10_000, "out_features": 10_000}}
    files["a 1 KB architecture asking for Linear(10000, 10000)"] = craft_zip([json_member(huge)])
    # An .npy header announcing 10^12 values, followed by 8 bytes.
    liar = npy_header("<f8", (10**12,)) + bytes(8)
    files["an .npy header of 10^12 values"] = craft_zip(
        [json_member(LINEAR), Member("param:weight.npy", liar, len(liar))]
    )
    paths = {}
    for number, (label, data) in enumerate(files.items()):
        paths[label] = folder / f"bomb{number}.npz"
        paths[label].write_bytes(data)
    if hasattr(os, "mkfifo"):
        paths["a FIFO"] = folder / "fifo.npz"
        os.mkfifo(paths["a FIFO"])
    return paths


def torch_bombs(folder: Path) -> dict[str, Path]:
    """The same attacks on interop.load_torch: a PyTorch file is a zip of stored entries too."""
    torch: Any = pytest.importorskip("torch")  # Any: the lint environment has no torch to read

    from nnlite import interop

    interop.save_torch(torch_model(), folder / "good.pt")
    with zipfile.ZipFile(folder / "good.pt") as good:
        entries = [Member(i.filename, good.read(i), i.file_size) for i in good.infolist()]
    tensor = next(i for i, m in enumerate(entries) if re.search(r"/data/\d+$", m.name))
    files: dict[str, bytes] = {}
    inflating = deflated_zeros(b"", 1024)
    inflating.name = entries[tensor].name
    files["a compressed tensor of 1 GiB"] = craft_zip(
        [*entries[:tensor], inflating, *entries[tensor + 1 :]]
    )
    block = deflated_zeros(b"", 64)
    block.name = entries[tensor].name
    others = [m for i, m in enumerate(entries) if i != tensor]
    for copies in (64, 3000):
        files[f"one 64 MiB block listed {copies} times"] = craft_zip(
            [*others, block],
            [(i, m.name) for i, m in enumerate(others)] + [(len(others), block.name)] * copies,
        )
    stored = Member(entries[tensor].name, bytes(2**20), 2**20)
    files["one stored block under 1,000 names"] = craft_zip(
        [*others, stored],
        [(i, m.name) for i, m in enumerate(others)]
        + [(len(others), f"archive/data/{i + 100}") for i in range(1000)],
    )
    huge = {"class": "Linear", "config": {"in_features": 10_000, "out_features": 10_000}}
    buffer = io.BytesIO()
    document = {"format": "nnlite-torch", "version": 1, "architecture": json.dumps(huge)}
    torch.save({**document, "state_dict": {}}, buffer)
    files["a 1 KB architecture asking for Linear(10000, 10000)"] = buffer.getvalue()
    paths = {}
    for number, (label, data) in enumerate(files.items()):
        paths[label] = folder / f"bomb{number}.pt"
        paths[label].write_bytes(data)
    if hasattr(os, "mkfifo"):
        paths["a FIFO"] = folder / "fifo.pt"
        os.mkfifo(paths["a FIFO"])
    return paths


LOADING_BOMBS = """
import json, resource, sys, time
import nnlite as nl
from nnlite.checkpoint import Checkpoint
if sys.argv[2] == "load_torch":
    import torch  # before the baseline: the import alone maps gigabytes of address space
    from nnlite.interop import load_torch as load
else:
    load = nl.load

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))

limit = status("VmSize:") + 300 * 2**20  # a regression hits MemoryError, not the machine
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
results = {}
for label, path in json.loads(sys.argv[1]).items():
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak of resident memory (VmHWM) starts again from what is now
    baseline = status("VmRSS:")
    start = time.perf_counter()
    try:
        load(path)
        outcome = "loaded"
    except nl.LoadError as error:
        causes, cause = [], error
        while cause is not None:
            causes.append(type(cause).__name__)
            cause = cause.__cause__ or cause.__context__
        outcome = "MemoryError" if "MemoryError" in causes else (
            "refused" if path in str(error) else "refused without the path: " + str(error))
    except MemoryError:
        outcome = "MemoryError"
    seconds = time.perf_counter() - start
    grown = status("VmHWM:") - baseline
    results[label] = {"outcome": outcome, "seconds": seconds, "peak MiB": grown / 2**20}
print(json.dumps(results))
"""


def load_in_a_child(paths: dict[str, Path], loader: str) -> dict[str, dict[str, Any]]:
    """Each file loaded in a child process under an address-space limit of 300 MiB above its
    baseline: the outcome, the seconds and the peak of resident memory of each load (VmHWM,
    reset before each) above what was resident before."""
    assert max(path.stat().st_size for path in paths.values()) < 8 * 2**20
    files = json.dumps({k: str(v) for k, v in paths.items()})
    child = subprocess.run(
        [sys.executable, "-c", LOADING_BOMBS, files, loader],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    results: dict[str, dict[str, Any]] = json.loads(child.stdout)
    assert set(results) == set(paths)
    return results


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
def test_crafted_files_are_refused_within_a_second_and_100_mib(tmp_path: Path) -> None:
    """nl.load: each file refused, within a second and 100 MiB (see load_in_a_child)."""
    for label, result in load_in_a_child(bombs(tmp_path), "nl.load").items():
        assert result["outcome"] == "refused", (label, result)
        assert result["seconds"] < 1, (label, result)
        assert result["peak MiB"] < 100, (label, result)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")
def test_crafted_torch_files_are_refused_within_a_second_and_100_mib(tmp_path: Path) -> None:
    """interop.load_torch: the same."""
    pytest.importorskip("torch")
    for label, result in load_in_a_child(torch_bombs(tmp_path), "load_torch").items():
        assert result["outcome"] == "refused", (label, result)
        assert result["seconds"] < 1, (label, result)
        assert result["peak MiB"] < 100, (label, result)


# ---------------------------------------------------------------------------------------------
# The reliability page: the tests it names exist, the limits it states are the code's
# ---------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reliability.md"


def test_every_test_the_reliability_page_names_exists() -> None:
    named = re.findall(r"`(tests/test_\w+\.py)::(\w+)`", PAGE.read_text())
    assert len(named) > 30
    defined = {
        file: {
            node.name
            for node in ast.walk(ast.parse((ROOT / file).read_text()))
            if isinstance(node, ast.FunctionDef)
        }
        for file in {file for file, _ in named}
    }
    for file, name in named:
        assert name in defined[file], f"docs/reliability.md names {file}::{name}: no such test"


def stated(value: int, name: str) -> str:
    """A limit as the page writes it: "16 MiB", "10,000 bytes", "10,000"."""
    if name.endswith("_BYTES"):
        return f"{value // 2**20} MiB" if value % 2**20 == 0 else f"{value:,} bytes"
    return f"{value:,}"


def test_the_reliability_page_states_the_limits_of_the_code() -> None:
    rows = re.findall(r"^\| [^|]+ \| ([^|]+) \| `(nnlite\.[\w.]+)` \|$", PAGE.read_text(), re.M)
    assert len(rows) == 6
    for limit, dotted in rows:
        module, name = dotted.rsplit(".", 1)
        value = getattr(importlib.import_module(module), name)
        assert limit.startswith(stated(value, name)), f"{dotted} is {value}, the page says {limit}"
