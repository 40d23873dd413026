"""What the pages say about the code is what the code does.

The examples on the pages run (tests/docs_runner.py); this file holds the rest of what they state:
the source lines the derivation page quotes, the calls a training step makes, the defaults the
pages name, the command's options, the extras and the pages listed on the home page. When one of
these tests fails, the page or the code changed without the other.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import testing
from nnlite.cli import DEFAULTS, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DERIVATION = DOCS / "derivation.md"
LAYER_DERIVATIONS = DOCS / "layer-derivations.md"

# ---------------------------------------------------------------------------------------------
# The derivation page quotes the source
# ---------------------------------------------------------------------------------------------

# A quoted excerpt: <!-- source: nnlite.Linear.forward --> right before a ```py block.
SOURCE_BLOCK = re.compile(r"^<!-- source: ([\w.]+) -->\n```py\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A row of the table of factors: | ... | ... | `Class.method`: `code` |
TABLE_ROW = re.compile(r"^\|.*\| `(\w+\.\w+)`: `([^`]+)` \|$", re.MULTILINE)


def _resolve(dotted: str) -> Callable[..., Any]:
    """``nnlite.Linear.forward`` or ``nnlite.layers.activations.sigmoid``: the function named."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise AssertionError(f"{dotted} names nothing")


def _is_excerpt_of(shown: str, function: Callable[..., Any]) -> bool:
    """True when the lines ``shown`` are consecutive lines of the function's source, the same
    but for their common indentation (the source of a wrapped method is its own, not the
    wrapper's: inspect follows ``__wrapped__``)."""
    source = inspect.getsource(function).splitlines()
    wanted = shown.rstrip("\n").splitlines()
    return any(
        textwrap.dedent("\n".join(source[start : start + len(wanted)])).splitlines() == wanted
        for start in range(len(source) - len(wanted) + 1)
    )


def test_every_code_block_of_the_derivation_is_quoted_from_the_source() -> None:
    text = DERIVATION.read_text()
    blocks = SOURCE_BLOCK.findall(text)
    assert len(blocks) >= 12
    assert text.count("```py\n") == len(blocks), "a ```py block without a <!-- source: --> marker"
    for name, shown in blocks:
        assert _is_excerpt_of(shown, _resolve(name)), (
            f"derivation.md quotes {name} wrongly:\n{shown}"
        )


def test_every_code_block_of_the_layer_derivations_is_quoted_from_the_source() -> None:
    """Every ```py block of layer-derivations.md has its marker and is consecutive lines of the
    function it names, for every section (those added later too)."""
    text = LAYER_DERIVATIONS.read_text()
    blocks = SOURCE_BLOCK.findall(text)
    assert len(blocks) >= 10
    assert text.count("```py\n") == len(blocks), "a ```py block without a <!-- source: --> marker"
    for name, shown in blocks:
        assert _is_excerpt_of(shown, _resolve(name)), (
            f"layer-derivations.md quotes {name} wrongly:\n{shown}"
        )


def test_the_table_of_factors_names_real_code() -> None:
    rows = TABLE_ROW.findall(DERIVATION.read_text())
    assert len(rows) == 6
    for name, code in rows:
        assert code in inspect.getsource(_resolve(f"nnlite.{name}")), f"{name} has no `{code}`"


def test_the_excerpt_check_can_fail() -> None:
    assert _is_excerpt_of(
        "y = x @ self.weight.data  # eq. 2 and 4: H = X W1, O = [Z, 1] W2", nl.Linear.forward
    )
    assert not _is_excerpt_of("y = x @ self.weight.data.T", nl.Linear.forward)
    assert not _is_excerpt_of("y += self.bias.data\nreturn y", nl.Linear.forward)  # not adjacent
    assert not _is_excerpt_of("return grad_y[:, :-1]", nl.Linear.backward)  # another method's


def test_linear_backward_is_its_two_halves() -> None:
    """derivation.md: Linear.backward adds what backward_parameters adds, then returns dL/dx."""
    layer, x = nl.Linear(3, 2, rng=0), np.random.default_rng(1).normal(size=(4, 3))
    grad_y = np.random.default_rng(2).normal(size=(4, 2))
    layer(x)
    layer.backward_parameters(grad_y)
    halves = (layer.weight.grad.copy(), layer.bias.grad.copy())  # type: ignore[union-attr]
    layer.zero_grad()
    grad_x = layer.backward(grad_y)
    np.testing.assert_array_equal(layer.weight.grad, halves[0])
    np.testing.assert_array_equal(layer.bias.grad, halves[1])  # type: ignore[union-attr]
    np.testing.assert_array_equal(grad_x, grad_y @ layer.weight.data.T)


def test_the_derivations_network_is_the_one_built() -> None:
    """The picture at the top of derivation.md: its layers, built with the sizes it names."""
    picture = next(
        block for block in re.findall(r"```text\n(.*?)```", DERIVATION.read_text(), re.DOTALL)
    )
    assert "`nl.two_layer_network(n_in, n_hidden, n_out=1)`" in DERIVATION.read_text()
    assert inspect.signature(nl.two_layer_network).parameters["n_out"].default == 1
    sizes = {"n_in": 3, "n_hidden": 4, "n_out": 2}
    shown = re.findall(r"^  \(\d\) (\w+\(.*?\))\s+#", picture, re.MULTILINE)
    model = nl.two_layer_network(**sizes, rng=0)
    namespace = {**sizes, "Linear": nl.Linear, "Sigmoid": nl.Sigmoid, "BiasAppend": nl.BiasAppend}
    assert [repr(eval(layer, namespace)) for layer in shown] == [repr(layer) for layer in model]
    assert model[0].weight.shape == (3, 4)  # type: ignore[attr-defined]
    assert model[3].weight.shape == (5, 2)  # type: ignore[attr-defined]


class _Recorder(nl.Layer):
    """y = x, writing down which of its methods ran."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__()
        self.name, self.log = name, log

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.log.append(f"{self.name}.backward")
        return grad_y


def test_sequential_backward_runs_the_layers_from_the_last_to_the_first() -> None:
    """derivation.md: Sequential.backward calls the layers' backward from the last to the first."""
    log: list[str] = []
    model = nl.Sequential(*(_Recorder(name, log) for name in "abc"))
    model(np.ones((2, 1)))
    model.backward(np.ones((2, 1)))
    assert log == ["c.backward", "b.backward", "a.backward"]


# ---------------------------------------------------------------------------------------------
# The calls of a training step
# ---------------------------------------------------------------------------------------------

STEP_CLAIMS = {
    "README.md": "`nl.fit` calls it",
    "docs/derivation.md": (
        "So a training step (`nl.fit`) calls\n`model.backward_parameters(loss.backward())`"
    ),
    "docs/write-a-layer.md": "so `nl.fit` calls\n`model.backward_parameters(grad)`",
    "docs/train-a-classifier.md": (
        "for each batch, `model.zero_grad()`, the loss of `model(x)`,\n"
        "`model.backward_parameters(loss.backward())`"
    ),
}


def test_the_pages_say_what_a_training_step_calls() -> None:
    for page, claim in STEP_CLAIMS.items():
        assert claim in (ROOT / page).read_text(), page


def test_a_training_step_makes_the_calls_the_pages_name() -> None:
    """Per batch: the gradients zeroed, loss(model(x)), model.backward_parameters(loss.backward())
    (never model.backward), optimizer.step(); in that order."""
    log: list[str] = []

    class Model(nl.Sequential):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            zeroed = all(not parameter.grad.any() for parameter in self.parameters())
            log.append("model(x) after zero_grad" if zeroed else "model(x) without zero_grad")
            return super().forward(x)

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            log.append("model.backward")
            return super().backward(grad_y)

        def backward_parameters(self, grad_y: nl.FloatArray) -> None:
            log.append("model.backward_parameters")
            super().backward_parameters(grad_y)

    class Loss(nl.MSELoss):
        def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
            log.append("loss")
            return super().forward(prediction, target)

        def backward(self) -> nl.FloatArray:
            log.append("loss.backward")
            return super().backward()

    class SGD(nl.optim.SGD):
        def step(self) -> None:
            log.append("optimizer.step")
            super().step()

    model = Model(nl.Linear(2, 3, rng=0), nl.Sigmoid(), nl.Linear(3, 1, rng=1))
    X, Y = nl.datasets.xor()
    for parameter in model.parameters():
        parameter.grad += 1  # left over from before: the step must zero it
    nl.fit(model, Loss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, batch_size=2, rng=0)
    step = ["model(x) after zero_grad", "loss", "loss.backward", "model.backward_parameters"]
    assert log == [*step, "optimizer.step"] * 2


# ---------------------------------------------------------------------------------------------
# Defaults and options the pages name
# ---------------------------------------------------------------------------------------------


def test_check_layers_default_bound_is_the_one_named() -> None:
    assert "beyond `check_layer`'s default bound of 10" in (DOCS / "write-a-layer.md").read_text()
    assert inspect.signature(testing.check_layer).parameters["max_magnitude"].default == 10


def test_fits_progress_default_is_the_one_named() -> None:
    text = (DOCS / "train-a-classifier.md").read_text()
    assert "With the default `progress=None`, `fit` shows a progress bar" in text
    assert inspect.signature(nl.fit).parameters["progress"].default is None
    for field in ("loss", "val_loss", "val_accuracy", "seconds", "best_epoch"):
        assert f"`history.{field}`" in text
        assert hasattr(nl.History(), field), field


def test_torch_gradcheck_default_is_the_one_named() -> None:
    torch = pytest.importorskip("torch")
    assert "where PyTorch's `gradcheck` defaults\n  (rtol 1e-3)" in (ROOT / "README.md").read_text()
    assert inspect.signature(torch.autograd.gradcheck).parameters["rtol"].default == 1e-3


def _usage_lines(command: str) -> str:
    """The README's usage of ``nnlite COMMAND``, continuation lines included."""
    block = re.search(
        r"## The `nnlite` command\n\n```text\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL
    )
    assert block is not None
    usage = re.search(rf"^nnlite {command} .*?(?=^nnlite |\Z)", block[1], re.MULTILINE | re.DOTALL)
    assert usage is not None, command
    return usage[0].split("#")[0]


def _help(command: str) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit):
        main([command, "--help"])
    return printed.getvalue()


@pytest.mark.parametrize("command", ["train", "check", "predict", "export"])
def test_the_readme_lists_the_commands_options(command: str) -> None:
    def options(text: str) -> set[str]:
        return set(re.findall(r"--[\w-]+", text)) - {"--help"}

    def choices(text: str) -> set[frozenset[str]]:
        return {frozenset(group.split(",")) for group in re.findall(r"\{([\w,-]+)\}", text)}

    shown, actual = _usage_lines(command), _help(command)
    if command == "train":  # every option, each with its choices
        assert options(shown) == options(actual)
        assert choices(shown) == choices(actual)
    else:
        assert options(shown) <= options(actual)
        assert choices(shown) <= choices(actual)


def test_the_input_bias_default_is_the_one_named() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "For moons, circles and spirals they also\nappend a column of ones" in readme
    assert {name for name, settings in DEFAULTS.items() if settings.input_bias} == {
        "moons",
        "circles",
        "spirals",
    }


# ---------------------------------------------------------------------------------------------
# The home page and the conventions
# ---------------------------------------------------------------------------------------------


def _extras() -> set[str]:
    """The optional extras in pyproject.toml."""
    section = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[1]
    section = section.split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+) = \[", section, re.MULTILINE))


def test_the_home_page_lists_every_extra() -> None:
    paragraph = (DOCS / "index.md").read_text().split("the extras are", 1)[1]
    named = set(re.findall(r"`([\w-]+)` \(", paragraph))
    assert named == _extras() - {"all", "dev"}  # the two that bundle others are named apart
    assert {"`all`", "`dev`"} <= set(re.findall(r"`\w+`", paragraph))


def test_the_home_page_links_every_page() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav: Any) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        items = nav.values() if isinstance(nav, dict) else nav
        return [page for item in items for page in pages(item)]

    linked = set(re.findall(r"\]\(([\w/-]+\.md)\)", (DOCS / "index.md").read_text()))
    assert sorted(set(pages(config["nav"])) - linked - {"index.md"}) == []


def test_the_home_page_example_is_fifteen_lines() -> None:
    text = (DOCS / "index.md").read_text()
    assert "## In fifteen lines" in text
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code is not None
    assert len([line for line in code[1].splitlines() if line.strip()]) <= 15


def test_the_layers_cache_what_the_conventions_say() -> None:
    """conventions.md: Linear keeps its input, Sigmoid its output."""
    assert (
        "(`Linear` keeps its input,\n`Sigmoid` its output" in (DOCS / "conventions.md").read_text()
    )
    x = np.random.default_rng(0).normal(size=(4, 3))
    linear, sigmoid = nl.Linear(3, 3, rng=0), nl.Sigmoid()
    linear(x)
    y = sigmoid(x)
    assert linear.x is x
    assert sigmoid.y is y
    assert not any(value is x for value in vars(sigmoid).values())
