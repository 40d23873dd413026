"""Mutation-test one module of nnlite with mutmut, against that module's own tests.

    python tools/mutate.py nnlite/training.py       # mutate, run, print the score and survivors
    python tools/mutate.py nnlite/layers/           # a folder: every module in it
    python tools/mutate.py nnlite/training.py --survivors  # after new tests: the survivors again
    python tools/mutate.py --list                   # the modules and their test selection

mutmut (``pip install mutmut``) copies the code to a ``mutants/`` folder and reads its
configuration from ``pyproject.toml`` in the folder it runs in. So that each module keeps its own
results (a later run re-tests only the functions that changed), every module runs in a folder of its
own, ``.mutants/<module>/``, holding a copy of ``nnlite/``, ``tests/``, ``docs/`` and
``conftest.py`` and a ``pyproject.toml`` whose ``[tool.mutmut]`` is the project's with two settings
added: ``only_mutate`` (the module) and ``pytest_add_cli_args_test_selection`` (its tests, from
``TESTS`` below).

The score counts what changes behaviour: killed / (killed + survived - equivalent), where a timeout
is a kill and a mutant no selected test reaches ("no tests") is a survivor. Surviving mutants that
cannot change behaviour are listed, each with its reason, in ``tools/equivalent-mutants.toml``.
Inspect one with ``mutmut show NAME`` in the module's folder (the script prints the command).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - mutmut itself needs the toml package on 3.10
    import toml as tomllib

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutants"
EQUIVALENT_FILE = ROOT / "tools" / "equivalent-mutants.toml"

# The tests that exercise each module: what a mutant of it must fail. Generous on purpose (a test
# file left out turns its kills into survivors); the docs' examples, the CLI and the benchmark are
# left out for speed, and kill nothing these do not.
_GRADIENT_TESTS = [
    "tests/test_gradcheck.py",
    "tests/test_gradcheck_bounds.py",
    "tests/test_checker_catches_bugs.py",
    "tests/test_check_vjp.py",
    "tests/test_conformance_catches.py",
    "tests/test_conformance_blind_spots.py",
    "tests/test_strength_gradcheck.py",
    "tests/test_strength_estimate.py",
]
# The conformance checks and their comparison helpers: the broken layers each check must catch,
# the correct ones it must pass, the loss checks. The built-in layers' conformance run
# (test_builtin_conformance.py, two minutes) is left out: its layers are correct, so it kills
# nothing the correct layers here do not.
_CONFORMANCE_TESTS = [
    "tests/test_conformance_catches.py",
    "tests/test_conformance_blind_spots.py",
    "tests/test_conformance_correct.py",
    "tests/test_conformance_losses.py",
    "tests/test_checker_catches_bugs.py",
    "tests/test_strength_gradcheck.py",
]
_LAYER_TESTS = [
    "tests/test_layer_base.py",
    "tests/test_layer_members.py",
    "tests/test_parameter.py",
    "tests/test_linear.py",
    "tests/test_activations.py",
    "tests/test_sigmoid.py",
    "tests/test_bias_append.py",
    "tests/test_dtypes.py",
    "tests/test_builtin_conformance.py",
    "tests/test_two_layer_network.py",
    "tests/test_strength_layers.py",
]
# The property-test side of nnlite.testing: check_layer and check_loss, the strategies, the
# pytest parametrization, and what the checks run on (the layer copies and pinned forwards, the
# adapted functions' arguments). test_builtin_conformance.py is left out for time, as above.
_PROPERTY_TESTS = [
    "tests/test_conformance_correct.py",
    "tests/test_conformance_catches.py",
    "tests/test_conformance_blind_spots.py",
    "tests/test_conformance_losses.py",
    "tests/test_checker_catches_bugs.py",
    "tests/test_layer_kinds.py",
    "tests/test_strength_property.py",
]
# The adapters for a function and its vjp: a numpy one, a torch.autograd.Function, a jax.custom_vjp
# (the torch and jax tests need those extras; without them they skip, and their mutants count as
# no tests).
_VJP_TESTS = ["tests/test_check_vjp.py", "tests/test_strength_vjp.py"]
_TORCH_FUNCTION_TESTS = ["tests/test_testing_torch.py", "tests/test_strength_testing_torch.py"]
_JAX_FUNCTION_TESTS = ["tests/test_testing_jax.py", "tests/test_strength_testing_jax.py"]
TESTS: dict[str, list[str]] = {
    "nnlite/testing/function.py": [*_VJP_TESTS, *_TORCH_FUNCTION_TESTS, *_JAX_FUNCTION_TESTS],
    "nnlite/testing/vjp.py": _VJP_TESTS,
    "nnlite/testing/torch.py": _TORCH_FUNCTION_TESTS,
    "nnlite/testing/jax.py": _JAX_FUNCTION_TESTS,
    "nnlite/testing/gradcheck.py": _GRADIENT_TESTS,
    "nnlite/testing/_estimate.py": _GRADIENT_TESTS,
    "nnlite/testing/_report.py": _GRADIENT_TESTS,
    "nnlite/testing/_compare.py": _CONFORMANCE_TESTS,
    "nnlite/testing/property.py": _PROPERTY_TESTS,
    "nnlite/testing/parametrize.py": _PROPERTY_TESTS,
    "nnlite/testing/strategies.py": [
        *_PROPERTY_TESTS,
        "tests/test_strategies.py",
        "tests/test_check_vjp.py",
    ],
    "nnlite/testing/_pinning.py": [
        *_PROPERTY_TESTS,
        "tests/test_gradcheck.py",
        "tests/test_check_vjp.py",
    ],
    # The adapters' arguments: check_vjp's, and the PyTorch and JAX adapters' (they need the torch
    # and jax extras; without them those tests skip, and their mutants count as no tests).
    "nnlite/testing/_arguments.py": [
        "tests/test_check_vjp.py",
        "tests/test_testing_torch.py",
        "tests/test_testing_jax.py",
        "tests/test_strength_property.py",
    ],
    "nnlite/testing/checks/": _CONFORMANCE_TESTS,
    "nnlite/training.py": [
        "tests/test_training.py",
        "tests/test_two_layer_network.py",
        "tests/test_strength_training.py",
        "tests/test_callbacks.py",
        "tests/test_metrics.py",
        "tests/test_clipping.py",
        "tests/test_schedules.py",
        "tests/test_checkpoint.py",
    ],
    "nnlite/callbacks.py": [
        "tests/test_callbacks.py",
        "tests/test_training.py",
        "tests/test_strength_training.py",
        "tests/test_checkpoint.py",
        "tests/test_metrics.py",
        "tests/test_schedules.py",
    ],
    "nnlite/layer.py": [
        *_LAYER_TESTS,
        "tests/test_sequential.py",
        "tests/test_serialization.py",
        "tests/test_strength_layer_base.py",
    ],
    "nnlite/layers/": [
        *_LAYER_TESTS,
        "tests/test_sequential.py",
        "tests/test_gradcheck.py",
        "tests/test_dropout.py",
        "tests/test_batch_norm.py",
        "tests/test_layer_norm.py",
        "tests/test_softmax.py",
        "tests/test_residual.py",
        "tests/test_conv2d.py",
        "tests/test_pooling.py",
        "tests/test_flatten.py",
        # The layers' conversions to and from PyTorch and ONNX; they need the torch and onnx
        # extras (without them these tests skip, and those mutants count as no tests).
        "tests/test_interop.py",
        "tests/test_interop_images.py",
        "tests/test_strength_layers_dense.py",
    ],
    "nnlite/losses.py": [
        "tests/test_mse_loss.py",
        "tests/test_classification_losses.py",
        "tests/test_conformance_losses.py",
        "tests/test_dtypes.py",
        "tests/test_two_layer_network.py",
        # With the torch formulas' worked cases (they need the torch extra). test_interop.py's
        # property tests of those formulas are left out: on a mutant they shrink for half a minute.
        "tests/test_strength_losses.py",
    ],
    "nnlite/sequential.py": [
        "tests/test_sequential.py",
        "tests/test_sequential_editing.py",
        "tests/test_sequential_plan.py",
        "tests/test_strength_sequential.py",
        "tests/test_strength_sequential_plan.py",
        "tests/test_layer_base.py",
        "tests/test_two_layer_network.py",
        "tests/test_checker_catches_bugs.py",
    ],
    "nnlite/optim/": [
        "tests/test_optim.py",
        "tests/test_optim_more.py",
        "tests/test_optim_state.py",
        "tests/test_optim_torch.py",
        "tests/test_strength_optim.py",
        "tests/test_training.py",
    ],
    "nnlite/metrics.py": [
        "tests/test_metrics.py",
        "tests/test_training.py",
        "tests/test_strength_training.py",
    ],
    "nnlite/_finite.py": ["tests/test_training.py", "tests/test_strength_training.py"],
    "nnlite/schedules.py": ["tests/test_schedules.py", "tests/test_training.py"],
    "nnlite/checkpoint.py": ["tests/test_checkpoint.py", "tests/test_callbacks.py"],
    "nnlite/serialization.py": [
        "tests/test_serialization.py",
        "tests/test_fault_injection.py",
        "tests/test_strength_serialization.py",
    ],
}


def test_selection(module: str) -> list[str]:
    """The test files of ``module`` (a file, or a folder of nnlite ending in "/")."""
    for key, tests in TESTS.items():
        if module == key or (key.endswith("/") and module.startswith(key)):
            return [test for test in tests if (ROOT / test).exists()]
    raise SystemExit(
        f"mutate.py: no test selection for {module}; add it to TESTS in tools/mutate.py "
        f"(known: {', '.join(TESTS)})"
    )


def _toml(value: object) -> str:
    # JSON's strings, numbers, booleans and lists are TOML's too.
    return json.dumps(value)


def _write_config(folder: Path, module: str, tests: list[str]) -> None:
    """The project's pyproject.toml with [tool.mutmut] narrowed to ``module`` and its tests."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    settings = dict(tomllib.loads(text)["tool"]["mutmut"])
    settings["only_mutate"] = [f"{module}*" if module.endswith("/") else module]
    settings["pytest_add_cli_args_test_selection"] = tests
    section = "[tool.mutmut]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items())
    text = re.sub(r"^\[tool\.mutmut\]\n(?:(?!\[).*\n)*", section + "\n", text, flags=re.MULTILINE)
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")


def _copy_project(folder: Path) -> None:
    """nnlite/, tests/, docs/ and conftest.py into ``folder``, timestamps kept (mutmut compares
    them)."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("nnlite", "tests", "docs"):
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / name, target, ignore=ignore)
    shutil.copy2(ROOT / "conftest.py", folder / "conftest.py")


def equivalent_mutants() -> dict[str, str]:
    """Mutant name -> why it cannot change behaviour, from tools/equivalent-mutants.toml."""
    if not EQUIVALENT_FILE.exists():
        return {}
    data = tomllib.loads(EQUIVALENT_FILE.read_text(encoding="utf-8"))
    return {name: str(reason) for name, reason in data.get("mutants", {}).items()}


def results(folder: Path, mutmut: str) -> dict[str, str]:
    """Mutant name -> status ("killed", "survived", "no tests", "timeout", ...)."""
    out = subprocess.run(
        [mutmut, "results", "--all", "true"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


_SURVIVED = ("survived", "no tests", "suspicious")


def score(module: str, statuses: dict[str, str], equivalent: dict[str, str]) -> dict[str, int]:
    """The counts of one module's table row."""
    counts = Counter(statuses.values())
    killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
    survivors = [n for n, s in statuses.items() if s in _SURVIVED]
    listed = sum(1 for n in survivors if n in equivalent)
    return {
        "mutants": len(statuses),
        "killed": killed,
        "survived": len(survivors) - listed,
        "equivalent": listed,
        "not checked": counts["not checked"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", help="e.g. nnlite/training.py or nnlite/layers/")
    parser.add_argument("--max-children", type=int, default=2, help="parallel test runs")
    parser.add_argument("--list", action="store_true", help="print the test selection table")
    parser.add_argument(
        "--report", action="store_true", help="print the results of the last run; run nothing"
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run the last run's survivors again (after adding tests), and only them",
    )
    args = parser.parse_args(argv)
    if args.list or not args.module:
        for module, tests in TESTS.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    module = args.module.removeprefix("./")
    if not (ROOT / module).exists():
        raise SystemExit(f"mutate.py: no such module {module}")
    tests = test_selection(module)
    folder = WORK / module.strip("/").removesuffix(".py").replace("/", ".")
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
    if not args.report:
        _copy_project(folder)
        _write_config(folder, module, tests)
        env = dict(os.environ, CI="true")  # the derandomized hypothesis profile: repeatable runs
        command = [mutmut, "run", "--max-children", str(args.max_children)]
        if args.survivors:  # those listed as equivalent are not run again
            listed = equivalent_mutants()
            statuses = results(folder, mutmut)
            command += [n for n, s in statuses.items() if s in _SURVIVED and n not in listed]
        run = subprocess.run(command, cwd=folder, env=env, check=False)
        if run.returncode != 0:
            print(f"mutate.py: mutmut exited with {run.returncode}", file=sys.stderr)
            return run.returncode
    equivalent = equivalent_mutants()
    statuses = results(folder, mutmut)
    row = score(module, statuses, equivalent)
    real = row["killed"] + row["survived"]
    percent = 100 * row["killed"] / real if real else 100.0
    print(f"\n{module}: tests {' '.join(tests)}")
    print(
        f"{row['mutants']} mutants: {row['killed']} killed, {row['survived']} survived, "
        f"{row['equivalent']} equivalent, {row['not checked']} not checked; "
        f"score {percent:.1f}% (killed / (killed + survived))"
    )
    for name, status in sorted(statuses.items()):
        if status in _SURVIVED and name not in equivalent:
            print(f"  {status:>9}: {name}    (cd {folder.relative_to(ROOT)} && mutmut show {name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
