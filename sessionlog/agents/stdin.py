"""Reading a hook's stdin: some agents leave the pipe open, so never wait on it forever."""

from __future__ import annotations

import os
import select
import sys
import time

STDIN_DEADLINE = 2.0  # seconds


def read_stdin(deadline: float = STDIN_DEADLINE) -> bytes:
    """Everything on stdin until EOF, or what arrived before *deadline* seconds passed."""
    fd = sys.stdin.fileno()
    chunks: list[bytes] = []
    end = time.monotonic() + deadline
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
