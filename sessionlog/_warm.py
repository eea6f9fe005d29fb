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
    found as git finds it, without running git.

    The walk up stops at ``GIT_CEILING_DIRECTORIES``; a ``.git`` folder (or the folder a
    ``gitdir:`` file names) counts only if it is a git directory (``HEAD``, ``objects``,
    ``refs``); and a repository owned by another user counts only where ``safe.directory``
    allows it (git's rule since CVE-2022-24765: a ``.git`` a stranger left in a parent folder
    is not this folder's repository). None means: not in a repository git would use.
    """
    ceilings = _ceilings()
    here = os.path.abspath(start)
    while True:
        found = _git_dir_at(here)
        if found is not None:
            return (here, found) if _trusted(here, found) else None
        parent = os.path.dirname(here)
        if parent == here or parent in ceilings:
            return None
        here = parent


def _git_dir_at(folder: str) -> str | None:
    marker = os.path.join(folder, ".git")
    if os.path.isdir(marker):
        return marker if _is_git_directory(marker) else None
    if os.path.isfile(marker):
        try:
            with open(marker, encoding="utf-8", errors="replace") as stream:
                line = stream.readline().strip()
        except OSError:
            return None
        if line.startswith("gitdir:"):
            target = os.path.normpath(os.path.join(folder, line[len("gitdir:") :].strip()))
            return target if _is_git_directory(target) else None
    return None


def _is_git_directory(path: str) -> bool:
    """What git's ``is_git_directory`` asks: ``HEAD``, and ``objects`` and ``refs`` (in the common
    directory, for a linked work tree's git directory)."""
    common = path
    try:
        with open(os.path.join(path, "commondir"), encoding="utf-8", errors="replace") as stream:
            common = os.path.normpath(os.path.join(path, stream.read().strip()))
    except OSError:
        pass
    return (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(common, "objects"))
        and os.path.isdir(os.path.join(common, "refs"))
    )


def _ceilings() -> set[str]:
    value = os.environ.get("GIT_CEILING_DIRECTORIES", "")
    return {os.path.abspath(p) for p in value.split(os.pathsep) if p and os.path.isabs(p)}


def _trusted(top: str, git_dir: str) -> bool:
    """The work tree and its git directory belong to this user (to the user behind ``sudo``, as git
    reads it), or git's ``safe.directory`` names the work tree."""
    uid = os.geteuid()
    if uid == 0 and os.environ.get("SUDO_UID", "").isdigit():
        uid = int(os.environ["SUDO_UID"])
    try:
        if os.stat(top).st_uid == uid and os.stat(git_dir).st_uid == uid:
            return True
    except OSError:
        return False
    return _safe_directory(top)


def _safe_directory(top: str) -> bool:
    """Whether git's ``safe.directory`` (system and global configuration only, as git reads it)
    names *top*; asked of git itself, only for a repository another user owns."""
    import subprocess  # the rare case: a repository owned by someone else

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith("GIT_CONFIG")}
    try:
        proc = subprocess.run(
            ("git", "config", "--includes", "--get-all", "safe.directory"),
            cwd="/",
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError:
        return False
    allowed: list[str] = []
    for value in proc.stdout.decode("utf-8", "replace").splitlines():
        allowed = [] if value == "" else [*allowed, value]  # an empty value resets the list
    target = os.path.abspath(top)
    for value in allowed:
        if value == "*" or os.path.abspath(value.removesuffix("/*")) == target:
            return True
        if value.endswith("/*") and target.startswith(os.path.abspath(value[:-2]) + os.sep):
            return True
    return False


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
