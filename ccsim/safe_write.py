"""Writing outputs without ever losing a file that ccsim did not write.

Planners point ccsim at their own folders, so every output path is checked before any
work starts, and only ccsim's own outputs are ever replaced:

* A folder output (results of ``run --out`` and :func:`ccsim.write_results`, charts of
  ``--figures``) may be new, an empty folder, or a folder ccsim wrote itself: it carries
  the marker file :data:`MARKER` and holds nothing ccsim did not write. Results may be the
  outcome of hours of simulation, so replacing them also needs ``force``; charts are
  redrawn from results in seconds and are replaced without. Refused always: a file, a
  folder of other files, the current folder or one that contains it, the folder of an
  input (the scenario) or one that contains it.
* A file output (HTML report, JUnit XML) may be new or replace a file whose first bytes
  carry ccsim's signature (:data:`HTML_SIGNATURE`, :data:`JUNIT_SIGNATURE`).

Everything is written to a sibling named ``.NAME.ccsim-staging-PID-XXXXXXXX`` (folders) or
``.NAME.ccsim-tmp-PID-XXXXXXXX`` (files) and renamed into place at the end. Replacing a
folder renames the old one aside (``.NAME.ccsim-old-PID-XXXXXXXX``), moves the new one in,
then deletes the old one, so a crash never leaves neither. The next write to the same
target tidies what a killed writer left: it puts an old folder back if the target is
missing, and deletes the rest, but only entries with ccsim's naming whose process is dead
and (folders) that carry the marker or are empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccsim import __version__

#: The file that makes a folder recognisable as written by ccsim.
MARKER = ".ccsim-output"
#: Version of the marker's JSON content.
MARKER_FORMAT = 1
#: In the head of every HTML page ccsim writes (followed by the version and ``">``).
HTML_SIGNATURE = '<meta name="generator" content="ccsim'
#: A comment before the root element of every JUnit file ccsim writes.
JUNIT_SIGNATURE = "<!-- generator: ccsim"
#: Bytes read from an existing file to look for a signature (never the whole file).
SIGNATURE_BYTES = 8192
#: Files an operating system drops into folders by itself; not the user's work.
SYSTEM_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

_LEFTOVER = re.compile(r"(staging|old|tmp)-(\d+)-[0-9a-z_]+")


class OutputRefused(ValueError):
    """An output path ccsim will not write to: ``reason`` says why, ``remedy`` what to do."""

    def __init__(self, path: str | Path, reason: str, remedy: str) -> None:
        self.path = Path(path)
        self.reason = reason
        self.remedy = remedy
        super().__init__(f"{path}: {reason}; {remedy}")


@dataclass(frozen=True)
class FolderKind:
    """What a folder output holds, and whether replacing it needs ``force``."""

    name: str
    noun: str
    needs_force: bool


@dataclass(frozen=True)
class FileKind:
    """What a file output is, and the signature that marks it as ccsim's."""

    name: str
    noun: str
    signature: str
    example: str


RESULTS = FolderKind("results", "ccsim results", needs_force=True)
FIGURES = FolderKind("figures", "ccsim charts", needs_force=False)
REPORT = FileKind("report", "an HTML report", HTML_SIGNATURE, "report.html")
JUNIT = FileKind("junit", "a JUnit report", JUNIT_SIGNATURE, "ccsim-check.xml")


def html_generator_tag() -> str:
    """The ``<meta>`` tag that marks an HTML page as ccsim's (see :data:`HTML_SIGNATURE`)."""
    return f'{HTML_SIGNATURE} {__version__}">'


def junit_generator_comment() -> str:
    """The comment that marks a JUnit file as ccsim's (see :data:`JUNIT_SIGNATURE`)."""
    return f"{JUNIT_SIGNATURE} {__version__} (JUnit report of ccsim check) -->"


# --------------------------------------------------------------------------- recognising


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a folder ccsim wrote, or None (no marker, or not one of ccsim's)."""
    marker = Path(folder) / MARKER
    try:
        if not marker.is_file() or marker.is_symlink() or marker.stat().st_size > 65536:
            return None
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or not isinstance(content.get("ccsim_output"), str):
        return None
    return content


def has_signature(path: str | Path, signature: str) -> bool:
    """Whether the first bytes of a regular file hold ``signature``."""
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as handle:
            return signature.encode() in handle.read(SIGNATURE_BYTES)
    except OSError:
        return False


def foreign_entries(folder: str | Path, marker: dict[str, Any], depth: int = 0) -> list[str]:
    """Names in a ccsim folder that ccsim did not write: neither listed in its marker, nor
    a page ccsim wrote (``report.html`` next to results), nor a ccsim folder itself."""
    folder = Path(folder)
    listed = marker.get("files")
    own = {str(name) for name in listed} if isinstance(listed, list) else set()
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name == MARKER or entry.name in SYSTEM_LITTER:
            continue
        if entry.is_file(follow_symlinks=False):
            if entry.name in own or (
                entry.name.endswith(".html") and has_signature(path, HTML_SIGNATURE)
            ):
                continue
        elif entry.is_dir(follow_symlinks=False) and depth < 3:
            inner = read_marker(path)
            if inner is not None and not foreign_entries(path, inner, depth + 1):
                continue
        foreign.append(entry.name)
    return foreign


# --------------------------------------------------------------------------- checking


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_writable(path: str | Path) -> None:
    """Raise :class:`OutputRefused` unless ``path`` can be created: its first existing
    ancestor must be a folder where this process can create files (tried, not guessed
    from permission bits, which say nothing for root or on read-only mounts)."""
    path = Path(path)
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():  # a dangling link: mkdir would fail on it
            raise OutputRefused(
                path, f"{ancestor} is a broken symbolic link", "give a path in an existing folder"
            )
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputRefused(
            path,
            f"{ancestor} is a file, so nothing can be written under it",
            "give a path in a folder",
        )
    try:
        handle, probe = tempfile.mkstemp(
            prefix=f".{path.name}.ccsim-tmp-{os.getpid()}-", dir=ancestor
        )
    except OSError as error:
        raise OutputRefused(
            path,
            f"cannot create files in {ancestor} ({error.strerror or error})",
            "give a path in a folder you can write to",
        ) from None
    os.close(handle)
    os.unlink(probe)


def _check_not_an_input(path: Path, inputs: Iterable[str | Path], kind: str) -> None:
    resolved = path.resolve()
    here = Path.cwd().resolve()
    if kind == "folder" and _is_within(here, resolved):
        what = "the current folder" if resolved == here else "a folder that holds the current one"
        raise OutputRefused(
            path, f"is {what}", "give a new folder name, e.g. results/ (ccsim writes it whole)"
        )
    for given in inputs:
        source = Path(given).resolve()
        if resolved == source:
            raise OutputRefused(
                path, "is the input of this command", "give another name for the output"
            )
        if kind == "folder" and _is_within(source.parent, resolved):
            raise OutputRefused(
                path,
                f"holds the input {given}; ccsim never replaces the folder of its own input",
                f"give a new folder, e.g. {path / 'results'}",
            )


def check_folder_output(
    path: str | Path,
    kind: FolderKind = RESULTS,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    force_hint: str = "force=True",
) -> Path:
    """Raise :class:`OutputRefused` unless a ``kind`` folder may be written at ``path``.

    Also tidies what a killed earlier write to ``path`` left behind. ``force_hint`` is how
    the caller's user says force (``--force`` on the command line).
    """
    path = Path(path)
    _check_not_an_input(path, inputs, "folder")
    if path.name in ("", ".", ".."):  # name the folder itself, for the staging sibling
        path = Path(os.path.normpath(path.absolute()))
    clean_leftovers(path)
    if path.is_symlink():
        raise OutputRefused(
            path, "is a symbolic link", "give the folder it points to, or a new folder name"
        )
    if path.exists():
        if not path.is_dir():
            raise OutputRefused(
                path, "is a file, not a folder", "give a folder name that does not exist yet"
            )
        if any(True for _ in os.scandir(path)):
            _check_replaceable(path, kind, force, force_hint)
    check_writable(path)
    return path


def _check_replaceable(path: Path, kind: FolderKind, force: bool, force_hint: str) -> None:
    marker = read_marker(path)
    if marker is None:
        raise OutputRefused(
            path,
            f"is a folder that ccsim did not write (it has no {MARKER} marker) and it is not empty",
            "give a new folder name; ccsim replaces only folders it wrote itself (results "
            "of an older ccsim have no marker: delete them yourself if you mean to)",
        )
    if marker["ccsim_output"] != kind.name:
        raise OutputRefused(
            path,
            f"holds ccsim {marker['ccsim_output']}, not {kind.name}",
            "give another folder name",
        )
    foreign = foreign_entries(path, marker)
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise OutputRefused(
            path,
            f"holds {kind.noun} but also files ccsim did not write ({shown})",
            "move those out first, or give another folder name",
        )
    if kind.needs_force and not force:
        raise OutputRefused(
            path,
            f"holds {kind.noun} from an earlier run",
            f"add {force_hint} to replace them, or give another folder name",
        )


def check_file_output(
    path: str | Path, kind: FileKind, *, inputs: Iterable[str | Path] = ()
) -> Path:
    """Raise :class:`OutputRefused` unless a ``kind`` file may be written at ``path``:
    new, or replacing a file with ccsim's signature."""
    path = Path(path)
    if path.name in ("", ".", "..") or path.is_dir():
        raise OutputRefused(path, "is a folder", f"give a file name, e.g. {path / kind.example}")
    _check_not_an_input(path, inputs, "file")
    clean_leftovers(path)
    if path.is_symlink():
        raise OutputRefused(path, "is a symbolic link", "give the file it points to, or a new name")
    if path.exists():
        if not path.is_file():
            raise OutputRefused(
                path,
                "is not a regular file (a device, pipe or socket)",
                "give the name of a new file",
            )
        if not has_signature(path, kind.signature):
            raise OutputRefused(
                path,
                f"exists and is not {kind.noun} written by ccsim",
                f"ccsim replaces only its own files: give another name or move {path} away",
            )
    check_writable(path)
    return path


# --------------------------------------------------------------------------- writing


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_leftovers(path: str | Path) -> None:
    """Tidy what killed writes to ``path`` left: restore an old folder set aside if
    ``path`` is missing, delete the rest. Only ccsim's names, dead processes, marked or
    empty folders."""
    path = Path(path)
    parent = path.absolute().parent
    prefix = f".{path.name}.ccsim-"
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(prefix)]
    except OSError:
        return
    leftovers = []
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name[len(prefix) :])
        if match is None or _alive(int(match[2])):
            continue
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        leftovers.append((match[1], -mtime, Path(entry.path)))
    for what, _newest_first, leftover in sorted(leftovers, key=lambda item: item[1]):
        with contextlib.suppress(OSError):
            if what == "tmp":
                if leftover.is_file() and not leftover.is_symlink():
                    leftover.unlink()
                continue
            if leftover.is_symlink() or not leftover.is_dir():
                continue
            if read_marker(leftover) is None and any(True for _ in os.scandir(leftover)):
                continue  # not recognisably ccsim's: leave it alone
            if what == "old" and not os.path.lexists(path):
                os.rename(leftover, path)  # the crash came between the two renames
            else:
                shutil.rmtree(leftover)


def _write_marker(folder: Path, kind: FolderKind, files: list[str]) -> None:
    content = {
        "ccsim_output": kind.name,
        "format": MARKER_FORMAT,
        "ccsim": __version__,
        "files": files,
    }
    (folder / MARKER).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")


def _shared_mode(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp make private entries; outputs are for sharing, as umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if directory else 0o666) & ~umask)


@contextlib.contextmanager
def staged_folder(
    path: str | Path,
    kind: FolderKind = RESULTS,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    force_hint: str = "force=True",
) -> Iterator[Path]:
    """Yield an empty staging folder to fill; on success it replaces ``path`` (checked with
    :func:`check_folder_output` first), on any error it is deleted and ``path`` untouched."""
    path = check_folder_output(path, kind, force=force, inputs=inputs, force_hint=force_hint)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{path.name}.ccsim-staging-{os.getpid()}-", dir=path.parent)
    )
    try:
        _shared_mode(staging, directory=True)
        _write_marker(staging, kind, [])
        yield staging
        _write_marker(staging, kind, sorted(p.name for p in staging.iterdir() if p.name != MARKER))
        # Check again: the target may have changed while the simulation ran.
        check_folder_output(path, kind, force=force, inputs=inputs, force_hint=force_hint)
        _move_in(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_in(staging: Path, path: Path) -> None:
    """Rename ``staging`` to ``path``; a folder there is set aside first and deleted last."""
    if not os.path.lexists(path) or not any(True for _ in os.scandir(path)):
        os.rename(staging, path)  # fails if something non-empty appeared there meanwhile
        return
    old = path.with_name(f".{path.name}.ccsim-old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(path, old)
    try:
        os.rename(staging, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_file(
    path: str | Path, data: str | bytes, kind: FileKind, *, inputs: Iterable[str | Path] = ()
) -> Path:
    """Write one file whole (temporary sibling, then rename), after :func:`check_file_output`."""
    path = check_file_output(path, kind, inputs=inputs)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{path.name}.ccsim-tmp-{os.getpid()}-", dir=path.parent
    )
    staging = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        _shared_mode(staging, directory=False)
        check_file_output(path, kind, inputs=inputs)  # it may have changed meanwhile
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise
    return path


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def exclusive_lock(target: str | Path, doing: str = "writing") -> Iterator[None]:
    """Hold an exclusive lock on ``target`` (through ``.NAME.ccsim-lock`` beside it), or
    raise :class:`OutputRefused` at once if another process holds it.

    The lock file is removed on release; one left by a killed process is simply reused.
    Without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    target = Path(target)
    lock_path = target.with_name(f".{target.name}.ccsim-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise OutputRefused(
                target,
                f"another ccsim process is {doing} it",
                "wait for it to finish (or stop it), or give another file",
            ) from None
        # The holder before us may have removed the file between our open and our lock.
        try:
            current = os.path.samestat(os.fstat(handle), os.stat(lock_path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(handle)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(handle)


__all__ = [
    "FIGURES",
    "HTML_SIGNATURE",
    "JUNIT",
    "JUNIT_SIGNATURE",
    "MARKER",
    "REPORT",
    "RESULTS",
    "FileKind",
    "FolderKind",
    "OutputRefused",
    "check_file_output",
    "check_folder_output",
    "check_writable",
    "clean_leftovers",
    "exclusive_lock",
    "foreign_entries",
    "html_generator_tag",
    "junit_generator_comment",
    "read_marker",
    "staged_folder",
    "write_file",
]
