"""Git, reached through the ``git`` executable: small named functions over one helper.

Argument lists only, never a shell; paths always after ``--``; NUL-separated
output where git offers it. Variables a hook inherits (``GIT_DIR``,
``GIT_INDEX_FILE``...) are stripped when git is run for another repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_HOOK_VARS = ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY")


class GitError(Exception):
    """A git command failed; the message says which and how to fix it."""


def _env(extra: Mapping[str, str] | None, *, isolate: bool) -> dict[str, str]:
    env = dict(os.environ)
    if isolate:
        for name in _HOOK_VARS:
            env.pop(name, None)
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    isolate: bool = False,
    check: bool = True,
) -> bytes:
    """Run ``git *args`` and return its stdout; raise GitError when it fails."""
    try:
        proc = subprocess.run(
            ("git", *args),
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env(env, isolate=isolate),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args[:3])} failed ({proc.returncode}): {detail}")
    return proc.stdout


def toplevel(cwd: Path | str | None = None) -> Path | None:
    """Return the work tree's top-level folder containing *cwd*, or None outside one."""
    try:
        out = run(("rev-parse", "--show-toplevel"), cwd=cwd)
    except GitError:
        return None
    text = out.decode("utf-8", "surrogateescape").strip()
    return Path(text) if text else None
