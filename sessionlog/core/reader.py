"""Streaming readers: one line at a time, parse errors as values."""

from __future__ import annotations

import errno
import gc
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from sessionlog.core.types import Event
from sessionlog.errors import StorageError

_BUFFER = 1 << 20


@dataclass(frozen=True)
class ParseError:
    """A line that is not a JSON object, with its 1-based line number."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class NotASessionFile(StorageError):
    """A session path that is a symlink, a FIFO, a folder or a device: never read."""


def open_session_file(path: Path) -> BinaryIO:
    """Open *path* for reading; a symlink in its last component or anything but a regular
    file is refused (a FIFO planted at a session path would block a reader forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotASessionFile(f"{path} is a symlink; session files are never followed") from exc
        if exc.errno == errno.EISDIR:
            raise NotASessionFile(f"{path} is a folder, not a session file") from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise NotASessionFile(f"{path} is {kind}, not a session file; it is never read")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=_BUFFER)


def iter_lines(stream: BinaryIO, *, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_no, raw_line)``; the newline is kept, so a torn last line shows."""
    yield from enumerate(stream, start=first_line)


def decode_line(line_no: int, raw: bytes) -> Event | ParseError:
    """Decode one raw line into an event dict or a ParseError."""
    if not raw.endswith(b"\n"):
        return ParseError(line_no, "incomplete last line (no newline): a write was interrupted")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return ParseError(line_no, f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        return ParseError(line_no, f"expected a JSON object, got {type(value).__name__}")
    return value


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while many acyclic objects are made.

    Decoded JSON holds no reference cycles; the collector's passes over a
    growing list of dicts cost more than the decoding itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
