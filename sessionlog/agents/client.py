"""The hook command's fast path: hand the payload to a warm logger process and wait for it.

Every tool call spawns the hook, so its cost is paid per tool call. Starting Python
takes ~20 ms; loading the logger (schema validator, secret rules) ~140 ms more. So the
hook imports only the standard library, sends the payload over a Unix socket in the git
directory to ``sessionlog.agents.daemon``, which keeps a logger loaded, and exits once
the daemon says the event is written. The first hook of a repository (or one that finds
no daemon answering) starts the daemon and logs its own payload in-process; so does
every hook when ``SESSIONLOG_HOOKD=0``. Either way: nothing on stdout, exit 0.
"""

from __future__ import annotations

import os
import socket
import sys

SOCKET_NAME = "hookd.sock"
REPLY_TIMEOUT = 15.0  # seconds the daemon may take to write an event before the hook does it itself


def git_dir(start: str) -> str | None:
    """The git directory of the work tree holding *start*, found as git finds it (no git process)."""
    here = os.path.abspath(start)
    while True:
        marker = os.path.join(here, ".git")
        if os.path.isdir(marker):
            return marker
        if os.path.isfile(marker):
            try:
                with open(marker, encoding="utf-8") as stream:
                    line = stream.readline().strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(here, line[len("gitdir:") :].strip()))
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def socket_path(raw: bytes) -> str | None:
    """Where the daemon of the payload's repository listens (its ``cwd``, else ours)."""
    cwd = os.getcwd()
    marker = b'"cwd"'
    at = raw.find(marker)
    if at >= 0:  # the payload's cwd without parsing the whole payload (it may be megabytes)
        start = raw.find(b'"', raw.find(b":", at + len(marker)) + 1)
        end = raw.find(b'"', start + 1)
        candidate = raw[start + 1 : end].decode("utf-8", "replace") if start >= 0 and end > start else ""
        if candidate and "\\" not in candidate and os.path.isdir(candidate):
            cwd = candidate
    found = git_dir(cwd)
    return os.path.join(found, "sessionlog", SOCKET_NAME) if found else None


def send(path: str, agent: str, raw: bytes) -> list[str] | None:
    """The daemon's problems with the payload ([] when all is logged), or None when no daemon answered."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(REPLY_TIMEOUT)
            conn.connect(path)
            conn.sendall(agent.encode() + b"\n" + raw)
            conn.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
    except OSError:
        return None
    if not reply.startswith(b"ok\n"):
        return None
    return [line for line in reply[3:].decode("utf-8", "replace").splitlines() if line]


def start_daemon(path: str) -> None:
    import subprocess  # only when there is no daemon yet

    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.Popen(
        [sys.executable, "-m", "sessionlog.agents.daemon", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives this hook; never holds the agent's terminal
    )


def main(agent: str) -> int:
    from .stdin import read_stdin

    problems: list[str] | None = None
    try:
        raw = read_stdin()
        path = socket_path(raw) if os.environ.get("SESSIONLOG_HOOKD", "1") != "0" else None
        if path is not None:
            problems = send(path, agent, raw)
            if problems is None:
                start_daemon(path)
        if problems is None:
            from .live import run

            problems = run(agent, raw)
    except Exception as exc:  # noqa: BLE001 - the agent must never see a hook fail
        problems = [f"{type(exc).__name__}: {exc}"]
    for problem in problems:
        print(f"sessionlog hook {agent}: {problem}", file=sys.stderr)
    return 0
