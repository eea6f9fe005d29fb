"""The archive format: one session file gzip-compressed under ``archive/<id>.jsonl.gz`` (or, as
the original implementation could also write it, a plain copy under ``archive/<id>.jsonl``).

Reading an archive never trusts its size: expansion stops at a limit, so a
gzip bomb in a repository costs nothing.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import BinaryIO

from sessionlog.core.paths import ARCHIVE_SUFFIX

_CHUNK = 1 << 20


def read_archive(path: Path, limit: int, *, compressed: bool | None = None) -> bytes | None:
    """An archive's session bytes (gzip, or plain: by its name unless *compressed* says), or
    None past *limit* bytes."""
    if path.name.endswith(ARCHIVE_SUFFIX) if compressed is None else compressed:
        return gunzip_file(path, limit)
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as raw:
        data = raw.read(limit + 1)
    return data if len(data) <= limit else None


def gunzip_file(path: Path, limit: int) -> bytes | None:
    """Decompress *path* (never through a symlink), or None once the output would pass *limit* bytes."""
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as raw:
        return gunzip_bounded(raw, limit)


def gunzip_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """Decompress a gzip stream (all members), or None once the output would pass *limit* bytes.

    Reads at most ``limit + 1`` bytes of output.
    """
    out = bytearray()
    with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
        while block := gz.read(min(_CHUNK, limit + 1 - len(out))):
            out += block
            if len(out) > limit:
                return None
    return bytes(out)
