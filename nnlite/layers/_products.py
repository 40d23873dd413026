"""Matrix products in blocks of rows, each small enough for the BLAS to compute on one thread.

OpenBLAS, the BLAS in numpy's wheels, computes a product of more than 2^18 multiply-adds on
several threads. For a product not much larger than that (Conv2d's at the digits' sizes), the
threads cost more than they save, and far more on a machine whose cores are busy with other work.
Measured on 2 shared cores (median of 30 interleaved samples, other programs taking about half
the CPU): patches (512, 144) @ W (144, 32), Conv2d's forward in the tutorial's network at a
batch of 32, took 11.5 ms as one product and 0.38 ms as 10 products of 56 rows (6.0 ms and 0.21 ms
of CPU time); its two backward products, 12.0 ms and 9.2 ms as one, 0.43 ms and 0.63 ms in blocks.
A product of at most 2^18 multiply-adds is computed as it is.
"""

from __future__ import annotations

import numpy as np

from nnlite.typing import Floats2d

ONE_THREAD = 2**18
"""The multiply-adds of a block: OpenBLAS computes a product of at most this many on one thread
(its GEMM_MULTITHREAD_THRESHOLD of 4 times 65536)."""


def _block_rows(inner: int, columns: int) -> int:
    """How many rows a block has, for products of rows of length ``inner`` into ``columns``."""
    return max(1, ONE_THREAD // max(1, inner * columns))


def product(a: Floats2d, b: Floats2d) -> Floats2d:
    """a @ b, a block of rows of a at a time."""
    rows = _block_rows(a.shape[1], b.shape[1])
    if rows >= a.shape[0]:
        return a @ b
    y = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for start in range(0, a.shape[0], rows):
        np.matmul(a[start : start + rows], b, out=y[start : start + rows])
    return y


def transposed_product(a: Floats2d, b: Floats2d) -> Floats2d:
    """a^T @ b, summed over blocks of the rows of a and b (the sum over the rows is the product)."""
    rows = _block_rows(a.shape[1], b.shape[1])
    total = a[:rows].T @ b[:rows]
    for start in range(rows, a.shape[0], rows):
        total += a[start : start + rows].T @ b[start : start + rows]
    return total
