"""Writing files so that a failure never leaves half a file behind, nor a temporary for good.

A save writes a temporary file beside its target and renames it onto the target. A process killed
mid-save (SIGKILL, SIGTERM, a power cut) leaves that temporary behind, so every save first removes
the temporaries an earlier save of the same name left. It must never remove one that another save,
still running, is writing: each writer holds an advisory lock (``flock``) on its temporary until
the rename, and a temporary is stale exactly when nobody holds its lock. (The operating system
drops a lock when its process dies, however it dies.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO

if sys.platform != "win32":
    import fcntl

_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_LOCKS = sys.platform != "win32"  # advisory locks, which tell a live temporary from a stale one
_TOKEN_HEX = 16  # the random part of a temporary's name, in hex digits
_SUFFIX = ".tmp"
_EXTRA = len(".") + len(".") + _TOKEN_HEX + len(_SUFFIX)  # ".<name>.<token>.tmp"
_ATTEMPTS = 10


def write_atomically(path: str, write: Callable[[BinaryIO], object]) -> None:
    """Run ``write(file)`` into a temporary file beside ``path``, fsync it, rename it onto ``path``.

    The rename is atomic: ``path`` holds either its old bytes or all of the new ones. On any
    failure (an exception in ``write``, a full disk, KeyboardInterrupt) the temporary file is
    removed and the error raised; a file already at ``path`` is untouched. Besides that:

    - a symlink at ``path`` stays a link: the file it points to is the one replaced;
    - a file replaced keeps its permission bits (a 0600 file stays 0600); a new file gets the
      mode any new file gets (0666 less the umask);
    - the temporary's name fits the file system's limit (NAME_MAX) for any valid ``path``: it is
      ``.<name>.<16 hex digits>.tmp``, the name shortened when it must be;
    - temporaries that killed saves of this name left are removed first (on POSIX systems; on
      Windows, without advisory locks, a live temporary cannot be told from a stale one);
    - an OSError names ``path``, the caller's path, not the temporary.
    """
    try:
        target = os.path.realpath(path)  # through symlinks: the link stays, its target is written
        directory, name = os.path.split(target)
        try:
            mode: int | None = stat.S_IMODE(os.stat(target).st_mode) & 0o777
        except FileNotFoundError:
            mode = None
        prefix = _temporary_prefix(directory, name)
        _remove_stale_temporaries(directory, prefix)
        descriptor, temporary = _create_temporary(directory, prefix, mode)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
            if _LOCKS:  # renamed while still locked, so that no other save takes it for stale
                os.replace(temporary, target)
        if not _LOCKS:  # Windows cannot rename a file that is open
            os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):  # the original error is the one to report
            os.remove(temporary)
        if isinstance(error, OSError):
            raise _naming(error, path) from error
        raise


def _naming(error: OSError, path: str) -> OSError:
    """The same error (same errno, so the same OSError subclass) about ``path``: a message that
    names a temporary the caller never heard of would send them looking for the wrong file."""
    if error.errno is None:
        return error
    return OSError(error.errno, error.strerror, path)


def _temporary_prefix(directory: str, name: str) -> str:
    """``".<name>."``, ``name`` shortened so that the temporary's name fits NAME_MAX bytes."""
    try:
        name_max = os.pathconf(directory or ".", "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf
        name_max = 255
    kept = name
    while kept and len(os.fsencode(kept)) > name_max - _EXTRA:
        kept = kept[:-1]
    return f".{kept}."


def _is_temporary(entry: str, prefix: str) -> bool:
    """Whether ``entry`` is a name :func:`_create_temporary` gives for ``prefix``."""
    token = entry[len(prefix) : -len(_SUFFIX)]
    return (
        entry.startswith(prefix)
        and entry.endswith(_SUFFIX)
        and len(token) == _TOKEN_HEX
        and all(character in "0123456789abcdef" for character in token)
    )


def _create_temporary(directory: str, prefix: str, mode: int | None) -> tuple[int, str]:
    """A new temporary file, open for writing and locked: its descriptor and path.

    The file is created with O_EXCL under a random name, then locked. Between the two another save
    could take it for stale and remove it; so the writer checks, once locked, that the name still
    leads to its own file, and otherwise starts again under a new name.
    """
    for _ in range(_ATTEMPTS):
        temporary = os.path.join(directory, prefix + secrets.token_hex(_TOKEN_HEX // 2) + _SUFFIX)
        # os.open rather than tempfile.mkstemp, whose files are 0600: a new file gets the mode any
        # new file gets. Over an existing file, 0600 until its mode is copied, so the new contents
        # are never readable by more users than the old ones were.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
        descriptor = os.open(temporary, flags, 0o666 if mode is None else 0o600)
        try:
            if mode is not None:
                _set_mode(descriptor, temporary, mode)
            if _claim(descriptor, temporary):
                return descriptor, temporary
        except BaseException:
            os.close(descriptor)
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
        os.close(descriptor)  # taken for stale and removed by another save: try another name
    raise FileExistsError(f"could not create a temporary file in {directory!r}")


def _set_mode(descriptor: int, temporary: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)
    else:  # Windows, before Python 3.13
        os.chmod(temporary, mode)


def _claim(descriptor: int, temporary: str) -> bool:
    """Lock the temporary; True when the lock is ours and ``temporary`` is still our file."""
    if not _LOCKS:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return os.path.samestat(os.stat(temporary), os.fstat(descriptor))
    except OSError:  # locked by a save that is removing it, or removed already
        return False


def _remove_stale_temporaries(directory: str, prefix: str) -> None:
    """Remove the temporaries of ``prefix`` that no running save holds the lock of."""
    if not _LOCKS:
        return
    with os.scandir(directory or ".") as entries:
        names = [entry.name for entry in entries if _is_temporary(entry.name, prefix)]
    for name in names:
        candidate = os.path.join(directory, name)
        try:
            # O_RDWR: on NFS an exclusive flock needs a descriptor open for writing. O_NOFOLLOW
            # and O_NONBLOCK: a symlink or a FIFO named like a temporary is not ours to touch.
            descriptor = os.open(candidate, os.O_RDWR | _O_NOFOLLOW | _O_NONBLOCK)
        except OSError:
            continue  # gone already, or not ours to open
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a save holds it: live
            with contextlib.suppress(OSError):
                os.remove(candidate)
        finally:
            os.close(descriptor)
