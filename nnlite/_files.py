"""Writing files so that a failure never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import BinaryIO

_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def write_atomically(path: str, write: Callable[[BinaryIO], object]) -> None:
    """Run ``write(file)`` into a temporary file beside ``path``, fsync it, rename it onto ``path``.

    The rename is atomic: ``path`` holds either its old bytes or all of the new ones. On any
    failure (an exception in ``write``, a full disk, KeyboardInterrupt) the temporary file is
    removed and the error raised; a file already at ``path`` is untouched.
    """
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
    # os.open rather than tempfile.mkstemp: mkstemp makes the file 0600, and a saved file should
    # get the permissions any new file gets (0666 less the umask).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the original error is the one to report
            os.remove(temporary)
        raise
