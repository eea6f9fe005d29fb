"""The hook command's fast path: read the payload (never waiting on an open pipe forever) and
hand it to the warm runner (``sessionlog.warm``), which logs it in the warm helper of this
folder's repository or, where none takes it in time, here. The payload is parsed where it is
logged (``live.run``, the same code either way), which writes into the repository of the folder
the payload names. Either way: nothing on stdout, exit 0.
"""

from __future__ import annotations

import sys

from sessionlog.warm import run


def main(agent: str) -> int:
    try:
        from sessionlog.agents.stdin import read_stdin

        return run("hook", [agent], read_stdin())
    except Exception as exc:  # noqa: BLE001 - the agent must never see a hook fail
        print(f"sessionlog hook {agent}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 0
