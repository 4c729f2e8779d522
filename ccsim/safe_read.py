"""Reading the files ccsim is given without ever hanging, or reading without bound.

Planners point ccsim at their own folders, so every file it reads (a scenario, an
empirical CSV, the files of a results folder) is opened without blocking, checked to be
a regular file (not a FIFO, a device such as ``/dev/zero``, or a folder) and read with a
size cap. Data files named inside a scenario are read from the scenario's folder only,
unless the user allows otherwise: a shared scenario must not make ccsim read files
elsewhere on the machine. Messages say what is wrong with a file, never what it holds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def format_bytes(size: int) -> str:
    """``4194304`` -> ``4 MB``: sizes and limits as people read them."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


class FileProblem(ValueError):
    """A file cannot be read as asked; the message says why (never what the file holds)."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse_special(mode: int, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise FileProblem(f"is a folder, not {what}")
    if not stat.S_ISREG(mode):
        raise FileProblem(f"is {_kind(mode)}, not {what} (give a regular file)")


def _too_large(size: int, limit: int, what: str) -> FileProblem:
    return FileProblem(
        f"is larger than {format_bytes(limit)}, the most {what} may have "
        f"(it has {format_bytes(size)})"
    )


def read_bytes(path: str | Path, limit: int, what: str = "a file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Opened with ``O_NONBLOCK`` so a FIFO without a writer cannot block, checked on the
    open descriptor (no race with a swapped path), and read no further than the cap.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileProblem("file not found") from None
    except IsADirectoryError:
        raise FileProblem(f"is a folder, not {what}") from None
    except PermissionError:
        raise FileProblem("permission denied") from None
    except OSError as error:
        raise FileProblem(f"cannot open it: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        _refuse_special(info.st_mode, what)
        if info.st_size > limit:
            raise _too_large(info.st_size, limit, what)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise _too_large(size, limit, what)
        return b"".join(chunks)
    except IsADirectoryError:
        raise FileProblem(f"is a folder, not {what}") from None
    except OSError as error:
        raise FileProblem(f"cannot read it: {error.strerror or error}") from None
    finally:
        os.close(fd)


def decode_text(data: bytes, what: str = "a text file") -> str:
    """UTF-8 text (a byte-order mark is dropped); binary data is refused."""
    if b"\x00" in data:
        raise FileProblem(f"is a binary file, not {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(f"is not UTF-8 text, so not {what}") from None


def read_text(path: str | Path, limit: int, what: str = "a text file") -> str:
    """:func:`read_bytes`, then :func:`decode_text`."""
    return decode_text(read_bytes(path, limit, what), what)


def check_regular_file(path: str | Path, limit: int, what: str = "a file") -> int:
    """Refuse anything but a regular file of at most ``limit`` bytes; return its size.

    For files handed to a reader that takes a path (pandas), after which only a file
    swapped in between the two calls could differ.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileProblem("file not found") from None
    except OSError as error:
        raise FileProblem(f"cannot read it: {error.strerror or error}") from None
    _refuse_special(info.st_mode, what)
    if info.st_size > limit:
        raise _too_large(info.st_size, limit, what)
    return info.st_size


def data_path(base_dir: str | Path, written: str, allow_outside: bool = False) -> Path:
    """The file a scenario names (``csv: data/handle.csv``), inside the scenario's folder.

    Relative paths are read from ``base_dir``. A path that leaves it (absolute, ``..``,
    or a symbolic link pointing elsewhere) is refused unless ``allow_outside``.
    """
    if not written.strip():
        raise FileProblem("the path is empty")
    if "\x00" in written:
        raise FileProblem("the path contains a NUL character")
    base = Path(base_dir)
    candidate = base / written  # an absolute ``written`` replaces ``base``
    if allow_outside:
        return candidate
    try:
        folder = base.resolve()
        real = candidate.resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise FileProblem(f"cannot resolve the path: {error}") from None
    if not real.is_relative_to(folder):
        raise FileProblem(
            f"it is outside the scenario's folder ({folder}); data files are read "
            "from that folder and below: move the file there, or allow it with "
            "--allow-outside-data (allow_outside_data=True in Python)"
        )
    return real
