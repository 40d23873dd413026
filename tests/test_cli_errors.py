"""The command's promise: a user's mistake is one line on stderr and a non-zero exit, never a
traceback. Each case runs the command in a process of its own, all of them at once."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl

ROOT = Path(__file__).resolve().parent.parent


HAVE_TORCH = importlib.util.find_spec("torch") is not None


@dataclass
class Case:
    """A command line, what it must exit with, and a piece of its one line of stderr."""

    arguments: list[str]
    status: int
    says: str
    env: dict[str, str] = field(default_factory=dict)
    address_space: int | None = None  # bytes: a limit, so that no allocation can really succeed


def make_files(folder: Path) -> None:
    """The files the cases read."""
    nl.save(nl.two_layer_network(2, 3, rng=0), folder / "model.npz")
    infinite = nl.two_layer_network(2, 3, rng=0)
    infinite[3].weight.data[1, 0] = np.inf  # type: ignore[attr-defined]
    nl.save(infinite, folder / "inf.npz")
    mixed = nl.Sequential(nl.Linear(2, 3, rng=0), nl.Linear(3, 1, rng=1, dtype=np.float32))
    nl.save(mixed, folder / "mixed.npz")
    nl.save(nl.Sequential(nl.Sigmoid()), folder / "sigmoid.npz")
    layers = [{"class": "Identity", "config": {}}] * 20_000
    document = {
        "format": "nnlite",
        "version": 1,
        "model": {"class": "Sequential", "layers": layers},
    }
    np.savez(folder / "layers.npz", **{"nnlite.json": np.array(json.dumps(document))})  # type: ignore[arg-type]
    (folder / "a-folder").mkdir()
    (folder / "plot.png").mkdir()
    (folder / "a-file").write_text("")


def cases(folder: Path) -> dict[str, Case]:
    """Every case, reading the files of ``make_files(folder)``."""
    model = folder / "model.npz"
    xor = ["train", "--dataset", "xor", "--epochs", "1", "--no-progress"]
    return {
        "train --seed -1": Case(["train", "--seed", "-1"], 2, "must be an int >= 0, got '-1'"),
        "check --seed -1": Case(["check", str(model), "--seed", "-1"], 2, "an int >= 0"),
        "predict --seed -1": Case(["predict", str(model), "--seed", "-1"], 2, "an int >= 0"),
        "--test-size 0.0001": Case(
            ["train", "--dataset", "moons", "--test-size", "0.0001"], 1, "gives 0 test rows"
        ),
        "--test-size 0.9999": Case(
            ["train", "--dataset", "moons", "--test-size", "0.9999"], 1, "gives 200 test rows"
        ),
        "--test-size 1e-300": Case(
            ["train", "--dataset", "moons", "--test-size", "1e-300"], 1, "--test-size 1e-300"
        ),
        "--hidden 50000000": Case(["train", "--hidden", "50000000"], 2, "[1, 100000]"),
        "check --batch-size 1000000000": Case(
            ["check", str(model), "--batch-size", "1000000000"], 2, "[1, 100000]"
        ),
        "out of memory": Case(
            [
                "check",
                str(folder / "sigmoid.npz"),
                "--features",
                "1000000",
                "--batch-size",
                "100000",
            ],
            1,
            "out of memory (Unable to allocate 745. GiB",
            address_space=2 * 2**30,
        ),
        "--plot x.unknownext": Case([*xor, "--plot", "x.unknownext"], 1, "writes no .unknownext"),
        "--plot a folder": Case([*xor, "--plot", str(folder / "plot.png")], 1, "that is a folder"),
        "--plot under a file": Case(
            [*xor, "--plot", str(folder / "a-file" / "x.png")], 1, "a-file is a file"
        ),
        "--save ''": Case([*xor, "--save", ""], 2, "must be a file name, got ''"),
        "--save a folder": Case([*xor, "--save", str(folder / "a-folder")], 1, "that is a folder"),
        "--save a missing folder": Case(
            [*xor, "--save", str(folder / "missing" / "m.npz")], 1, "missing does not exist"
        ),
        "export mixing float32 and float64": Case(
            ["export", str(folder / "mixed.npz"), "--to", "torch", str(folder / "m.pt")],
            1,
            # without torch the command says what to install first, in one line as well
            "mix float32 and float64" if HAVE_TORCH else 'needs torch: pip install "nnlite[torch]"',
        ),
        "export to a missing folder": Case(
            ["export", str(model), "--to", "onnx", str(folder / "missing" / "m.onnx")],
            1,
            "missing does not exist",
        ),
        "export to a folder": Case(
            ["export", str(model), "--to", "onnx", str(folder / "a-folder")], 1, "that is a folder"
        ),
        "export to ''": Case(
            ["export", str(model), "--to", "onnx", ""], 2, "must be a file name, got ''"
        ),
        "a non-ASCII path on an ASCII console": Case(
            ["check", str(folder / "mod\u00e8le.npz")],
            1,
            "mod\\xe8le.npz",
            env={"PYTHONIOENCODING": "ascii"},
        ),
        "check an inf weight": Case(
            ["check", str(folder / "inf.npz")], 1, "parameter '3.weight' holds inf at index (1, 0)"
        ),
        "predict an inf weight": Case(
            ["predict", str(folder / "inf.npz"), "--dataset", "xor"], 1, "holds inf"
        ),
        "predict a model of 20,000 layers": Case(
            ["predict", str(folder / "layers.npz")], 1, "more than 10,000 layers"
        ),
        "--custom-layers of no module": Case(
            ["check", str(model), "--custom-layers", "no_such_module:Scale"],
            1,
            "importing no_such_module raised ModuleNotFoundError",
        ),
        "--custom-layers of no class": Case(
            ["check", str(model), "--custom-layers", "json:Scale"], 1, "json has no Scale"
        ),
        "--custom-layers of no layer": Case(
            ["check", str(model), "--custom-layers", "json:dumps"],
            1,
            "json.dumps is a function, not a Layer class",
        ),
        "--custom-layers of no spec": Case(
            ["check", str(model), "--custom-layers", "my_layers.Scale"],
            2,
            "must be MODULE:CLASS, such as my_layers:Scale, got 'my_layers.Scale'",
        ),
    }


def _command(case: Case) -> list[str]:
    """The child's command line: ``python -m nnlite ...``, first limiting its address space when
    the case asks. The limit is set by the child itself, not by a ``preexec_fn``: that would make
    the parent fork, which JAX, when a test imported it, turns into a warning."""
    if case.address_space is None:
        return [sys.executable, "-m", "nnlite", *case.arguments]
    start = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({case.address_space}, {case.address_space})); "
        "sys.argv[0] = 'nnlite'; runpy.run_module('nnlite', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", start, *case.arguments]


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Case, subprocess.CompletedProcess[str]]]:
    """Every case run at once, each in its own process: (case, what it did)."""
    folder = tmp_path_factory.mktemp("cli")
    make_files(folder)
    started = {
        name: (
            case,
            subprocess.Popen(
                _command(case),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                cwd=folder,
                env={**os.environ, **case.env},
            ),
        )
        for name, case in cases(folder).items()
    }
    finished = {}
    for name, (case, child) in started.items():
        out, err = child.communicate(timeout=120)
        finished[name] = (case, subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return finished


CASES = list(cases(Path()))


@pytest.mark.parametrize("name", CASES)
def test_a_mistake_is_one_line_and_no_traceback(
    name: str, outcomes: dict[str, tuple[Case, subprocess.CompletedProcess[str]]]
) -> None:
    case, result = outcomes[name]
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nnlite"), lines[0]
    assert "error: " in lines[0]
    assert case.says in lines[0], lines[0]
    assert result.returncode == case.status, (result.returncode, result.stderr)
    if result.returncode == 1 and case.arguments[0] == "train":  # refused before training
        assert "training:" not in result.stdout


def test_every_case_is_run(
    outcomes: dict[str, tuple[Case, subprocess.CompletedProcess[str]]],
) -> None:
    assert sorted(outcomes) == sorted(CASES)


def test_a_non_ascii_save_path_on_an_ascii_console_is_saved_and_said(tmp_path: Path) -> None:
    path = tmp_path / "mod\u00e8le.npz"
    result = subprocess.run(
        [sys.executable, "-m", "nnlite", "train", "--dataset", "xor", "--epochs", "1",
         "--no-progress", "--save", str(path)],
        capture_output=True, text=True, encoding="ascii", errors="strict", cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "ascii"}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "saved the model to " in result.stdout
    assert "mod\\xe8le.npz" in result.stdout
    assert nl.load(path).num_parameters() == 2 * 4 + 5 * 1  # XOR's 2-4-1 network


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_an_interrupt_is_one_line_and_status_130() -> None:
    # A child inherits an ignored SIGINT (a shell without job control ignores it in a command run
    # with &), and Python then never raises KeyboardInterrupt: the child is started while this
    # process handles SIGINT, so that it starts with the default, as from a terminal.
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "nnlite", "train", "--dataset", "xor", "--epochs", "10000000",
             "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # "training:" is read as it is printed
        )  # fmt: skip
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    with child:  # killed if the test fails, not left training
        try:
            assert child.stdout is not None
            deadline = time.monotonic() + 60
            while "training:" not in child.stdout.readline() and time.monotonic() < deadline:
                pass
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=60)
        finally:
            child.kill()
    assert child.returncode == 130
    assert err == "nnlite: interrupted\n"
