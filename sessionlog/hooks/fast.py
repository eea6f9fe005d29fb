"""What the git hooks run: ``python -m sessionlog.hooks.fast check [ARGS]`` from the shims, and
the ``sessionlog-check`` console script the pre-commit framework calls.

The commit check runs at every commit, so this module imports only the standard library
and asks the warm checker (``sessionlog.hooks.checkd``, see ``sessionlog._warm``) to run
``sessionlog-check`` with this process's arguments, working directory, environment and
stdin, and prints what it answers. Where no checker answers (the first commit, or
``SESSIONLOG_HOOKD=0``), the check runs here and a checker is started for the next one.
"""

from __future__ import annotations

import io
import json
import os
import sys

from .._warm import ask, code_stamp, enabled, git_dir, start

SOCKET_NAME = "checkd.sock"


def main(argv: list[str]) -> int:
    args = argv[1:]  # argv[0] names the hook ("check")
    stdin = sys.stdin.buffer.read() if "--pre-push" in args else b""  # git's ref lines, then EOF
    found = git_dir(os.getcwd()) if enabled() else None
    if found is not None:
        path = os.path.join(found, "sessionlog", SOCKET_NAME)
        request = {
            "argv": args,
            "cwd": os.getcwd(),
            "env": {**os.environ, "_SESSIONLOG_HOOK_PPID": str(os.getppid())},
            "stdin": stdin.decode("latin-1"),
            "stamp": code_stamp(),
        }
        reply = ask(path, json.dumps(request).encode())
        answer = json.loads(reply) if reply else None
        if isinstance(answer, dict) and "code" in answer:
            sys.stdout.write(answer["stdout"])
            sys.stderr.write(answer["stderr"])
            return int(answer["code"])
        start(path, "sessionlog.hooks.checkd")
    from .check import main as check

    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="latin-1")
    return check(args)


def console() -> int:
    """The ``sessionlog-check`` console script (what the pre-commit framework runs)."""
    return main(["check", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
