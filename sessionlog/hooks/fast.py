"""What the git hooks run: ``python -m sessionlog.hooks.fast check [ARGS]`` from the shims, and
the ``sessionlog-check`` console script the pre-commit framework calls.

The commit check runs at every commit, so this module imports only the standard library and
hands ``sessionlog-check`` with this process's arguments, working folder, environment and stdin
to the warm runner (``sessionlog.warm``), which runs it in a warm helper or, where none takes it
in time, here, with the same answer either way.
"""

from __future__ import annotations

import sys

from sessionlog.warm import run


def main(argv: list[str]) -> int:
    args = argv[1:]  # argv[0] names the hook ("check")
    stdin = sys.stdin.buffer.read() if "--pre-push" in args else b""  # git's ref lines, then EOF
    return run("check", args, stdin)


def console() -> int:
    """The ``sessionlog-check`` console script (what the pre-commit framework runs)."""
    return main(["check", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
