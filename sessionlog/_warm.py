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

Repository discovery (``work_tree_of``) follows git's own rules without running git.
"""

from __future__ import annotations

import marshal
import os
import socket
import sys
import time

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
        [sys.executable, "-m", "sessionlog._warm", path],
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
