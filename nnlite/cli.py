"""The ``nnlite`` command: train the derivation's network, check and use saved models.

    nnlite train [--dataset digits] [--model {mlp,cnn}] [--hidden H] [--epochs E] [--lr LR]
                 [--batch-size B]
                 [--optimizer {sgd,sgd-momentum,adam}] [--seed S] [--save PATH] [--plot PATH]
    nnlite check PATH [--max-elements N] [--time-limit SECONDS] [--custom-layers MODULE:CLASS]
    nnlite predict PATH [--dataset digits] [--seed S] [--custom-layers MODULE:CLASS]
    nnlite export PATH --to {torch,onnx} OUT [--custom-layers MODULE:CLASS]

Also ``python -m nnlite``. A user's mistake (a bad argument, an unreadable or unusable file, a
target that cannot be written, a missing optional extra, too little memory) ends the command
with one line on stderr and a non-zero exit status, never a traceback: 2 for an argument the
parser refuses, 1 for the rest, 130 for Ctrl-C. Files to write are checked before training.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeAlias

from nnlite import __version__
from nnlite._cli_checks import FileName, guard_streams, layer_spec, typed
from nnlite._cli_commands import (
    DEFAULTS,
    LOADERS,
    MAX_CHECK_ROWS,
    MAX_HIDDEN,
    OPTIMIZERS,
    Defaults,
    check,
    export,
    predict,
    train,
)
from nnlite._constraints import Integer, Real
from nnlite.errors import NnliteError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    guard_streams()
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("nnlite: interrupted", file=sys.stderr)
        return 130
    except MemoryError as error:
        print(f"nnlite: error: out of memory ({error}): {args.smaller}", file=sys.stderr)
        return 1
    except (NnliteError, OSError) as error:
        print(f"nnlite: error: {error}", file=sys.stderr)
        return 1


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and the exit status 2), no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


_COUNT = typed(int, Integer(low=1))
_SEED = typed(int, Integer(low=0))
_RATE = typed(float, Real(low=0, closed="neither"))
_FRACTION = typed(float, Real(low=0, high=1, closed="neither"))


def _per_dataset(setting: str) -> str:
    """A setting's default for each data set, for the help: "default: digits 100, xor 4, ..."."""
    words = [f"{name} {_word(getattr(defaults, setting))}" for name, defaults in DEFAULTS.items()]
    return "default: " + ", ".join(words)


def _word(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnlite",
        description="Train the derivation's network, check saved models' gradients, use them.",
        epilog="nnlite COMMAND --help describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"nnlite {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _train_parser(commands)
    _check_parser(commands)
    _predict_parser(commands)
    _export_parser(commands)
    return parser


def _command(
    commands: _Commands,
    name: str,
    run: Callable[[argparse.Namespace], int],
    help: str,
    smaller: str,
) -> argparse.ArgumentParser:
    """A subcommand; ``smaller`` says what to lower when it runs out of memory."""
    sub = commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
    sub.set_defaults(run=run, smaller=smaller)
    return sub


def _data_arguments(sub: argparse.ArgumentParser, *, seed: str) -> None:
    sub.add_argument(
        "--dataset", choices=list(DEFAULTS), default="digits", help="data set (default: digits)"
    )
    sub.add_argument("--seed", type=_SEED, default=0, metavar="S", help=f"{seed} (default: 0)")
    sub.add_argument(
        "--test-size",
        type=_FRACTION,
        default=0.25,
        metavar="F",
        help="test fraction of a stratified split (default: 0.25)",
    )


def _model_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("path", help="a model saved by nnlite train --save or nl.save")
    sub.add_argument(
        "--custom-layers",
        type=layer_spec,
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="a layer class of your own that the file names: MODULE is imported (from the "
        "current folder too, so its register() calls run) and CLASS is known to the loader; "
        "repeat for more",
    )


def _progress_argument(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help=f"show {what} on stderr (default: only when stderr is a terminal)",
    )


def _train_parser(commands: _Commands) -> None:
    sub = _command(
        commands,
        "train",
        train,
        "train the derivation's network on a data set and report its accuracy",
        "lower --hidden or --batch-size",
    )
    _data_arguments(sub, seed="seed of the data set, the split, the weights and the shuffling")
    sub.add_argument(
        "--model",
        choices=["mlp", "cnn"],
        default="mlp",
        help="mlp: the derivation's network; cnn: nnlite.digits_cnn (default: mlp)",
    )
    sub.add_argument(
        "--hidden",
        type=typed(int, Integer(low=1, high=MAX_HIDDEN)),
        metavar="H",
        help=f"hidden units ({_per_dataset('hidden')})",
    )
    sub.add_argument(
        "--epochs",
        type=_COUNT,
        metavar="E",
        help=f"passes over the training rows ({_per_dataset('epochs')})",
    )
    sub.add_argument("--lr", type=_RATE, metavar="LR", help=f"learning rate ({_per_dataset('lr')})")
    sub.add_argument(
        "--batch-size",
        type=_COUNT,
        metavar="B",
        help=f"rows per step ({_per_dataset('batch_size')})",
    )
    sub.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        help=f"optimizer ({_per_dataset('optimizer')})",
    )
    sub.add_argument(
        "--input-bias",
        action=argparse.BooleanOptionalAction,
        help=f"append a ones column to the input as well ({_per_dataset('input_bias')})",
    )
    sub.add_argument(
        "--save", type=typed(str, FileName()), metavar="PATH", help="save the trained model (.npz)"
    )
    sub.add_argument(
        "--plot",
        type=typed(str, FileName()),
        metavar="PATH",
        help="save a PNG of loss, accuracy, precision, recall and F1 per epoch (needs "
        "matplotlib; .png is added to a name without a suffix)",
    )
    _progress_argument(sub, "a progress bar")


def _check_parser(commands: _Commands) -> None:
    sub = _command(
        commands,
        "check",
        check,
        "check a saved model's gradients against finite differences",
        "lower --batch-size or --features",
    )
    _model_arguments(sub)
    sub.add_argument(
        "--features", type=_COUNT, metavar="N", help="input width, when the model cannot tell"
    )
    sub.add_argument(
        "--batch-size",
        type=typed(int, Integer(low=1, high=MAX_CHECK_ROWS)),
        default=4,
        metavar="B",
        help="rows of the random input (default: 4)",
    )
    sub.add_argument(
        "--seed",
        type=_SEED,
        default=0,
        metavar="S",
        help="seed of the random input and upstream gradient (default: 0)",
    )
    sub.add_argument(
        "--max-elements",
        type=_COUNT,
        metavar="N",
        help="estimate at most N elements, a random share of each tensor (default: all that "
        "fit in --time-limit)",
    )
    sub.add_argument(
        "--time-limit",
        type=_RATE,
        default=60.0,
        metavar="SECONDS",
        help="estimate only as many elements as take about this long (default: 60)",
    )
    _progress_argument(sub, "how many elements are done")


def _predict_parser(commands: _Commands) -> None:
    sub = _command(
        commands,
        "predict",
        predict,
        "the accuracy of a saved model on a data set",
        "the model is too large for this machine",
    )
    _model_arguments(sub)
    _data_arguments(
        sub, seed="seed of the data set and the split: the one the model was trained with"
    )


def _export_parser(commands: _Commands) -> None:
    sub = _command(
        commands,
        "export",
        export,
        "write a saved model for PyTorch or ONNX",
        "the model is too large for this machine",
    )
    _model_arguments(sub)
    sub.add_argument(
        "--to",
        choices=["torch", "onnx"],
        required=True,
        help="torch: a state_dict file for nnlite.interop.load_torch (needs nnlite[torch]); "
        "onnx: an ONNX graph (needs nnlite[onnx])",
    )
    sub.add_argument("out", type=typed(str, FileName()), help="the file to write")


__all__ = ["DEFAULTS", "LOADERS", "OPTIMIZERS", "Defaults", "main"]
