"""The archive format: one session file gzip-compressed under ``archive/<id>.jsonl.gz``.

Reading an archive never trusts its size: expansion stops at a limit, so a
gzip bomb in a repository costs nothing.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


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
