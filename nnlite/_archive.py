"""Reading a model file that may be damaged or hostile: every read checked and bounded first.

A file to load comes from anywhere, so nothing in it is trusted until checked, and nothing is read
whose size is not known and bounded before the read:

- the path must be a regular file. It is opened without blocking (a FIFO would wait forever for a
  writer) and checked with ``fstat`` on the open descriptor, so it cannot be swapped in between;
- the zip's central directory is at most :data:`MAX_DIRECTORY_BYTES`, read from its end record
  before ``zipfile`` parses it;
- every entry is stored, not compressed (a compressed entry of a megabyte can inflate to
  gigabytes), and named once; the entries' sizes add up to no more than the file's own size, so
  no byte is read twice (a zip bomb lists one block under many entries) and the whole load reads
  at most the file;
- an ``.npy`` entry is read header first: a header of at most :data:`MAX_NPY_HEADER_BYTES`, of
  version 1.0 or 2.0, whose dtype the caller allows, and whose shape accounts for exactly the
  entry's bytes; only then is an array of that size allocated and filled;
- each entry is read to its end, where ``zipfile`` checks its CRC-32: a flipped bit anywhere in
  an entry's bytes is found.

Every failure is a :class:`~nnlite.errors.LoadError` saying what was wrong; the caller adds the
path. This module knows zip archives and ``.npy`` arrays, nothing of nnlite's format: it is the
reader ``nl.load`` uses, and any other reader of a zip (PyTorch's files are zips of stored
entries) can use it too.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import zipfile
from collections.abc import Collection, Iterator
from typing import IO, Any, BinaryIO

import numpy as np

from nnlite.errors import LoadError

MAX_DIRECTORY_BYTES = 4 * 2**20
"""The largest central directory read: 4 MiB, some 50,000 entries of a model's names. (zipfile
keeps several hundred bytes per entry, so an unbounded directory costs ten times its size.)"""

MAX_NPY_HEADER_BYTES = 10_000
"""The largest ``.npy`` header read (numpy's own limit): a dtype and a shape take a few dozen."""

_CHUNK_BYTES = 2**20  # an array is filled a chunk at a time: no second copy of it in memory
_O_BINARY: int = getattr(os, "O_BINARY", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY: int = getattr(os, "O_NOCTTY", 0)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
_END = struct.Struct("<4s4H2LH")  # the end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular_file(path: str) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file; a LoadError otherwise.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; on a regular
    file it changes nothing. The type is checked on the open descriptor, not on the name.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _O_BINARY | _O_NONBLOCK | _O_NOCTTY)
    except OSError as error:
        raise LoadError(f"cannot open the file ({error.strerror or error})") from error
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = next((kind for test, kind in _KINDS if test(mode)), "not a file")
            raise LoadError(f"cannot open the file: it is {kind}, not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


class Archive:
    """A zip archive of stored entries, checked as a whole before any entry is read.

    Args:
        file: the archive, open for reading (closed by the caller).
        size: its size in bytes.
        kind: what the archive should be, for messages ("an .npz archive").

    Attributes:
        names: the entries' names, in the directory's order, each once.

    Raises:
        LoadError: not a zip, a damaged or oversized directory, a compressed, encrypted or
            repeated entry, or entries that add up to more bytes than the file holds.
    """

    def __init__(self, file: BinaryIO, size: int, kind: str) -> None:
        signature = file.read(4)
        if not signature:
            raise LoadError("the file is empty")
        if signature not in _ZIP_SIGNATURES:
            raise LoadError(f"not {kind}: it starts with {signature!r}, not a zip signature")
        directory = _directory_size(file, size)
        if directory > MAX_DIRECTORY_BYTES:
            raise LoadError(
                f"its zip directory is {directory:,} bytes, more than the {MAX_DIRECTORY_BYTES:,} "
                "a model file may have"
            )
        try:
            file.seek(0)
            self._zip = zipfile.ZipFile(file)
        except Exception as error:  # a damaged directory fails in many ways: all are LoadErrors
            raise _damaged(error) from error
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in self._zip.infolist():
            name = info.filename
            if name in self._infos:
                raise LoadError(f"entry {name!r} appears twice in the zip directory")
            if info.compress_type != zipfile.ZIP_STORED:
                raise LoadError(
                    f"entry {name!r} is compressed (method {info.compress_type}); "
                    "the format stores every entry uncompressed"
                )
            if info.flag_bits & 0x1:
                raise LoadError(f"entry {name!r} is encrypted")
            if info.compress_size != info.file_size or info.header_offset < 0:
                raise LoadError(f"the zip directory's record of entry {name!r} is damaged")
            self._infos[name] = info
            total += info.file_size
        if total > size:
            raise LoadError(
                f"its entries add up to {total:,} bytes, more than the file's {size:,}: they "
                "overlap, the same bytes listed as several entries"
            )
        self.names: list[str] = list(self._infos)

    def size(self, name: str) -> int:
        """The size of entry ``name`` in bytes, as the directory records it."""
        return self._infos[name].file_size

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Entry ``name`` as a stream that never reads past the entry's recorded size, and checks
        the entry's CRC-32 when it reaches the end."""
        try:
            stream = self._zip.open(self._infos[name])
        except Exception as error:
            raise _damaged(error) from error
        with stream:
            yield stream

    def check_every_entry(self) -> None:
        """Read every entry to its end, a chunk at a time, so that each one's CRC-32 is checked.

        For a reader that parses the archive with its own code afterwards (``torch.load``): the
        bytes it will read have then been checked, and a flipped bit anywhere in an entry is a
        LoadError first.

        Raises:
            LoadError: an entry is damaged (its CRC-32 fails) or ends early.
        """
        for name in self.names:
            try:
                with self.open(name) as stream:
                    while stream.read(_CHUNK_BYTES):
                        pass
            except LoadError:
                raise
            except Exception as error:  # the CRC check, a truncated file: damage
                raise _damaged(error) from error

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()

    def read_array(
        self,
        name: str,
        dtypes: Collection[np.dtype[Any]] | None = None,
        *,
        max_bytes: int | None = None,
    ) -> np.ndarray[Any, Any]:
        """The ``.npy`` array in entry ``name``, in native byte order, writable, its own memory.

        Args:
            name: the entry.
            dtypes: the dtypes allowed, in any byte order; None: any dtype that holds no Python
                objects. An object array is never read: it would need pickle.
            max_bytes: the largest entry allowed; None: only the file's own bound.

        Raises:
            LoadError: the entry is larger than ``max_bytes``, not an ``.npy`` array, of another
                dtype, not exactly its header and data, or damaged (its CRC-32 fails).
        """
        entry = self.size(name)
        if max_bytes is not None and entry > max_bytes:
            raise LoadError(
                f"entry {_shown(name)} holds {entry:,} bytes, more than the "
                f"{max_bytes / 2**20:g} MiB it may"
            )
        try:
            with self.open(name) as stream:
                header, dtype, shape, fortran = _npy_header(stream, _shown(name), entry)
                _check_dtype(dtype, dtypes, _shown(name))
                data = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if header + data != entry:
                    more = entry - header - data
                    raise LoadError(
                        f"entry {_shown(name)} holds {abs(more):,} bytes "
                        f"{'more' if more > 0 else 'less'} than its .npy header says "
                        f"(dtype {dtype}, shape {shape})"
                    )
                array = np.empty(shape[::-1] if fortran else shape, dtype.newbyteorder("="))
                _fill(array, stream, _shown(name))
                if stream.read(1):  # cannot happen, sizes were checked: it ends the CRC check
                    raise LoadError(f"entry {_shown(name)} is longer than its record")
        except LoadError:
            raise
        except Exception as error:  # the CRC check, a truncated file: damage
            raise _damaged(error) from error
        if not dtype.isnative:
            array.byteswap(inplace=True)
        return array.T if fortran else array


@contextlib.contextmanager
def open_archive(path: str, kind: str) -> Iterator[Archive]:
    """``path`` as a checked :class:`Archive`, closed on leaving the ``with`` block; ``kind`` is
    what it should be, for messages ("an .npz archive")."""
    with (
        open_regular_file(path) as file,
        Archive(file, os.fstat(file.fileno()).st_size, kind) as archive,
    ):
        yield archive


def _check_dtype(dtype: np.dtype[Any], dtypes: Collection[np.dtype[Any]] | None, name: str) -> None:
    if dtype.hasobject:
        raise LoadError(
            f"entry {name} is an object array ({dtype}): those are never read, they need pickle"
        )
    if dtypes is not None and dtype.newbyteorder("=") not in dtypes:
        allowed = " or ".join(str(allowed) for allowed in dtypes)
        raise LoadError(f"entry {name} is {dtype.newbyteorder('=')}, not {allowed}")


def _shown(name: str) -> str:
    """An entry's name as messages show it: the array's name, ``'param:0.weight'``."""
    return repr(name.removesuffix(".npy"))


def _damaged(error: Exception) -> LoadError:
    return LoadError(f"the archive is damaged ({type(error).__name__}: {error})")


def _directory_size(file: BinaryIO, size: int) -> int:
    """The size of the zip's central directory, from its end record (0 when there is none:
    zipfile then reports the damage)."""
    tail_size = min(size, _END.size + 0xFFFF)  # the end record, and a comment of at most 64 KiB
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        return 0
    directory = _END.unpack_from(tail, at)[5]
    if directory != 0xFFFFFFFF:
        return int(directory)
    locator = at - _ZIP64_LOCATOR.size  # a zip64 archive: its own end record says
    if locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
        return 0
    offset = _ZIP64_LOCATOR.unpack_from(tail, locator)[2]
    file.seek(offset)
    record = file.read(_ZIP64_END.size)
    if len(record) < _ZIP64_END.size or record[:4] != b"PK\x06\x06":
        return 0
    return int(_ZIP64_END.unpack(record)[8])


def _npy_header(
    stream: IO[bytes], name: str, entry: int
) -> tuple[int, np.dtype[Any], tuple[int, ...], bool]:
    """Read the ``.npy`` header: its length in bytes, the dtype, the shape, Fortran order."""
    magic = stream.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise LoadError(f"entry {name} is not a .npy array")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0)):
        raise LoadError(f"entry {name}: .npy version {version[0]}.{version[1]}, not 1.0 or 2.0")
    width = 2 if version == (1, 0) else 4
    length_bytes = stream.read(width)
    length = int.from_bytes(length_bytes, "little")
    if len(length_bytes) < width or length > MAX_NPY_HEADER_BYTES or 8 + width + length > entry:
        raise LoadError(f"entry {name}: a .npy header of {length:,} bytes does not fit")
    text = stream.read(length)
    reader = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    try:
        shape, fortran, dtype = reader(io.BytesIO(length_bytes + text))
    except Exception as error:  # numpy's parser of the header text: a damaged header
        raise LoadError(f"entry {name}: a damaged .npy header ({error})") from error
    return 8 + width + length, dtype, tuple(shape), bool(fortran)


def _fill(array: np.ndarray[Any, Any], stream: IO[bytes], name: str) -> None:
    """Read ``array.nbytes`` bytes from ``stream`` into ``array``, a chunk at a time."""
    view = array.reshape(-1).view(np.uint8).data  # a view: filling it fills the array
    done = 0
    while done < len(view):
        chunk = stream.read(min(_CHUNK_BYTES, len(view) - done))
        if not chunk:
            raise LoadError(f"entry {name} ends {len(view) - done:,} bytes early")
        view[done : done + len(chunk)] = chunk
        done += len(chunk)
