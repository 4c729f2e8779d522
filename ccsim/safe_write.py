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
* A file output (HTML report, JUnit XML) may be new or replace a file that *starts*
  with the document head ccsim writes (:func:`html_document_head`,
  :func:`junit_document_head`); a file that merely mentions ccsim is not ccsim's.

A folder's marker records the SHA-256 of every file ccsim wrote into it (and of a page
written into it later); only files whose content still has that hash count as ccsim's,
so a forged or stale marker never makes a user's file deletable. Regular files named
like operating-system litter (:data:`SYSTEM_LITTER`) are ignored and kept.

Everything is written to a sibling named ``.NAME.ccsim-staging-PID-XXXXXXXX`` (folders) or
``.NAME.ccsim-tmp-PID-XXXXXXXX`` (files) and renamed into place at the end (a long NAME
is replaced by a hash of it, so any name the OS accepts works). Replacing a
folder renames the old one aside (``.NAME.ccsim-old-PID-XXXXXXXX``), moves the new one in,
then deletes the old one, so a crash never leaves neither. The next write to the same
target tidies what a killed writer left: it puts an old folder back if the target is
missing, and deletes the rest, but only entries with ccsim's naming whose process is dead
and (folders) that carry the marker or are empty.
"""

from __future__ import annotations

import contextlib
import hashlib
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
#: Version of the marker's JSON content (2: ``files`` maps each name to its SHA-256).
MARKER_FORMAT = 2
#: In the head of every HTML page ccsim writes (followed by the version and ``">``).
HTML_SIGNATURE = '<meta name="generator" content="ccsim'
#: A comment before the root element of every JUnit file ccsim writes.
JUNIT_SIGNATURE = "<!-- generator: ccsim"
#: Bytes read from an existing file to recognise its head (never the whole file).
SIGNATURE_BYTES = 8192
#: Regular files an operating system drops into folders by itself; not the user's work.
SYSTEM_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
#: The start of every HTML page ccsim writes, up to the generator tag.
HTML_HEAD = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
)
#: The XML declaration every JUnit file ccsim writes starts with.
XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
#: Names longer than this (in bytes) are hashed in the names of ccsim's sibling entries.
LONG_NAME_BYTES = 100

_LEFTOVER = re.compile(r"(staging|old|tmp)-(\d+)-[0-9a-z_]+")
_VERSION = rb"[0-9A-Za-z.+!_-]{1,64}"
_HTML_HEAD = re.compile(
    re.escape(HTML_HEAD.encode() + HTML_SIGNATURE.encode()) + rb" " + _VERSION + rb'">\n'
)
_JUNIT_HEAD = re.compile(
    re.escape(XML_DECLARATION.encode() + JUNIT_SIGNATURE.encode())
    + rb" "
    + _VERSION
    + re.escape(b" (JUnit report of ccsim check) -->\n")
)


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
    head: re.Pattern[bytes]
    example: str


RESULTS = FolderKind("results", "ccsim results", needs_force=True)
FIGURES = FolderKind("figures", "ccsim charts", needs_force=False)
REPORT = FileKind("report", "an HTML report", _HTML_HEAD, "report.html")
JUNIT = FileKind("junit", "a JUnit report", _JUNIT_HEAD, "ccsim-check.xml")


def html_generator_tag() -> str:
    """The ``<meta>`` tag that marks an HTML page as ccsim's (see :data:`HTML_SIGNATURE`)."""
    return f'{HTML_SIGNATURE} {__version__}">'


def junit_generator_comment() -> str:
    """The comment that marks a JUnit file as ccsim's (see :data:`JUNIT_SIGNATURE`)."""
    return f"{JUNIT_SIGNATURE} {__version__} (JUnit report of ccsim check) -->"


def html_document_head() -> str:
    """How every HTML page ccsim writes starts; an existing page is replaced only if it
    starts so (with any version)."""
    return f"{HTML_HEAD}{html_generator_tag()}\n"


def junit_document_head() -> str:
    """How every JUnit file ccsim writes starts: declaration, then ccsim's comment."""
    return f"{XML_DECLARATION}{junit_generator_comment()}\n"


def sibling_prefix(path: str | Path) -> str:
    """``.NAME.ccsim-``: how the names of ccsim's entries beside ``path`` start (staging,
    set-aside, temporary and lock entries). A long NAME is replaced by a hash of it, so
    that these names stay within the file system's limit when NAME does."""
    name = Path(path).name
    if len(name.encode("utf-8", "surrogateescape")) > LONG_NAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        name = f"long-{digest}"
    return f".{name}.ccsim-"


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


def is_own_file(path: str | Path, kind: FileKind) -> bool:
    """Whether a regular file starts with the document head ccsim writes for ``kind``."""
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as handle:
            return kind.head.match(handle.read(SIGNATURE_BYTES)) is not None
    except OSError:
        return False


def file_hash(path: str | Path) -> str:
    """The SHA-256 of a file's content, as the marker records it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _recorded_hashes(marker: dict[str, Any]) -> dict[str, str]:
    """The marker's ``files``: name -> SHA-256 (a marker without hashes proves nothing)."""
    files = marker.get("files")
    if not isinstance(files, dict):
        return {}
    return {str(k): v for k, v in files.items() if isinstance(v, str)}


def is_litter(entry: os.DirEntry[str]) -> bool:
    """A regular file an operating system drops into folders (never a folder or a link)."""
    return entry.name in SYSTEM_LITTER and entry.is_file(follow_symlinks=False)


def foreign_entries(folder: str | Path, marker: dict[str, Any], depth: int = 0) -> list[str]:
    """Names in a ccsim folder that ccsim did not write: files whose content does not have
    the SHA-256 the marker records for them, and folders that are not ccsim folders
    holding only ccsim's files. Operating-system litter files are not counted."""
    folder = Path(folder)
    own = _recorded_hashes(marker)
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if (entry.name == MARKER and entry.is_file(follow_symlinks=False)) or is_litter(entry):
            continue
        if entry.is_file(follow_symlinks=False):
            try:
                if entry.name in own and file_hash(path) == own[entry.name]:
                    continue
            except OSError:
                pass
        elif entry.is_dir(follow_symlinks=False) and depth < 3:
            inner = read_marker(path)
            if inner is not None and not foreign_entries(path, inner, depth + 1):
                continue
        foreign.append(entry.name)
    return foreign


# --------------------------------------------------------------------------- checking


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def output_path(path: str | Path) -> Path:
    """``path`` as ccsim writes it: ``..`` in the part that does not exist yet is taken
    away (``x/../res`` is ``res`` when there is no ``x``), so no folder the path merely
    passes through is created. A path without such a part is returned as given."""
    path = Path(path)
    existing, tail = path.absolute(), []
    while not os.path.lexists(existing) and existing != existing.parent:
        tail.append(existing.name)
        existing = existing.parent
    if ".." not in tail:
        return path
    return existing / os.path.normpath(os.path.join(*reversed(tail)))


def make_parents(path: str | Path) -> list[Path]:
    """Create the missing folders above ``path``; return them (outermost first) so that
    a failed write can take them away again (:func:`remove_made`)."""
    missing = []
    parent = Path(path).absolute().parent
    while not os.path.lexists(parent) and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    made = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            made.append(folder)
    except BaseException:
        remove_made(made)
        raise
    return made


def remove_made(made: list[Path]) -> None:
    """Remove folders :func:`make_parents` created, innermost first, if still empty."""
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_writable(path: str | Path) -> None:
    """Raise :class:`OutputRefused` unless ``path`` can be created: its first existing
    ancestor must be a folder where this process can create files (tried, not guessed
    from permission bits, which say nothing for root or on read-only mounts)."""
    path = output_path(path)
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
            prefix=f"{sibling_prefix(path)}tmp-{os.getpid()}-", dir=ancestor
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
    path = output_path(path)
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
            "move those out first, or give another folder name (a file ccsim wrote counts "
            "as its own only while its content is unchanged)",
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
    new, or replacing a file that starts with the head ccsim writes for ``kind``."""
    path = output_path(path)
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
        if not is_own_file(path, kind):
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
    prefix = sibling_prefix(path)
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
            marker = read_marker(leftover)
            if marker is None and any(True for _ in os.scandir(leftover)):
                continue  # not recognisably ccsim's: leave it alone
            if what == "old" and marker is not None and foreign_entries(leftover, marker):
                continue  # a complete marker that does not vouch for every file
            if what == "old" and not os.path.lexists(path):
                os.rename(leftover, path)  # the crash came between the two renames
            else:
                shutil.rmtree(leftover)


def _write_marker(folder: Path, kind: FolderKind, files: dict[str, str]) -> None:
    content = {
        "ccsim_output": kind.name,
        "format": MARKER_FORMAT,
        "ccsim": __version__,
        "files": files,
    }
    (folder / MARKER).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")


def _hashes_of(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every regular file ccsim wrote into a staging folder."""
    return {
        entry.name: file_hash(entry.path)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name)
        if entry.name != MARKER and entry.is_file(follow_symlinks=False)
    }


def _record_in_marker(path: Path) -> None:
    """A file written into a ccsim folder (a page beside results) is recorded in its
    marker with its hash, so that replacing the folder knows it for ccsim's."""
    folder = path.absolute().parent
    marker = read_marker(folder)
    if marker is None or marker.get("format") != MARKER_FORMAT:
        return
    files = _recorded_hashes(marker)
    files[path.name] = file_hash(path)
    marker["files"] = files
    with contextlib.suppress(OSError):
        (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


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
    :func:`check_folder_output` first), on any error it is deleted and ``path`` untouched
    (folders created above it are removed again)."""
    path = check_folder_output(path, kind, force=force, inputs=inputs, force_hint=force_hint)
    made = make_parents(path)
    try:
        staging = Path(
            tempfile.mkdtemp(
                prefix=f"{sibling_prefix(path)}staging-{os.getpid()}-", dir=path.parent
            )
        )
    except BaseException:
        remove_made(made)
        raise
    try:
        _shared_mode(staging, directory=True)
        _write_marker(staging, kind, {})
        yield staging
        _write_marker(staging, kind, _hashes_of(staging))
        # Check again: the target may have changed while the simulation ran.
        check_folder_output(path, kind, force=force, inputs=inputs, force_hint=force_hint)
        _move_in(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        remove_made(made)
        raise


def _move_in(staging: Path, path: Path) -> None:
    """Rename ``staging`` to ``path``; a folder there is set aside first and deleted last
    (operating-system litter files in it are moved into the new folder, not deleted)."""
    if not os.path.lexists(path) or not any(True for _ in os.scandir(path)):
        os.rename(staging, path)  # fails if something non-empty appeared there meanwhile
        return
    old = path.with_name(f"{sibling_prefix(path)}old-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(path, old)
    try:
        os.rename(staging, path)
    except BaseException:
        os.rename(old, path)
        raise
    for entry in list(os.scandir(old)):
        if is_litter(entry) and not os.path.lexists(path / entry.name):
            with contextlib.suppress(OSError):
                os.rename(entry.path, path / entry.name)
    shutil.rmtree(old, ignore_errors=True)


def write_file(
    path: str | Path, data: str | bytes, kind: FileKind, *, inputs: Iterable[str | Path] = ()
) -> Path:
    """Write one file whole (temporary sibling, then rename), after :func:`check_file_output`."""
    path = check_file_output(path, kind, inputs=inputs)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    made = make_parents(path)
    try:
        handle, name = tempfile.mkstemp(
            prefix=f"{sibling_prefix(path)}tmp-{os.getpid()}-", dir=path.parent
        )
    except BaseException:
        remove_made(made)
        raise
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
        remove_made(made)
        raise
    _record_in_marker(path)
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
    target = output_path(target)
    lock_path = target.with_name(f"{sibling_prefix(target)}lock")
    made = make_parents(lock_path)
    while True:
        try:
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except BaseException:
            remove_made(made)
            raise
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            remove_made(made)
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
        remove_made(made)  # folders made for the lock, if nothing was written in them


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
    "file_hash",
    "foreign_entries",
    "html_document_head",
    "html_generator_tag",
    "is_own_file",
    "junit_document_head",
    "junit_generator_comment",
    "make_parents",
    "output_path",
    "read_marker",
    "remove_made",
    "sibling_prefix",
    "staged_folder",
    "write_file",
]
