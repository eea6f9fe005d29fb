"""Durable appends: one complete line per event, under an exclusive lock.

A session file is opened once (``O_APPEND | O_NOFOLLOW``) and kept open.
Each append takes ``flock(LOCK_EX)``, looks at the file's tail (cached while
nobody else writes), recovers a torn last line if a writer died mid-write,
closes the event with its chain fields and writes it with one ``write``.

Inside a git work tree the file appended to is the session's spool (see
``_spool``): the chain goes on from the tracked file's last line when the
spool is empty, and ``seal`` moves the spooled lines into the tracked file.
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
from ._paths import RECOVERED_DIR
from ._spool import seq_of
from .errors import StorageError

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
    """An open session file that appends chained lines under a lock."""

    def __init__(self, path: Path, session_id: str, spool: Path | None = None) -> None:
        self.path = path  # the session file (tracked in git)
        self.live = spool if spool is not None else path  # where appends go
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
                size, seq, digest = self._tail_state(fd, size_now, recovery)
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
        real_folder(self.path.parent, create=True)
        real_folder(self.live.parent, create=True)
        self._fd = _open_regular(self.live, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        self._pid = os.getpid()
        self._tail = None

    @property
    def spooled(self) -> bool:
        return self.live != self.path

    def _tail_state(self, fd: int, size: int, recovery: RecoveryEncoder) -> tuple[int, int, str | None]:
        """Return ``(size, last_seq, last_digest)`` of the appended-to file, recovering a torn tail first.

        An empty spool goes on from the tracked file's last line.
        """
        if size == 0 and self.spooled:
            last_seq, digest = self._tracked_tail(recovery)
            return 0, last_seq, digest
        if size == 0:
            return 0, 0, None
        keep, facts = self._untorn(fd, size)
        last_seq, digest = self._read_last(fd, keep)
        if facts is None:
            return size, last_seq, digest
        line = chain_line(recovery(self.session_id, facts), last_seq + 1, digest)
        _replace_tail(self.live, keep, line)
        return keep + len(line), last_seq + 1, line_digest(line)

    def _tracked_tail(self, recovery: RecoveryEncoder) -> tuple[int, str | None]:
        """``(seq, digest)`` of the tracked file's last line, a torn tail recovered in place first."""
        try:
            fd = _open_regular(self.path, os.O_RDWR)
        except FileNotFoundError:
            return 0, None
        try:
            keep, facts = self._untorn(fd, os.fstat(fd).st_size)
            seq, digest = self._read_last(fd, keep)
        finally:
            os.close(fd)
        if facts is None:
            return seq, digest
        line = chain_line(recovery(self.session_id, facts), seq + 1, digest)
        _replace_tail(self.path, keep, line)
        return seq + 1, line_digest(line)

    def seal(self, recovery: RecoveryEncoder) -> bool:
        """Move the spooled lines into the tracked file; return True when it grew.

        Safe to repeat after a crash at any point: spooled lines the tracked
        file already holds are recognised by their ``seq`` and skipped, and
        the spool is removed only after the tracked file was synced. The
        handle is closed afterwards.
        """
        if not self.spooled or not os.path.lexists(self.live):
            return False
        fd, size = self._locked_fd()
        try:
            size, _, _ = self._tail_state(fd, size, recovery)  # a torn spool tail is recovered
            grew = False
            if size:
                tracked = _open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
                try:
                    grew = self._seal_into(tracked, os.pread(fd, size, 0))
                    os.fsync(tracked)
                finally:
                    os.close(tracked)
                fsync_dir(self.path.parent)
            os.unlink(self.live)  # under the lock: a waiting writer sees nlink == 0 and reopens
            return grew
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            self.close()

    def _seal_into(self, tracked: int, data: bytes) -> bool:
        # A torn tail here was cut short by a crash while sealing (the spool still holds those bytes).
        size, facts = self._untorn(tracked, os.fstat(tracked).st_size)
        if facts is not None:
            os.ftruncate(tracked, size)
            os.fsync(tracked)
        last_seq, digest = self._read_last(tracked, size)
        lines = [line for line in data.splitlines(keepends=True) if (seq_of(line) or 0) > last_seq]
        if not lines:
            return False
        first = orjson.loads(lines[0])
        if first.get("seq") != last_seq + 1 or first.get("prev") != digest:
            raise AppendError(
                f"cannot seal {self.live} into {self.path}: the spooled lines continue line {first.get('seq', 0) - 1} "
                f"of another version of the file (it has {last_seq} lines; was the branch switched or the file "
                "reverted?). The spooled lines are kept; switch back and commit, or run `sessionlog flush` there."
            )
        _write_all(tracked, b"".join(lines))
        return True

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
            seq = count_newlines(fd, size)  # legacy or foreign last line: number it by position
        return seq, line_digest(last)

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
        real_folder(saved.parent, create=True)
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
            _write_all(fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size_before)  # never leave half a line behind
            self._tail = None
            raise AppendError(f"cannot write to {self.path}: {exc.strerror}") from exc


def real_folder(folder: Path, *, create: bool = False) -> Path:
    """*folder*, refused when it is a symlink: a link planted in a repository would send
    writes outside it. With *create*, made (with its parents) when missing."""
    if folder.is_symlink():
        raise AppendError(f"{folder} is a symlink; sessionlog never writes through a linked folder")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        if folder.is_symlink():  # lost a race to a link
            raise AppendError(f"{folder} is a symlink; sessionlog never writes through a linked folder")
    return folder


def _open_regular(path: Path, flags: int) -> int:
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
    fd = _open_regular(path, os.O_RDWR)  # not O_APPEND: the line goes where the torn bytes start
    try:
        written = 0
        while written < len(line):
            written += os.pwrite(fd, memoryview(line)[written:], keep + written)
        os.fsync(fd)
        os.ftruncate(fd, keep + len(line))
        os.fsync(fd)
    finally:
        os.close(fd)


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
