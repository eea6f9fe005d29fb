"""sessionlog-prepare-commit-msg: add ``Sessionlog-Session``/``Sessionlog-Agent`` trailers.

The active session comes from ``$SESSIONLOG_SESSION``/``$SESSIONLOG_AGENT`` or
``sessionlog activate``; with none active the message is left alone. This is
the framework's hook; ``sessionlog init`` installs a sh shim instead that adds
what the commit hook left (``_repo_events.leave_trailers``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sessionlog.commits import events as _repo_events
from sessionlog.errors import run_command
from sessionlog.git import exe as _git


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sessionlog-prepare-commit-msg")
    parser.add_argument("message_file")
    parser.add_argument("source", nargs="?")
    parser.add_argument("sha", nargs="?")
    args = parser.parse_args(argv)
    return run_command("sessionlog-prepare-commit-msg", lambda: _add_trailers(args))


def _add_trailers(args: argparse.Namespace) -> int:
    root = _git.toplevel()
    if root is None:
        return 0
    problems: list[str] = []
    active = _repo_events.active_session(root, warn=problems)
    for problem in problems:
        print(f"sessionlog-prepare-commit-msg: not added as a trailer: {problem}", file=sys.stderr)
    trailers = _repo_events.trailer_lines(active)
    # what the commit hook left for the sh shim: this hook computes them itself
    _git.git_path(_repo_events.TRAILERS, cwd=root).unlink(missing_ok=True)
    if not trailers:
        return 0
    message = Path(args.message_file)
    text = message.read_bytes()
    if text and not text.endswith(b"\n"):
        # git writes a merge message without a final newline; interpret-trailers would glue
        # the trailer to the subject line instead of starting a trailer block
        message.write_bytes(text + b"\n")
    options = [arg for t in trailers for arg in ("--trailer", t)]
    _git.run(("interpret-trailers", "--in-place", "--if-exists", "doNothing", *options, args.message_file), cwd=root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
