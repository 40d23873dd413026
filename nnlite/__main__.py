"""``python -m nnlite``: the same as the ``nnlite`` command."""

import sys

from nnlite.cli import main

if __name__ == "__main__":
    sys.exit(main())
