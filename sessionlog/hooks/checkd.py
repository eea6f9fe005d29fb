"""The warm commit checker behind the git hook shims (see ``sessionlog._warm`` and ``fast``):
``python -m sessionlog.hooks.checkd SOCKET``.

Each request carries a hook's arguments, working directory, environment and stdin; the
check runs with exactly those (git's ``GIT_INDEX_FILE`` and ``GIT_REFLOG_ACTION`` say
which commit is being made), its output is captured, and the process is put back as it
was before the next request.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

from .._warm import StepDown, code_stamp, serve
from .check import main as check

STAMP = code_stamp()


def handle(data: bytes) -> bytes:
    request = json.loads(data)
    if request.get("stamp") != STAMP:
        raise StepDown(b'{"stale": true}')
    saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.stdin = io.StringIO(request["stdin"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = check(request["argv"])
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.stdin = saved_stdin
    return json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}).encode()


if __name__ == "__main__":
    serve(sys.argv[1], handle)
