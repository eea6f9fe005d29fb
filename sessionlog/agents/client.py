"""The hook command's fast path: hand the payload to the warm logger (``daemon``) and wait
until it is written; where no logger answers, log it here and start one (see
``sessionlog._warm``). Either way: nothing on stdout, exit 0.
"""

from __future__ import annotations

import os
import sys

from .._warm import ask, code_stamp, enabled, git_dir, start

SOCKET_NAME = "hookd.sock"


def socket_path(raw: bytes) -> str | None:
    """Where the logger of the payload's repository listens (its ``cwd``, else ours)."""
    cwd = os.getcwd()
    marker = b'"cwd"'
    at = raw.find(marker)
    if at >= 0:  # the payload's cwd without parsing the whole payload (it may be megabytes)
        begin = raw.find(b'"', raw.find(b":", at + len(marker)) + 1)
        end = raw.find(b'"', begin + 1)
        candidate = raw[begin + 1 : end].decode("utf-8", "replace") if begin >= 0 and end > begin else ""
        if candidate and "\\" not in candidate and os.path.isdir(candidate):
            cwd = candidate
    found = git_dir(cwd)
    return os.path.join(found, "sessionlog", SOCKET_NAME) if found else None


def send(path: str, agent: str, raw: bytes) -> list[str] | None:
    """The logger's problems with the payload ([] when all is logged), or None when no logger answered."""
    reply = ask(path, code_stamp().encode() + b"\n" + agent.encode() + b"\n" + raw)
    if reply is None or not reply.startswith(b"ok\n"):
        return None
    return [line for line in reply[3:].decode("utf-8", "replace").splitlines() if line]


def main(agent: str) -> int:
    from .stdin import read_stdin

    problems: list[str] | None = None
    try:
        raw = read_stdin()
        path = socket_path(raw) if enabled() else None
        if path is not None:
            problems = send(path, agent, raw)
            if problems is None:
                start(path, "sessionlog.agents.daemon")
        if problems is None:
            from .live import run

            problems = run(agent, raw)
    except Exception as exc:  # noqa: BLE001 - the agent must never see a hook fail
        problems = [f"{type(exc).__name__}: {exc}"]
    for problem in problems:
        print(f"sessionlog hook {agent}: {problem}", file=sys.stderr)
    return 0
