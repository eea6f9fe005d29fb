"""Durable appends: one complete line per event, under an exclusive lock.

A session file is opened once (``O_APPEND | O_NOFOLLOW``) and kept open.
Each append takes ``flock(LOCK_EX)``, looks at the file's tail (cached while
nobody else writes), recovers a torn last line if a writer died mid-write,
closes the event with its chain fields and writes it with one ``write``.
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

from ._chain import chain_line, line_digest

_CHUNK = 1 << 16
RECOVERED_DIR = ".recovered"

RecoveryEncoder = Callable[[str, dict[str, object]], bytes]
"""Given the session id and facts about a recovered torn tail, return the encoded ``error`` event."""


class _Tail(NamedTuple):
    size: int
    seq: int
    digest: str | None


class AppendError(Exception):
    """The file system refused the append; the file is as it was."""


class SessionFile:
    """An open session file that appends chained lines under a lock."""

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
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
            tail = self._tail
            if tail is not None and tail.size == size_now:
                size, seq, digest = tail  # nobody else wrote since our last append
            else:
                size, seq, digest = self._tail_state(fd, size_now, recovery, fsync=fsync)
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
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _locked_fd(self) -> tuple[int, int]:
        """Lock the open file and return ``(fd, size)``."""
        while True:
            if self._fd >= 0 and self._pid != os.getpid():
                # Inherited through fork: this descriptor shares the parent's open file
                # description, and flock() does not exclude between holders of one
                # description. Drop our copy (the parent's stays open) and reopen.
                os.close(self._fd)
                self._fd = -1
                self._tail = None
            if self._fd < 0:
                self._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            st = os.fstat(self._fd)
            if st.st_nlink > 0:
                return self._fd, st.st_size
            # Archived or replaced while we waited: this inode is no longer the session.
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.close()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise AppendError(f"{self.path} is a symlink; session files are never followed") from exc
            raise AppendError(f"cannot open {self.path}: {exc.strerror}") from exc
        self._pid = os.getpid()
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            self.close()
            raise AppendError(f"{self.path} is not a regular file")
        self._tail = None

    def _tail_state(self, fd: int, size: int, recovery: RecoveryEncoder, *, fsync: bool) -> tuple[int, int, str | None]:
        """Return ``(size, last_seq, last_digest)`` read from the file, recovering a torn tail first."""
        if size == 0:
            return 0, 0, None
        if os.pread(fd, 1, size - 1) != b"\n":
            size, facts = self._recover_torn_tail(fd, size)
            last_seq, digest = self._read_last(fd, size)
            body = recovery(self.session_id, facts)
            line = chain_line(body, last_seq + 1, digest)
            self._write(fd, line, size)
            if fsync:
                os.fsync(fd)
            return size + len(line), last_seq + 1, line_digest(line)
        last_seq, digest = self._read_last(fd, size)
        return size, last_seq, digest

    def _read_last(self, fd: int, size: int) -> tuple[int, str | None]:
        """Return ``(seq, digest)`` of the last complete line of the first *size* bytes."""
        if size == 0:
            return 0, None
        last = last_line(fd, size)
        try:
            seq = orjson.loads(last).get("seq")
        except (orjson.JSONDecodeError, AttributeError):
            seq = None
        if not isinstance(seq, int) or isinstance(seq, bool):
            seq = _count_lines(fd, size)  # legacy or foreign last line: number it by position
        return seq, line_digest(last)

    def _recover_torn_tail(self, fd: int, size: int) -> tuple[int, dict[str, object]]:
        """Move the bytes after the last newline aside and truncate them.

        Return the new size and the facts the recovery event records.
        """
        keep = line_start(fd, size)
        torn = os.pread(fd, size - keep, keep)
        saved = (
            self.path.parent
            / RECOVERED_DIR
            / f"{self.session_id}.offset-{keep}.{hashlib.sha256(torn).hexdigest()[:16]}.torn"
        )
        saved.parent.mkdir(exist_ok=True)
        try:
            out = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            pass  # the same bytes at the same offset were saved by an earlier recovery
        else:
            try:
                _write_all(out, torn)
                os.fsync(out)
            finally:
                os.close(out)
            dir_fd = os.open(saved.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        os.ftruncate(fd, keep)
        os.fsync(fd)
        return keep, {
            "message": "the last line was incomplete (a writer died mid-append); its bytes were moved aside",
            "offset": keep,
            "length": len(torn),
            "sha256": hashlib.sha256(torn).hexdigest(),
            "saved_to": f"{RECOVERED_DIR}/{saved.name}",
        }

    def _write(self, fd: int, data: bytes, size_before: int) -> None:
        try:
            _write_all(fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size_before)  # never leave half a line behind
            self._tail = None
            raise AppendError(f"cannot write to {self.path}: {exc.strerror}") from exc


def _write_all(fd: int, data: bytes) -> None:
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


def _count_lines(fd: int, size: int) -> int:
    count = 0
    offset = 0
    while offset < size:
        block = os.pread(fd, min(_CHUNK * 16, size - offset), offset)
        if not block:
            break
        count += block.count(b"\n")
        offset += len(block)
    return count
