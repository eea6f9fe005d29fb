"""Segments: how a session's lines are laid out in files so that git can always commit them.

Inside a git work tree a session is the files ``<id>.jsonl`` (its first
segment) and ``<id>+<seq>.jsonl`` (the lines from ``seq`` on). Appends go to
the session's *open* segment, an untracked file: git sees it (``git add -A``
stages it), yet no stash, switch, rebase or framework run touches it. Once git
holds the open segment (the commit hook closes it before staging it, or the
appender finds it in the index), the next append starts a new segment that
chains on from the last line. A committed file is therefore never written
again, and two branches never write the same file. ARCHITECTURE.md has the
whole design.

Where a session goes on is kept per work tree in
``<git-dir>/sessionlog/segments/<folder>/<id>``: the open segment, the
index stamp at which it was last known untracked, and the last ``seq`` and
digest written (the tip, which the next segment chains on even when the
previous segment is on another branch). Appends take ``flock`` on that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from sessionlog.core.paths import SUFFIX
from sessionlog.git.discovery import work_tree_of

SEP = "+"  # never in a session id, so a segment name is unambiguous
STATE_DIR = Path("sessionlog", "segments")
OLD_SPOOL_DIR = Path("sessionlog", "spool")  # where earlier versions kept unsealed lines


class Place(NamedTuple):
    """The git work tree a sessions folder is in, and where its segment states live."""

    top: Path
    git_dir: Path
    states: Path
    folder_key: str  # the sessions folder relative to the work tree, quoted to one name


def place_of(folder: Path) -> Place | None:
    """The work tree holding the sessions *folder* (which may not exist yet), or None outside git."""
    found = work_tree_of(os.fspath(folder))
    if found is None:
        return None
    top, git_dir = Path(found[0]), Path(found[1])
    relative = Path(os.path.relpath(os.path.abspath(folder), top)).as_posix()
    key = quote(relative, safe="")
    return Place(top, git_dir, git_dir / STATE_DIR / key, key)


def segment_name(session_id: str, start: int) -> str:
    """The file name of the segment of *session_id* whose first line is line *start*."""
    return f"{session_id}{SUFFIX}" if start <= 1 else f"{session_id}{SEP}{start}{SUFFIX}"


def parse_name(name: str) -> tuple[str, int] | None:
    """``(session id, first line)`` of a segment file name, or None for any other name."""
    if not name.endswith(SUFFIX):
        return None
    stem = name[: -len(SUFFIX)]
    session_id, sep, start = stem.partition(SEP)
    if not sep:
        return (stem, 1) if stem else None
    if not session_id or not start.isascii() or not start.isdigit() or start.startswith("0"):
        return None
    return session_id, int(start)


def segments(folder: Path, session_id: str) -> list[tuple[int, Path]]:
    """The segments of *session_id* present in *folder*, ``(first line, path)`` in order."""
    found: list[tuple[int, Path]] = []
    first = folder / f"{session_id}{SUFFIX}"
    if os.path.lexists(first):
        found.append((1, first))
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return found
    prefix = session_id + SEP
    with entries:
        for entry in entries:
            if entry.name.startswith(prefix):
                parsed = parse_name(entry.name)
                if parsed is not None and parsed[0] == session_id:
                    found.append((parsed[1], Path(entry.path)))
    found.sort()
    return found


def session_ids(folder: Path) -> set[str]:
    """Ids of the sessions with at least one regular segment file in *folder*."""
    found: set[str] = set()
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return found
    with entries:
        for entry in entries:
            parsed = parse_name(entry.name)
            if parsed is not None and entry.is_file(follow_symlinks=False):
                found.add(parsed[0])
    return found


def segment_files(folder: Path) -> Iterator[Path]:
    """Every regular segment file directly in *folder*."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if parse_name(entry.name) is not None and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)


def index_stamp(git_dir: Path) -> list[int] | None:
    """What changes whenever git rewrites the work tree's index (None before there is one)."""
    try:
        st = os.stat(git_dir / "index")
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def old_spool(place: Place) -> Path:
    """Where an earlier version spooled this folder's appends (read once, to move them out)."""
    return place.git_dir / OLD_SPOOL_DIR / place.folder_key
