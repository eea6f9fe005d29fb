"""The hook command's fast path: read the payload (never waiting on an open pipe forever) and
hand it to the warm runner (``sessionlog._warm``) of the payload's repository, which logs it in
a warm helper or, where none takes it in time, here. Either way: nothing on stdout, exit 0.
"""

from __future__ import annotations

import json
import os
import sys

from .._warm import run


def payload_folder(raw: bytes) -> str:
    """The folder the payload says the agent works in (its ``cwd``), else this process's."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return os.getcwd()
    cwd = payload.get("cwd") if isinstance(payload, dict) else None
    return cwd if isinstance(cwd, str) and os.path.isdir(cwd) else os.getcwd()


def main(agent: str) -> int:
    try:
        from .stdin import read_stdin

        raw = read_stdin()
        return run("hook", [agent], raw, where=payload_folder(raw))
    except Exception as exc:  # noqa: BLE001 - the agent must never see a hook fail
        print(f"sessionlog hook {agent}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 0
