"""The warm logger behind ``sessionlog hook``: ``python -m sessionlog.agents.daemon SOCKET``.

It listens on a Unix socket in the repository's git directory (mode 0600), takes one
payload per connection (``<agent>\\n<payload>``), logs it with ``live.run`` as the hook
would, and replies ``ok`` plus any problems once the event is written. Connections are
served one at a time, so events of parallel tool calls are appended in arrival order
under the logger's usual locks. It exits after ``SESSIONLOG_HOOKD_IDLE`` seconds without
a payload (600 by default), or as soon as its socket is gone (the repository was
removed, or another daemon took over), and never runs twice for one socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time

from .live import run

TICK = 1.0  # seconds between checks that the socket is still ours
READ_TIMEOUT = 10.0


def _already_served(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def serve(path: str, idle: float) -> None:
    if os.path.exists(path):
        if _already_served(path):
            return
        os.unlink(path)  # left by a daemon that died
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        server.bind(path)
    except OSError:
        return  # another daemon bound it first
    finally:
        os.umask(old)
    identity = os.stat(path).st_ino
    server.listen(64)
    server.settimeout(TICK)
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
                _handle(conn)
            last = time.monotonic()
    finally:
        server.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == identity:
                os.unlink(path)


def _handle(conn: socket.socket) -> None:
    conn.settimeout(READ_TIMEOUT)
    data = b""
    try:
        while chunk := conn.recv(1 << 20):
            data += chunk
    except OSError:
        return  # the hook gave up: it logs the payload itself
    agent, _, raw = data.partition(b"\n")
    cwd = os.getcwd()
    try:
        problems = run(agent.decode("utf-8", "replace"), raw)
    finally:
        os.chdir(cwd)
    with contextlib.suppress(OSError):
        conn.sendall(b"ok\n" + "".join(f"{p}\n" for p in problems).encode())


if __name__ == "__main__":
    serve(sys.argv[1], float(os.environ.get("SESSIONLOG_HOOKD_IDLE", "600")))
