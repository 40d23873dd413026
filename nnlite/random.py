"""Random-number handling: every random choice in nnlite takes an ``rng`` argument.

``rng`` is a seed (int), a ``numpy.random.Generator``, or None (fresh entropy from the OS). It is
always passed through ``np.random.default_rng(rng)``, so a Generator is used (and advanced) as it is
and numpy's global random state (``np.random.seed``) is never read or changed.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

RngLike: TypeAlias = "int | np.random.Generator | np.random.SeedSequence | None"
