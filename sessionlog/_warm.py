"""Warm helper processes, for commands that run often and must start fast.

A git hook runs at every commit and an agent hook at every tool call; starting Python
is ~20 ms, loading sessionlog's validator and secret rules ~140 ms more. So such a
command imports only this module (standard library only), sends its request over a Unix
socket in the repository's git directory (mode 0700) to a helper that keeps everything
loaded, and waits for the answer. Where no helper answers, the command does the work
itself and starts one. A helper serves one request at a time, exits after
``SESSIONLOG_HOOKD_IDLE`` seconds without one (600 by default) or when its socket is
gone, never runs twice for one socket, and steps down when the installed code changed.
``SESSIONLOG_HOOKD=0`` turns helpers off.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable

TICK = 1.0  # seconds between checks that the socket is still the helper's
READ_TIMEOUT = 10.0
REPLY_TIMEOUT = 60.0


def enabled() -> bool:
    return os.environ.get("SESSIONLOG_HOOKD", "1") != "0"


def work_tree_of(start: str) -> tuple[str, str] | None:
    """``(work tree top, git dir)`` of the work tree holding *start* (which may not exist yet),
    found by walking up to a ``.git`` folder or ``gitdir:`` file as git does, without running git."""
    here = os.path.abspath(start)
    while True:
        marker = os.path.join(here, ".git")
        if os.path.isdir(marker):
            return here, marker
        if os.path.isfile(marker):
            try:
                with open(marker, encoding="utf-8", errors="replace") as stream:
                    line = stream.readline().strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                return here, os.path.normpath(os.path.join(here, line[len("gitdir:") :].strip()))
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def git_dir(start: str) -> str | None:
    """The git directory of the work tree holding *start*."""
    found = work_tree_of(start)
    return found[1] if found else None


def code_stamp() -> str:
    """The installed code's identity (its files' newest modification time): a helper started
    from older code steps down instead of answering."""
    newest = 0
    folders = [os.path.dirname(os.path.abspath(__file__))]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith((".py", ".json", ".toml")):
                    newest = max(newest, entry.stat().st_mtime_ns)
    return str(newest)


def ask(path: str, request: bytes, timeout: float = REPLY_TIMEOUT) -> bytes | None:
    """The helper's answer to *request*, or None when no helper answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
            conn.sendall(request)
            conn.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
    except OSError:
        return None
    return reply or None


def start(path: str, module: str) -> None:
    """Start the helper *module* (``python -m module path``) for the socket *path*, detached."""
    import subprocess  # only when there is no helper yet

    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.Popen(
        [sys.executable, "-m", module, path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives the hook; never holds a terminal
    )


def _already_served(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


class StepDown(Exception):
    """Raised by a handler after answering: the helper should exit (its code is stale)."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("step down")
        self.reply = reply


def _bind(path: str) -> tuple[socket.socket, int] | None:
    """A listening socket at *path* and its inode, or None when another helper serves it."""
    if os.path.exists(path):
        if _already_served(path):
            return None
        os.unlink(path)  # left by a helper that died
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        server.bind(path)
    except OSError:
        server.close()
        return None  # another helper bound it first
    finally:
        os.umask(old)
    server.listen(64)
    server.settimeout(TICK)
    return server, os.stat(path).st_ino


def _answer(conn: socket.socket, handle: Callable[[bytes], bytes]) -> bool:
    """Answer one request; False when the helper must step down."""
    conn.settimeout(READ_TIMEOUT)
    data = b""
    try:
        while chunk := conn.recv(1 << 20):
            data += chunk
    except OSError:
        return True  # the caller gave up: it does the work itself
    try:
        reply = handle(data)
    except StepDown as down:
        with contextlib.suppress(OSError):
            conn.sendall(down.reply)
        return False
    with contextlib.suppress(OSError):
        conn.sendall(reply)
    return True


def serve(path: str, handle: Callable[[bytes], bytes]) -> None:
    """Answer requests on *path* with *handle* until idle, displaced or told to step down."""
    idle = float(os.environ.get("SESSIONLOG_HOOKD_IDLE", "600"))
    bound = _bind(path)
    if bound is None:
        return
    server, identity = bound
    last = time.monotonic()
    try:
        while time.monotonic() - last < idle:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                try:
                    if os.stat(path).st_ino != identity:
                        return
                except FileNotFoundError:
                    return
                continue
            with conn:
                if not _answer(conn, handle):
                    return
            last = time.monotonic()
    finally:
        server.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == identity:
                os.unlink(path)
