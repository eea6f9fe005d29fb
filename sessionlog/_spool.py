"""Where live appends go before a commit seals them into the tracked session file.

The pre-commit framework stashes every unstaged change of a tracked file
before its hooks run (``git diff-index --binary`` into a patch, then
``git checkout -- .``) and re-applies the patch afterwards. A tracked session
log with appended-but-unstaged lines is exactly such a change: lines appended
while the hooks run go into the reverted file and are lost when the patch is
re-applied, and a hook that appends to the file makes the patch fail.

So inside a git work tree an append never touches the tracked file. It goes
to a spool in the git directory (``<git-dir>/sessionlog/spool/<folder>/<id>.jsonl``),
which no git command and no stash ever touches, chained on from the tracked
file's last line. The commit hook *seals* the spool (appends its complete
lines to the tracked file, stages it, removes the spool) after the framework
has stashed, so the sealed lines go into the commit and nothing is left
unstaged. Readers see the tracked file followed by the spool.

The spool is used once the repository's commits seal it: ``sessionlog
install-hooks``/``init`` and the commit hook itself leave the marker
``<git-common-dir>/sessionlog/seal-on-commit``. Without sessionlog's hooks
nothing would ever seal a spool, and outside a git work tree there is no
stash to fear: then appends go straight to the session file.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from ._warm import work_tree_of

SPOOL = Path("sessionlog", "spool")
MARKER = Path("sessionlog", "seal-on-commit")


def git_dir_of(folder: Path) -> tuple[Path, Path] | None:
    """``(work tree top, git dir)`` of the work tree holding *folder* (which may not exist yet), or None.

    Found without running git (see ``_warm.work_tree_of``): appends stay free of subprocesses.
    """
    found = work_tree_of(os.fspath(folder))
    return (Path(found[0]), Path(found[1])) if found else None


def common_dir(git_dir: Path) -> Path:
    """The git directory shared by all work trees (a linked work tree names it in ``commondir``)."""
    try:
        text = (git_dir / "commondir").read_text().strip()
    except OSError:
        return git_dir
    target = Path(text)
    return target if target.is_absolute() else (git_dir / target).resolve()


def spool_dir(sessions_dir: Path) -> tuple[Path, bool] | None:
    """The spool folder of a sessions folder inside a git work tree, and whether commits seal it."""
    found = git_dir_of(sessions_dir)
    if found is None:
        return None
    top, git_dir = found
    relative = os.path.relpath(os.path.abspath(sessions_dir), top)
    sealed = (common_dir(git_dir) / MARKER).exists()
    return git_dir / SPOOL / quote(Path(relative).as_posix(), safe=""), sealed


def enable(git_common_dir: Path) -> None:
    """Mark a repository whose commits seal the spool (its hooks are installed)."""
    marker = git_common_dir / MARKER
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("sessionlog's commit hook seals spooled session lines into their files\n")


def seq_of(line: bytes) -> int | None:
    """The ``seq`` of a line sessionlog wrote (its chain fields close the line), without parsing it."""
    at = line.rfind(b',"seq":')
    if at < 0:
        return None
    end = line.find(b",", at + 7)
    try:
        return int(line[at + 7 : end])
    except ValueError:
        return None


def spooled_lines(data: bytes, after: int) -> list[tuple[int, bytes]]:
    """``(seq, line)`` of the spooled lines that come after line *after* of the tracked file.

    Lines the tracked file already holds (sealed since the spool was read) are
    skipped by their ``seq``.
    """
    found = []
    number = after
    for line in data.splitlines(keepends=True):
        seq = seq_of(line)
        number = seq if seq is not None else number + 1
        if number > after:
            found.append((number, line))
    return found
