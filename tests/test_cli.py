"""The nnlite command: train, check, predict, and one-line errors."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from nnlite import datasets
from nnlite.cli import main
from nnlite.training import accuracy

ROOT = Path(__file__).resolve().parent.parent


def _percent(text: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)%", text)
    assert match, f"no {label!r} in:\n{text}"
    return float(match[1])


def test_train_on_digits_reaches_97_percent_with_the_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("sklearn")
    assert main(["train", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "data: digits, 1348 training and 449 test rows (stratified 75%/25% split)" in out
    assert "(0) Linear(in_features=64" in out  # the model is printed
    assert _percent(out, "test accuracy") >= 97.0
    assert _percent(out, "train accuracy") >= 97.0
    assert re.search(r"final loss\s+[\d.]+ \(train\)", out)
    assert re.search(r"wall time\s+[\d.]+ s", out)


def test_train_save_then_check_and_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "xor.npz"
    assert main(["train", "--dataset", "xor", "--no-progress", "--save", str(path)]) == 0
    trained = capsys.readouterr().out
    assert _percent(trained, "test accuracy") == 100.0
    assert f"saved the model to {path}" in trained

    assert main(["check", str(path)]) == 0
    checked = capsys.readouterr().out
    assert "gradient check of Sequential(5 layers): passed" in checked
    assert "0.weight" in checked
    assert "3.weight" in checked

    assert main(["predict", str(path), "--dataset", "xor"]) == 0
    assert _percent(capsys.readouterr().out, "test accuracy") == 100.0


@pytest.mark.parametrize("dataset", ["moons", "circles", "spirals"])
def test_train_on_the_synthetic_sets(dataset: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", dataset, "--no-progress"]) == 0
    assert _percent(capsys.readouterr().out, "test accuracy") >= 90.0


def test_options_override_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--dataset", "moons", "--hidden", "3", "--epochs", "2", "--lr", "0.1"]
    assert (
        main([*args, "--batch-size", "50", "--optimizer", "sgd", "--seed", "4", "--no-progress"])
        == 0
    )
    out = capsys.readouterr().out
    assert "(0) BiasAppend()" in out  # moons appends a ones column to the input by default
    assert "(1) Linear(in_features=3, out_features=3, bias=False)" in out
    assert "training: sgd, lr 0.1, 2 epochs, batch size 50, seed 4" in out
    assert main([*args, "--no-input-bias", "--no-progress"]) == 0
    assert "(0) Linear(in_features=2, out_features=3, bias=False)" in capsys.readouterr().out


def test_circles_need_the_input_bias(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a hidden bias the network is 1/2 + an odd function of x: no better than chance on
    data symmetric about the origin. With the input bias column it separates the circles."""
    assert main(["train", "--dataset", "circles", "--no-input-bias", "--no-progress"]) == 0
    assert _percent(capsys.readouterr().out, "test accuracy") <= 65.0
    assert main(["train", "--dataset", "circles", "--no-progress"]) == 0
    assert _percent(capsys.readouterr().out, "test accuracy") >= 95.0


def test_check_finds_the_input_width_after_an_input_bias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "moons.npz"
    assert (
        main(["train", "--dataset", "moons", "--epochs", "2", "--no-progress", "--save", str(path)])
        == 0
    )
    capsys.readouterr()
    assert main(["check", str(path)]) == 0
    assert "input     (4, 2)" in capsys.readouterr().out


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "plots" / "xor.png"
    assert (
        main(["train", "--dataset", "xor", "--epochs", "20", "--no-progress", "--plot", str(path)])
        == 0
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status = main(
        [
            "train",
            "--dataset",
            "xor",
            "--epochs",
            "1",
            "--no-progress",
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert err == 'nnlite: error: --plot needs matplotlib: pip install "nnlite[plot]"\n'


def test_digits_without_scikit_learn_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in sys.modules if name == "sklearn" or name.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    assert main(["train", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("nnlite: error: ")
    assert 'pip install "nnlite[datasets]"' in err


def test_a_corrupt_model_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a model")
    for command in (["check", str(path)], ["predict", str(path), "--dataset", "xor"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1
        assert err.startswith("nnlite: error: ")
        assert str(path) in err


def test_check_reports_a_broken_saved_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model whose layer has no input width: the command says to pass --features."""
    path = tmp_path / "sigmoid.npz"
    nl.save(nl.Sequential(nl.Sigmoid()), path)
    assert main(["check", str(path)]) == 1
    assert "pass --features N" in capsys.readouterr().err
    assert main(["check", str(path), "--features", "3"]) == 0
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments",
    [
        ["train", "--epochs", "-3"],
        ["train", "--lr", "fast"],
        ["train", "--dataset", "mnist"],
        ["train", "--test-size", "1.5"],
        ["check"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nnlite", *arguments],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nnlite")
    assert "error:" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--hidden", "0"], "argument --hidden: must be an int in [1, 100000], got '0'"),
        (["--epochs", "2.5"], "argument --epochs: must be an int >= 1, got '2.5'"),
        (["--lr", "inf"], "argument --lr: must be a finite number > 0, got 'inf'"),
        (["--test-size", "1"], "argument --test-size: must be a finite number in (0, 1), got '1'"),
        (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
    ],
)
def test_a_bad_value_says_the_rule_it_breaks(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The numbers are read by argparse with nnlite's argument rules: one message style."""
    with pytest.raises(SystemExit) as info:
        main(["train", *arguments])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith(f"nnlite train: error: {message}")


def test_python_dash_m_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nnlite", "train", "--dataset", "xor", "--epochs", "5", "--no-progress"],  # noqa: E501
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    assert np.isfinite(_percent(result.stdout, "test accuracy"))


def test_predict_on_xor_reports_its_four_rows_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "xor.npz"
    nl.save(nl.two_layer_network(2, 4, rng=0), path)
    assert main(["predict", str(path), "--dataset", "xor"]) == 0
    out = capsys.readouterr().out
    assert "(4 rows, too small to split" in out
    assert "8 rows" not in out
    assert "all rows" not in out  # the test rows are all of them


def test_plot_without_a_suffix_writes_a_png_and_says_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "curve"
    assert (
        main(["train", "--dataset", "xor", "--epochs", "2", "--no-progress", "--plot", str(path)])
        == 0
    )
    assert f"saved the plot to {path}.png\n" in capsys.readouterr().out
    assert not path.exists()
    assert Path(f"{path}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


SCALE_MODULE = '''
import numpy as np
import nnlite as nl


class Scale(nl.Layer):
    """y = s x, one learned scalar."""

    def __init__(self, value=1.0):
        super().__init__()
        self.s = nl.Parameter(np.array([value]))

    def forward(self, x):
        self.x = x
        return x * self.s.data

    def backward(self, grad_y):
        self.s.grad += np.array([np.sum(grad_y * self.x)])
        return grad_y * self.s.data

    def get_config(self):
        return {"value": float(self.s.data[0])}
'''


def test_custom_layers_load_a_model_of_your_own_layers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module is imported from the current folder by the name given, and nothing else is."""
    (tmp_path / "my_layers.py").write_text(SCALE_MODULE)
    spec = importlib.util.spec_from_file_location("my_layers", tmp_path / "my_layers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "scaled.npz"
    nl.save(nl.Sequential(nl.Linear(2, 3, rng=0), module.Scale(2.0), nl.Sigmoid()), path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_layers", raising=False)
    assert main(["check", str(path)]) == 1
    assert "unknown layer class 'Scale'" in capsys.readouterr().err
    assert "my_layers" not in sys.modules
    assert main(["check", str(path), "--custom-layers", "my_layers:Scale"]) == 0
    out = capsys.readouterr().out
    assert "(1) Scale()" in out
    assert "gradient check of Sequential(3 layers): passed" in out
    assert "1.s" in out
    assert os.getcwd() not in sys.path  # the current folder was searched for the import only
    monkeypatch.delitem(sys.modules, "my_layers")


def test_check_bounds_its_work_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.npz"
    nl.save(nl.two_layer_network(64, 100, 10, rng=0), path)  # 7,410 parameters + 256 inputs
    assert main(["check", str(path), "--max-elements", "200", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "checking a random share of each tensor, about 200 of 7,666 elements" in out
    assert "(6 of 256 elements checked)" in out  # the input's share: 200 * 256 // 7666
    assert "(166 of 6,400 elements checked)" in out  # 200 * 6400 // 7666
    assert main(["check", str(path), "--max-elements", "200", "--time-limit", "1e-9"]) == 0
    out = capsys.readouterr().out
    assert "checking a random share of each tensor, about 1 of 7,666 elements" in out
    assert "(1 of 1,010 elements checked)" in out  # at least one element of every tensor


def test_check_shows_progress_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    path = tmp_path / "model.npz"
    nl.save(nl.two_layer_network(2, 3, rng=0), path)
    assert main(["check", str(path), "--progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    total = 4 * 2 + 2 * 3 + 4 * 1  # the input's 4 rows of 2, then both weights
    assert err[0] == f"element 1/{total}"
    assert err[-1] == f"element {total}/{total}"
    assert main(["check", str(path)]) == 0  # not a terminal: silent
    assert capsys.readouterr().err == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"nnlite {nl.__version__}\n"


def test_help_shows_defaults_and_no_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top
    assert ":func:" not in top
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    train_help = " ".join(capsys.readouterr().out.split())
    assert (
        "hidden units (default: digits 100, xor 4, moons 16, circles 16, spirals 64)" in train_help
    )
    assert (
        "--seed S seed of the data set, the split, the weights and the shuffling (default: 0)"
        in train_help
    )
    assert "learning rate (default: digits 0.005, xor 2," in train_help
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    predict_help = " ".join(capsys.readouterr().out.split())
    assert "the weights" not in predict_help
    assert "seed of the data set and the split: the one the model was trained with" in predict_help


SHIFT_CLASS = '''

class Shift(nl.Layer):
    """y = x + 1, no parameters."""

    def forward(self, x):
        return x + 1.0

    def backward(self, grad_y):
        return grad_y
'''


def test_custom_layers_repeat_one_class_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "two_layers.py").write_text(SCALE_MODULE + SHIFT_CLASS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "two_layers", raising=False)
    spec = importlib.util.spec_from_file_location("two_layers", tmp_path / "two_layers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = nl.Sequential(nl.Linear(2, 1, rng=0), module.Scale(2.0), module.Shift(), nl.Sigmoid())
    nl.save(model, tmp_path / "both.npz")
    command = ["predict", "both.npz", "--dataset", "xor"]
    assert main([*command, "--custom-layers", "two_layers:Scale"]) == 1
    assert "unknown layer class 'Shift'" in capsys.readouterr().err
    layers = ["--custom-layers", "two_layers:Scale", "--custom-layers", "two_layers:Shift"]
    assert main([*command, *layers]) == 0
    X, Y = datasets.xor()
    expected = accuracy(model(X), Y)
    assert f"test accuracy  {expected:.2%} (4 rows" in capsys.readouterr().out
    monkeypatch.delitem(sys.modules, "two_layers")
