"""Outgrowing one machine: an exported nnlite model trained with DistributedDataParallel, for real.

examples/ddp_two_processes.py starts 2 processes on 127.0.0.1 (gloo, CPU). Each trains
``to_torch(nl.two_layer_network(2, 8))`` in float64 wrapped in DistributedDataParallel, on its half
of each batch of 32 rows. Here, against the single process on the full batch:

- the gradients DDP averaged equal the full batch's, from nnlite's own backward and from torch's,
  to float64 rounding (the bound is derived in ``rounding_bound``);
- both processes end with the same weights, those of nnlite's own SGD on the full batches in one
  process, to rounding; and training makes the loss go down.

Why the average is the full gradient: nnlite's MSELoss is 1/(2N) sum over the N rows, a mean over
rows. For two halves of n = N/2 rows each, L = (L_0 + L_1) / 2, so dL/dW is the average of the two
halves' gradients, which is what DDP's all-reduce forms. (A loss summed over rows, or halves of
unequal size, would need another weighting.)

Skipped without torch, and where torch.distributed, gloo or sockets on 127.0.0.1 are unavailable.
Every wait is bounded: the processes have a deadline (``run``'s timeout, then they are killed), and
each waits at most its group timeout for the other.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.interop import to_torch
from tests.test_docs_match_the_code import SOURCE_BLOCK, _is_excerpt_of

torch: Any = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "moving-to-pytorch.md"
EPS = float(np.finfo(np.float64).eps)


def _skip_unless_distributed_runs() -> None:
    """Skip (with the reason) where two local processes cannot form a gloo group."""
    distributed = torch.distributed
    if not distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    if not distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    try:  # the group talks over TCP on 127.0.0.1: a listening socket and a connection to it
        with socket.socket() as server, socket.socket() as client:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            client.settimeout(5)
            client.connect(server.getsockname())
    except OSError as error:
        pytest.skip(f"no TCP sockets on 127.0.0.1 here: {error}")


@pytest.fixture(scope="module")
def example() -> Iterator[Any]:
    """The example's module, importable by name, as the spawned processes import it."""
    _skip_unless_distributed_runs()
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "examples"))
        import ddp_two_processes

        yield ddp_two_processes


@pytest.fixture(scope="module")
def ranks(example: Any, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What each of the 2 processes wrote: the first step's averaged gradients, its final
    weights and its losses. One run for all the tests here (a few seconds)."""
    folder = tmp_path_factory.mktemp("ddp")
    example.run(str(folder), timeout=120.0)
    runs = []
    for rank in range(example.WORLD_SIZE):
        with np.load(folder / f"rank{rank}.npz") as written:
            runs.append({name: written[name] for name in written.files})
    return runs


def _first_batch(example: Any) -> tuple[nl.Sequential, Any, Any, list[Any]]:
    """The model before any step, and the first step's full batch and its halves."""
    model, X, Y = example.problem()
    parts = next(example.halves(len(X), 1, example.WORLD_SIZE))
    rows = np.concatenate(parts)
    return model, X[rows], Y[rows], parts


def _nnlite_gradients(model: nl.Sequential, X: Any, Y: Any) -> dict[str, Any]:
    """nnlite's own backward for MSELoss on (X, Y): 1/(2N) sum over its N rows."""
    loss = nl.MSELoss()
    model.zero_grad()
    loss(model(X), Y)
    model.backward_parameters(loss.backward())
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def _ddp(rank: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A process's arrays named ``prefix.module.NAME``, by NAME, transposed to nnlite's
    (in, out): torch's Linear weight is (out, in)."""
    start = f"{prefix}.module."
    return {key[len(start) :]: value.T for key, value in rank.items() if key.startswith(start)}


def rounding_bound(model: nl.Sequential, X: Any, Y: Any) -> dict[str, Any]:
    """How far two float64 computations of the full-batch gradient may differ, entry by entry.

    Each entry is (1/N) sum_i g_i over the N rows, g_i row i's gradient (MSELoss on one row).
    One computation forms the sum in one order (nnlite: a matrix product over all rows), the other
    in another (DDP: each half's sum, then their sum, halved). Each g_i is itself a few inner
    products and elementwise steps through the network, forward and back, with a relative error
    of at most d u, d = 2 (n_in + n_hidden + 1) + 16 (the inner products of both layers, both
    ways, and the sigmoids, the residual and the scalings), u = eps / 2 the unit roundoff. A sum of
    N such terms, in any order, is within (N - 1 + d) u sum_i |g_i| (Higham, Accuracy and
    Stability of Numerical Algorithms, 2002, section 4.2, to first order in u). Two computations
    are each that close to the exact value, so they differ by at most
    (N - 1 + d) eps mean_i |g_i|.
    """
    n_rows = len(X)
    n_in, n_hidden = model[0].weight.shape  # type: ignore[attr-defined]
    depth = 2 * (n_in + n_hidden + 1) + 16
    magnitude = {name: np.zeros_like(p.data) for name, p in model.named_parameters()}
    for i in range(n_rows):
        for name, g in _nnlite_gradients(model, X[i : i + 1], Y[i : i + 1]).items():
            magnitude[name] += np.abs(g) / n_rows
    return {name: (n_rows - 1 + depth) * EPS * m for name, m in magnitude.items()}


def _within(got: dict[str, Any], want: dict[str, Any], bound: dict[str, Any]) -> bool:
    assert got.keys() == want.keys() == bound.keys()
    return all(np.all(np.abs(got[name] - want[name]) <= bound[name]) for name in want)


def test_the_averaged_gradients_are_nnlites_full_batch_gradients(
    example: Any, ranks: list[dict[str, Any]]
) -> None:
    model, X, Y, parts = _first_batch(example)
    assert len({len(part) for part in parts}) == 1, "halves of equal size"
    full = _nnlite_gradients(model, X, Y)
    bound = rounding_bound(model, X, Y)
    for rank in ranks:
        assert _within(_ddp(rank, "grad"), full, bound)
    # The check can fail: one half's own gradient (what DDP would use without its all-reduce)
    # is far outside the bound.
    _, X_all, Y_all = example.problem()
    half = _nnlite_gradients(model, X_all[parts[0]], Y_all[parts[0]])
    assert not _within(half, full, bound)
    # and the bound is rounding-sized: a relative 1e-12 of the largest gradient, or less
    assert all(np.max(bound[name]) < 1e-12 * np.max(np.abs(full[name])) for name in full)


def test_the_averaged_gradients_are_torchs_full_batch_gradients(
    example: Any, ranks: list[dict[str, Any]]
) -> None:
    """The same, against torch's autograd on the whole batch in one process."""
    model, X, Y, _ = _first_batch(example)
    module, criterion = to_torch(model), to_torch(nl.MSELoss())
    criterion(module(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
    full = {name: p.grad.numpy().T for name, p in module.named_parameters()}
    bound = rounding_bound(model, X, Y)
    for rank in ranks:
        assert _within(_ddp(rank, "grad"), full, bound)


def test_both_processes_end_with_the_same_weights(ranks: list[dict[str, Any]]) -> None:
    """Same start (DDP broadcasts rank 0's), same averaged gradient, same step: bit for bit."""
    first, second = (_ddp(rank, "weight") for rank in ranks)
    assert first.keys() == second.keys() == {"0.weight", "3.weight"}
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_the_processes_take_the_steps_of_one_process_on_the_whole_batch(
    example: Any, ranks: list[dict[str, Any]]
) -> None:
    """The final weights of the 2 processes are those of nnlite's own SGD on the full batches, in
    one process, to rounding. Each step's difference is at most the learning rate times a
    gradient difference within ``rounding_bound`` (taken at the start, its largest entry), plus
    the rounding of W - lr g, eps |W|, on each side; over S steps these add up to
    S (lr bound + 2 eps max |W|), provided the steps do not amplify earlier differences much,
    which gradient descent at a stable learning rate (the loss falls every epoch) does not."""
    model, X, Y = example.problem()
    start = _first_batch(example)
    bound = max(np.max(b) for b in rounding_bound(start[0], start[1], start[2]).values())
    loss, optimizer = nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=example.LEARNING_RATE)
    steps = 0
    for parts in example.halves(len(X), example.EPOCHS, example.WORLD_SIZE):
        rows = np.concatenate(parts)
        optimizer.zero_grad()
        loss(model(X[rows]), Y[rows])
        model.backward_parameters(loss.backward())
        optimizer.step()
        steps += 1
    weights = {name: p.data for name, p in model.named_parameters()}
    largest = max(np.max(np.abs(w)) for w in weights.values())
    tolerance = steps * (example.LEARNING_RATE * bound + 2 * EPS * largest)
    for rank in ranks:
        trained = _ddp(rank, "weight")
        assert trained.keys() == weights.keys()
        for name, w in weights.items():
            assert np.max(np.abs(trained[name] - w)) <= tolerance, name
    assert tolerance < 1e-12  # rounding-sized: weights of size 1, a few thousand eps


def test_training_makes_the_loss_go_down(example: Any, ranks: list[dict[str, Any]]) -> None:
    """The loss on all rows, before training and after each epoch: it starts at nnlite's loss of
    the model, falls every epoch, and ends well below where it began."""
    model, X, Y = example.problem()
    losses = ranks[0]["losses"]
    assert len(losses) == example.EPOCHS + 1
    assert losses[0] == pytest.approx(nl.MSELoss()(model(X), Y), rel=1e-12)
    assert np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.75 * losses[0]
    np.testing.assert_array_equal(ranks[1]["losses"], losses)


def test_the_page_quotes_the_example(example: Any) -> None:
    """The DDP code on the Moving to PyTorch page is the example's, line for line."""
    blocks = [(n, s) for n, s in SOURCE_BLOCK.findall(PAGE.read_text()) if n.startswith("ddp_")]
    assert {name for name, _ in blocks} >= {"ddp_two_processes.train", "ddp_two_processes.run"}
    for name, shown in blocks:
        function = getattr(example, name.removeprefix("ddp_two_processes."))
        assert _is_excerpt_of(shown, function), f"the page quotes {name} wrongly:\n{shown}"


def test_processes_out_of_time_are_stopped(example: Any, tmp_path: Path) -> None:
    """The bound holds: past its timeout, run kills the processes it started and raises."""
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"still training after 0\.5 s"):
        example.run(str(tmp_path), timeout=0.5)
    assert time.monotonic() - started < 30  # not the group timeout, nor a hang
    assert multiprocessing.active_children() == []
    assert not list(tmp_path.iterdir())  # stopped before any wrote its results
