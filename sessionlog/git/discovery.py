"""Finding the repository a folder is in, as git finds it, without running git (appends and
hooks stay free of subprocesses): ``GIT_CEILING_DIRECTORIES`` stops the walk up, a ``.git``
counts only if it is a git directory, and a repository owned by another user counts only where
``safe.directory`` names it. Standard library only: the hooks' fast path imports it."""

from __future__ import annotations

import os


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
