"""Durable appends: one complete line per event, under an exclusive lock.

A session file is opened once (``O_APPEND | O_NOFOLLOW``) and kept open.
Each append takes ``flock(LOCK_EX)``, looks at the file's tail (cached while
nobody else writes), recovers a torn last line if a writer died mid-write,
closes the event with its chain fields and writes it with one ``write``.

Inside a git work tree a session is several files, and ``segments.SegmentedFile``
appends to its open one; everything about segments lives there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import orjson

from sessionlog.core.chain import chain_line, line_digest
from sessionlog.core.paths import RECOVERED_DIR
from sessionlog.errors import StorageError

_CHUNK = 1 << 16

RecoveryEncoder = Callable[[str, dict[str, object]], bytes]
"""Given the session id and facts about a recovered torn tail, return the encoded ``error`` event."""


class _Tail(NamedTuple):
    size: int
    seq: int
    digest: str | None


class AppendError(StorageError):
    """The file system refused the append; the file is as it was."""


class SessionFile:
    """An open session file that appends chained lines under ``flock`` on the file itself
    (``segments.SegmentedFile`` appends to a session's open segment inside a git work tree)."""

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path  # <folder>/<id>.jsonl (inside a work tree: the first segment)
        self.live = path  # the file appended to
        self.session_id = session_id
        self.top: Path | None = None  # the work tree the file is in: no folder below it may be a link
        self._fd = -1
        self._pid = -1
        self._tail: _Tail | None = None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._tail = None

    def append(self, bodies: list[bytes], fsync: bool, recovery: RecoveryEncoder) -> int:
        """Append each encoded event of *bodies* (without chain fields); return the last seq."""
        fd, size_now = self._locked_fd()
        try:
            return self._write_lines(fd, size_now, bodies, fsync, recovery)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _write_lines(self, fd: int, size_now: int, bodies: list[bytes], fsync: bool, recovery: RecoveryEncoder) -> int:
        tail = self._tail
        if tail is not None and tail.size == size_now:
            size, seq, digest = tail  # nobody else wrote since our last append
        else:
            size, seq, digest = self._tail_state(fd, size_now, recovery)
        return self._write_chained(fd, size, seq, digest, bodies, fsync)

    def _write_chained(self, fd: int, size: int, seq: int, digest: str | None, bodies: list[bytes], fsync: bool) -> int:
        lines = []
        for body in bodies:
            seq += 1
            line = chain_line(body, seq, digest)
            digest = line_digest(line)
            lines.append(line)
        chunk = lines[0] if len(lines) == 1 else b"".join(lines)
        self._write(fd, chunk, size)
        if fsync:
            os.fsync(fd)
        self._tail = _Tail(size + len(chunk), seq, digest)
        return seq

    def _locked_fd(self) -> tuple[int, int]:
        """Lock the open file and return ``(fd, size)``."""
        while True:
            self._drop_if_forked()
            if self._fd < 0:
                self._open(self.live, os.O_CREAT)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            st = os.fstat(self._fd)
            if st.st_nlink > 0:
                return self._fd, st.st_size
            # Archived or replaced while we waited: this inode is no longer the session.
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.close()

    def _descriptors(self) -> list[int]:
        return [self._fd]

    def _drop_if_forked(self) -> None:
        if self._pid != os.getpid() and any(fd >= 0 for fd in self._descriptors()):
            # Inherited through fork: these descriptors share the parent's open file
            # descriptions, and flock() does not exclude between holders of one
            # description. Drop our copies (the parent's stay open) and reopen.
            for fd in self._descriptors():
                if fd >= 0:
                    os.close(fd)
            self._forget_descriptors()
            self._tail = None

    def _forget_descriptors(self) -> None:
        self._fd = -1

    def _open(self, path: Path, create: int) -> None:
        real_folder(path.parent, create=True, top=self.top)
        self._fd = open_regular(path, os.O_RDWR | os.O_APPEND | create)
        self._pid = os.getpid()
        self.live = path
        self._tail = None

    def _tail_state(self, fd: int, size: int, recovery: RecoveryEncoder) -> tuple[int, int, str | None]:
        """Return ``(size, last_seq, last_digest)`` of the appended-to file, recovering a torn tail first."""
        if size == 0:
            return 0, *self._empty_tail()
        keep, facts = self._untorn(fd, size)
        last_seq, digest = read_last(fd, keep)
        if facts is None:
            return size, last_seq, digest
        line = chain_line(recovery(self.session_id, facts), last_seq + 1, digest)
        _replace_tail(self.live, keep, line)
        return keep + len(line), last_seq + 1, line_digest(line)

    def _empty_tail(self) -> tuple[int, str | None]:
        """``(seq, digest)`` an empty file goes on from: nothing, for a plain session file."""
        return 0, None

    def _untorn(self, fd: int, size: int) -> tuple[int, dict[str, object] | None]:
        """If the file does not end in a newline, save the bytes after the last one aside.

        Return where the torn bytes start and, when there are some, the facts the recovery
        event records. The file is not changed here: ``_replace_tail`` puts the recovery
        event over the torn bytes, so no crash leaves the file without a record of them.
        """
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return size, None
        keep = line_start(fd, size)
        torn = os.pread(fd, size - keep, keep)
        saved = (
            self.path.parent
            / RECOVERED_DIR
            / f"{self.session_id}.offset-{keep}.{hashlib.sha256(torn).hexdigest()[:16]}.torn"
        )
        real_folder(saved.parent, create=True, top=self.top)
        try:
            out = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            pass  # the same bytes at the same offset were saved by an earlier recovery
        else:
            try:
                write_all(out, torn)
                os.fsync(out)
            finally:
                os.close(out)
            fsync_dir(saved.parent)
        return keep, {
            "message": "the last line was incomplete (a writer died mid-append); its bytes were moved aside",
            "offset": keep,
            "length": len(torn),
            "sha256": hashlib.sha256(torn).hexdigest(),
            "saved_to": f"{RECOVERED_DIR}/{saved.name}",
        }

    def _write(self, fd: int, data: bytes, size_before: int) -> None:
        try:
            write_all(fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size_before)  # never leave half a line behind
            self._tail = None
            raise AppendError(f"cannot write to {self.path}: {exc.strerror}") from exc


def read_last(fd: int, size: int) -> tuple[int, str | None]:
    """Return ``(seq, digest)`` of the last complete line of the first *size* bytes."""
    if size == 0:
        return 0, None
    last = last_line(fd, size)
    try:
        seq = orjson.loads(last).get("seq")
    except (orjson.JSONDecodeError, AttributeError):
        seq = None
    if not isinstance(seq, int) or isinstance(seq, bool):
        seq = count_newlines(fd, size)  # legacy or foreign last line: number it by position
    return seq, line_digest(last)


def real_folder(folder: Path, *, create: bool = False, top: Path | None = None) -> Path:
    """*folder*, refused when it is a symlink, or (given *top*, the work tree it is in) when any
    folder between *top* and it is: a link planted in a repository (a committed ``.ai-agents``
    symlink, say) would send writes outside it. With *create*, made (with its parents) when missing."""
    _no_link(folder, top)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        _no_link(folder, top)  # lost a race to a link
    return folder


def _no_link(folder: Path, top: Path | None) -> None:
    chain = [folder]
    if top is not None:
        try:
            relative = Path(os.path.abspath(folder)).relative_to(os.path.abspath(top))
        except ValueError:
            relative = None
        if relative is not None:
            chain = [Path(os.path.abspath(top)).joinpath(*relative.parts[: i + 1]) for i in range(len(relative.parts))]
    for part in chain:
        if part.is_symlink():
            raise AppendError(f"{part} is a symlink; sessionlog never writes through a linked folder")


def open_regular(path: Path, flags: int) -> int:
    """Open *path* without following a symlink; refuse anything but a regular file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AppendError(f"{path} is a symlink; session files are never followed") from exc
        raise AppendError(f"cannot open {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise AppendError(f"{path} is not a regular file")
    return fd


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a created, renamed or removed file) durable."""
    dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _replace_tail(path: Path, keep: int, line: bytes) -> None:
    """Write *line* over the torn bytes from offset *keep* on, then cut what is left after it.

    A kill before the write leaves the torn tail (recovered again on the next open); a
    kill after it leaves the recovery event, at worst followed by the rest of the torn
    bytes, which the next open recovers in turn. The record is never lost.
    """
    fd = open_regular(path, os.O_RDWR)  # not O_APPEND: the line goes where the torn bytes start
    try:
        written = 0
        while written < len(line):
            written += os.pwrite(fd, memoryview(line)[written:], keep + written)
        os.fsync(fd)
        os.ftruncate(fd, keep + len(line))
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written == len(data):
        return  # the usual case: one write, one whole line
    view = memoryview(data)[written:]
    while view:
        written = os.write(fd, view)
        view = view[written:]


def last_line(fd: int, end: int) -> bytes:
    """The line that ends (with its newline) at offset *end*."""
    start = line_start(fd, end - 1)
    return os.pread(fd, end - start, start)


def line_start(fd: int, end: int) -> int:
    """Offset just after the last newline before *end* (0 if there is none)."""
    while end > 0:
        start = max(0, end - _CHUNK)
        block = os.pread(fd, end - start, start)
        found = block.rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def count_newlines(fd: int, size: int) -> int:
    """Newlines in the first *size* bytes of an open file."""
    count = 0
    offset = 0
    while offset < size:
        block = os.pread(fd, min(_CHUNK * 16, size - offset), offset)
        if not block:
            break
        count += block.count(b"\n")
        offset += len(block)
    return count
