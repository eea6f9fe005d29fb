"""One warm runner: run a command's ``main(argv) -> int`` warm or in-process, with the same answer.

A git hook runs at every commit and an agent hook at every tool call; starting Python is
~20 ms, loading sessionlog's validator and secret rules ~140 ms more. So these commands
import only this module (standard library only) and send a *request*, the command's entry,
``argv``, working folder, environment and stdin, over a Unix socket in the repository's git
directory (``<git-dir>/sessionlog/warm.sock``, mode 0700) to a helper that keeps everything
loaded. The helper runs the request exactly as ``execute`` runs it in-process: in the
request's working folder and environment, stdin from the request, stdout and stderr
captured, and every way out (a return, ``SystemExit`` from a usage error, a crash) turned
into an exit code inside the request. It answers ``{code, stdout, stderr}``.

The protocol: the client sends the request (``marshal``: built in, so a hook pays no import for
it; the socket is its owner's alone) and closes its side; the helper reads it
(each connection in its own thread, with a deadline, so a slow or stalled client never
holds up another), checks it (a malformed request gets an error answer), answers one byte
``A`` to say it has taken the request, runs requests one at a time, and sends the result.
A client that gets no ``A`` within ``ACCEPT_DEADLINE`` (a helper stopped, stuck or gone)
runs the request in-process instead; a helper whose ``A`` cannot be delivered (the client
gave up) drops the request, so it is never run twice. A helper started from older code
answers ``stale`` and steps down. It exits after ``SESSIONLOG_HOOKD_IDLE`` idle seconds
(600), when its socket is gone, and ``SESSIONLOG_HOOKD=0`` turns helpers off.

The helper of a repository is found with ``sessionlog.git.discovery`` (git's own rules, no git).
"""

from __future__ import annotations

import marshal
import os
import socket
import sys
import time

from sessionlog.git.discovery import git_dir

TYPE_CHECKING = False  # not `typing`'s: a hook pays for every module it loads
if TYPE_CHECKING:
    from typing import Any

    Request = dict[str, Any]

ENTRIES = {  # what a request may run: name -> module:function, each main(argv) -> int
    "check": "sessionlog.hooks.check:main",
    "hook": "sessionlog.agents.live:hook_main",
}
SOCKET = "warm.sock"
CALLER_PID = "_SESSIONLOG_HOOK_PPID"
TICK = 1.0  # seconds between checks that the socket is still the helper's
READ_DEADLINE = 5.0  # a request must arrive whole within this
ACCEPT_DEADLINE = 1.0  # a helper that has not taken the request by then is bypassed
RESULT_TIMEOUT = 120.0
EXIT_CRASH = 3


def enabled() -> bool:
    return os.environ.get("SESSIONLOG_HOOKD", "1") != "0"


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


def socket_for(where: str) -> str | None:
    """The helper socket of the repository holding *where*, or None outside one."""
    found = git_dir(where)
    return os.path.join(found, "sessionlog", SOCKET) if found else None


# -- the client ----------------------------------------------------------------


def run(entry: str, argv: list[str], stdin: bytes, *, where: str | None = None) -> int:
    """Run *entry* with *argv* and *stdin* for this process, warm when the helper of the repository
    holding *where* (default: the working folder) takes it in time, else here; write its output
    and return its exit code."""
    request = {
        "stamp": code_stamp(),
        "entry": entry,
        "argv": argv,
        "cwd": os.getcwd(),
        # the caller's parent: where a command looks up the process tree (the git command a hook runs under)
        "env": {**os.environ, CALLER_PID: str(os.getppid())},
        "stdin": stdin,
    }
    path = socket_for(where or os.getcwd()) if enabled() else None
    answer = ask(path, marshal.dumps(request)) if path else None
    if answer is None or "code" not in answer:
        if path is not None:
            start(path)
        answer = execute(request)
    sys.stdout.write(answer["stdout"])
    sys.stderr.write(answer["stderr"])
    sys.stdout.flush()
    return int(answer["code"])


def ask(path: str, request: bytes) -> Request | None:
    """The helper's answer to *request*, or None when no helper took it within ``ACCEPT_DEADLINE``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(ACCEPT_DEADLINE)
            conn.connect(path)
            conn.sendall(request)
            conn.shutdown(socket.SHUT_WR)
            if conn.recv(1) != b"A":
                return None  # refused, or closed without taking it
            conn.settimeout(RESULT_TIMEOUT)
            reply = b""
            while chunk := conn.recv(1 << 16):
                reply += chunk
    except OSError:
        return None
    try:
        answer = marshal.loads(reply)
    except (ValueError, EOFError, TypeError):
        return None
    return answer if isinstance(answer, dict) else None


def start(path: str) -> None:
    """Start a helper for the socket *path*, detached (it exits at once if one already serves it)."""
    import subprocess  # only when no helper answered

    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.Popen(
        [sys.executable, "-m", "sessionlog.warm", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives the hook; never holds a terminal
    )


# -- running one request (in-process, or in the helper) --------------------------


def execute(request: Request) -> Request:
    """Run one request in this process and put the process back as it was: the request's working
    folder, environment and stdin; output captured; usage errors, ``SystemExit`` and crashes all
    end as an exit code, inside the request."""
    import contextlib
    import importlib
    import io
    import traceback

    target = ENTRIES.get(str(request.get("entry")))
    if target is None:
        return {"code": 2, "stdout": "", "stderr": f"sessionlog: no such entry point {request.get('entry')!r}\n"}
    module, _, name = target.partition(":")
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(request.get("stdin", b"")), encoding="latin-1")
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        try:
            code = getattr(importlib.import_module(module), name)(list(request["argv"]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=err)
        except Exception:  # noqa: BLE001 - the boundary of one request: a crash is its answer
            traceback.print_exc(file=err)
            code = EXIT_CRASH
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_env)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
    return {"code": int(code) if isinstance(code, int) else 0, "stdout": out.getvalue(), "stderr": err.getvalue()}


# -- the helper ------------------------------------------------------------------


class _Helper:
    def __init__(self, path: str) -> None:
        import threading

        self.path = path
        self.stamp = code_stamp()
        self.run_lock = threading.Lock()  # requests change process-wide state: one at a time
        self.last = time.monotonic()
        self.stale = False

    def answer(self, conn: socket.socket) -> None:
        import contextlib

        with conn:
            request = self._read(conn)
            if request is None:
                return
            if isinstance(request, str):
                with contextlib.suppress(OSError):
                    conn.sendall(b"E" + request.encode())
                return
            if request.get("stamp") != self.stamp:
                self.stale = True  # older or newer code installed: the client runs it itself
                with contextlib.suppress(OSError):
                    conn.sendall(b"S")
                return
            try:
                conn.sendall(b"A")
            except OSError:
                return  # the client gave up before we took it: it ran the request itself
            with self.run_lock:
                result = execute(request)
                self.last = time.monotonic()
            with contextlib.suppress(OSError):
                conn.sendall(marshal.dumps(result))

    @staticmethod
    def _read(conn: socket.socket) -> Request | str | None:
        """The request, an error message for a malformed one, or None for a client that gave up."""
        end = time.monotonic() + READ_DEADLINE
        data = b""
        try:
            while (left := end - time.monotonic()) > 0:
                conn.settimeout(left)
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            else:
                return "the request did not arrive whole in time"
        except OSError:
            return None
        try:
            request = marshal.loads(data)
        except (ValueError, EOFError, TypeError) as exc:
            return f"not a request: {exc}"
        fields = {"stamp": str, "entry": str, "argv": list, "cwd": str, "env": dict, "stdin": bytes}
        if not isinstance(request, dict) or any(not isinstance(request.get(k), t) for k, t in fields.items()):
            return "not a request: it needs " + ", ".join(fields)
        return request

    def serve(self) -> None:
        import contextlib
        import importlib
        import threading

        idle = float(os.environ.get("SESSIONLOG_HOOKD_IDLE", "600"))
        bound = _bind(self.path)
        if bound is None:
            return
        server, identity = bound
        for target in ENTRIES.values():  # loaded once, before the first request
            with contextlib.suppress(Exception):
                importlib.import_module(target.partition(":")[0])
        try:
            while not self.stale and time.monotonic() - self.last < idle:
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    try:
                        if os.stat(self.path).st_ino != identity:
                            return  # displaced by another helper
                    except FileNotFoundError:
                        return
                    continue
                self.last = time.monotonic()
                threading.Thread(target=self.answer, args=(conn,), daemon=True).start()
        finally:
            server.close()
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == identity:
                    os.unlink(self.path)
            with self.run_lock:
                pass  # a request taken is finished before the helper goes


def _already_served(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(ACCEPT_DEADLINE)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


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


if __name__ == "__main__":
    _Helper(sys.argv[1]).serve()
