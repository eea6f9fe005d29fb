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

Every segment concern is here: the layout, the state, ``SegmentedFile`` (where an append goes,
when a segment is closed, where a new one starts), the commit hook's closing of the segments
it stages, and moving lines an earlier version spooled in the git directory into segments.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import orjson

from sessionlog.core.paths import SUFFIX
from sessionlog.core.store import (
    AppendError,
    RecoveryEncoder,
    SessionFile,
    fsync_dir,
    line_start,
    open_regular,
    read_last,
    real_folder,
    write_all,
)
from sessionlog.git import exe as _git
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
    """The segments of *session_id* present in *folder*, ``(first line, path)`` in order (links and
    other non-files included: a reader says why it will not read them)."""
    found: list[tuple[int, Path]] = []
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return found
    with entries:
        for entry in entries:
            if entry.name.startswith(session_id):
                parsed = parse_name(entry.name)
                if parsed is not None and parsed[0] == session_id:
                    found.append((parsed[1], Path(entry.path)))
    found.sort()
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


def session_ids(folder: Path) -> set[str]:
    """Ids of the sessions with at least one regular segment file in *folder*."""
    return {name[0] for name in (parse_name(p.name) for p in segment_files(folder)) if name is not None}


def index_stamp(index: str) -> list[int] | None:
    """What changes whenever git rewrites the work tree's index file (None before there is one)."""
    try:
        st = os.stat(index)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def old_spool(place: Place) -> Path:
    """Where an earlier version spooled this folder's appends (read once, to move them out)."""
    return place.git_dir / OLD_SPOOL_DIR / place.folder_key


class SegmentedFile(SessionFile):
    """A session in a git work tree: appends go to its open segment, under ``flock`` on the
    session's state file in the git directory. With *tail*, appends go to the session's last
    file, tracked or not (the commit hook writes the repository log so and stages it at once)."""

    def __init__(self, path: Path, session_id: str, place: Place, *, tail: bool = False) -> None:
        super().__init__(path, session_id)
        self.place = place
        self.tail = tail
        self.top = place.top
        self._index = os.path.join(place.git_dir, "index")
        self._state_fd = -1

    def close(self) -> None:
        super().close()
        if self._state_fd >= 0:
            os.close(self._state_fd)
            self._state_fd = -1

    def _descriptors(self) -> list[int]:
        return [self._fd, self._state_fd]

    def _forget_descriptors(self) -> None:
        self._fd = self._state_fd = -1

    def append(self, bodies: list[bytes], fsync: bool, recovery: RecoveryEncoder) -> int:
        return self._append_segmented(bodies, fsync, recovery)

    def _append_segmented(self, bodies: list[bytes], fsync: bool, recovery: RecoveryEncoder) -> int:
        state_fd = self._locked_state()
        try:
            state, stored = _read_state(state_fd)
            if self.tail:
                found = segments(self.path.parent, self.session_id)
                last = found[-1][1] if found else self.path
                if self._fd < 0 or self.live != last or os.fstat(self._fd).st_nlink == 0:
                    self.close_segment()
                    self._open(last, os.O_CREAT)
                seq = self._write_lines(self._fd, os.fstat(self._fd).st_size, bodies, fsync, recovery)
            else:
                size = self._open_size(state)
                if size is None:
                    seq = self._start_segment(state, bodies, fsync)
                elif size:
                    seq = self._write_lines(self._fd, size, bodies, fsync, recovery)
                else:  # made, then the writer died before its first line
                    seq = self._write_chained(
                        self._fd, 0, *_tip(state, self.path.parent, self.session_id), bodies, fsync
                    )
                state.update(segment=self.live.name, closed=False)  # with tail, the open segment stays open
            assert self._tail is not None
            state.update(seq=seq, digest=self._tail.digest)
            _write_state(state_fd, state, stored)
            return seq
        finally:
            fcntl.flock(state_fd, fcntl.LOCK_UN)

    def close_segment(self) -> None:
        """Close the segment file kept open (not the state)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._tail = None

    def _locked_state(self) -> int:
        self._drop_if_forked()
        if self._state_fd < 0:
            self.place.states.mkdir(parents=True, exist_ok=True)
            self._state_fd = open_regular(self.place.states / self.session_id, os.O_RDWR | os.O_CREAT)
            self._pid = os.getpid()
        fcntl.flock(self._state_fd, fcntl.LOCK_EX)
        return self._state_fd

    def _open_size(self, state: dict[str, object]) -> int | None:
        """The size of the open segment named in *state*, opened, when it is still there and still
        not in git; else None (a new segment is due)."""
        name = state.get("segment")
        if not isinstance(name, str) or state.get("closed") or parse_name(name) is None:
            return None
        if self._fd >= 0 and self.live.name != name:
            self.close_segment()
        if self._fd < 0:
            try:
                self._open(self.path.parent / name, 0)
            except FileNotFoundError:
                return None  # taken away (git stash -u, git clean): never made again under that name
        st = os.fstat(self._fd)
        if st.st_nlink == 0:
            self.close_segment()  # removed since: never made again under that name
            return None
        stamp = index_stamp(self._index)
        if stamp != state.get("index"):
            if _git.in_index(self.live, top=self.place.top):
                return None  # staged or committed: a committed file is never written again
            state["index"] = stamp
        return st.st_size

    def _start_segment(self, state: dict[str, object], bodies: list[bytes], fsync: bool) -> int:
        """Write *bodies* into a new segment that goes on from the session's last line."""
        self.close_segment()
        seq, digest = _tip(state, self.path.parent, self.session_id)
        for _ in range(3):
            path = self.path.parent / segment_name(self.session_id, seq + 1)
            real_folder(path.parent, create=True, top=self.place.top)
            try:
                fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                # A segment of that name is here already (a state lost or older than the files):
                # go on from the last line present instead.
                seq, digest = _tip({}, self.path.parent, self.session_id)
                continue
            self._fd, self._pid, self.live, self._tail = fd, os.getpid(), path, None
            state["index"] = index_stamp(self._index)
            return self._write_chained(fd, 0, seq, digest, bodies, fsync)
        raise AppendError(f"cannot start a new segment of {self.session_id} in {self.path.parent}")

    def close_if_open(self, name: str) -> None:
        """Close the segment *name* if it is this session's open one (it is about to be staged)."""
        if not (self.place.states / self.session_id).exists():
            return
        state_fd = self._locked_state()
        try:
            state, stored = _read_state(state_fd)
            if state.get("segment") == name and not state.get("closed"):
                state["closed"] = True
                _write_state(state_fd, state, stored)
        finally:
            fcntl.flock(state_fd, fcntl.LOCK_UN)
            self.close()

    def _empty_tail(self) -> tuple[int, str | None]:
        """An empty segment (its writer died before its first line) goes on from the line before
        the one its name says it starts at."""
        start = parse_name(self.live.name)
        return (start[1] - 1 if start else 0), None


def close_segments(place: Place, paths: list[Path]) -> None:
    """Close those of *paths* that are their session's open segment: the commit hook is about to
    stage exactly these files, so no append may go into them any more (the next append of each
    session starts a new segment). A segment made after the caller listed *paths* stays open."""
    for path in paths:
        parsed = parse_name(path.name)
        if parsed is None:
            continue
        handle = SegmentedFile(path.parent / f"{parsed[0]}.jsonl", parsed[0], place)
        try:
            handle.close_if_open(path.name)
        except (AppendError, OSError):
            continue
        finally:
            handle.close()


def move_old_spool(folder: Path, place: Place) -> list[str]:
    """Move lines an earlier version spooled in the git directory into new segments, streaming
    (a spool of any size), and remove a spool only once its lines are written and synced.
    Returns what could not be moved, and why (those lines stay where they were)."""
    spool = old_spool(place)
    problems: list[str] = []
    if not spool.is_dir():
        return problems
    for path in sorted(spool.glob("*.jsonl")):
        session_id = path.name[: -len(".jsonl")]
        try:
            _move_spooled(folder, session_id, path)
        except (AppendError, OSError, ValueError) as exc:
            problems.append(f"{session_id}: {exc}")
    return problems


def _move_spooled(folder: Path, session_id: str, spool: Path) -> None:
    last_seq, digest = _tip({}, folder, session_id)
    with open(spool, "rb") as stream:
        lines = (line for line in stream if line.endswith(b"\n") and (seq_of(line) or 0) > last_seq)
        first = next(lines, None)
        if first is None:
            spool.unlink()
            return
        event = orjson.loads(first)
        if event.get("seq") != last_seq + 1 or event.get("prev") != digest:
            raise ValueError(
                f"the spooled lines of {spool} continue line {event.get('seq', 0) - 1} of another version of "
                f"the session (here it has {last_seq} lines); they are kept there"
            )
        target = folder / segment_name(session_id, last_seq + 1)
        real_folder(folder, create=True)
        out = open_regular(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            write_all(out, first)
            for line in lines:
                write_all(out, line)
            os.fsync(out)
        finally:
            os.close(out)
    fsync_dir(folder)
    spool.unlink()


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


def _tip(state: dict[str, object], folder: Path, session_id: str) -> tuple[int, str | None]:
    """``(seq, digest)`` of the session's last line: what the state recorded, or the last complete
    line of the newest segment here when that is further on (a writer died before updating the
    state, or there is no state)."""
    seq, digest = state.get("seq"), state.get("digest")
    best: tuple[int, str | None] = (seq, digest) if isinstance(seq, int) and isinstance(digest, str) else (0, None)
    found = segments(folder, session_id)
    if found:
        try:
            fd = open_regular(found[-1][1], os.O_RDONLY)
        except (OSError, AppendError):
            return best
        try:
            size = os.fstat(fd).st_size
            keep = size if size and os.pread(fd, 1, size - 1) == b"\n" else line_start(fd, size)
            last = read_last(fd, keep)
        finally:
            os.close(fd)
        if last[0] > best[0]:
            best = last
    return best


def _read_state(fd: int) -> tuple[dict[str, object], int]:
    """A segment state and how many bytes it took; an unreadable one (a writer died mid-update)
    reads as none."""
    data = os.pread(fd, 1 << 16, 0)
    try:
        value = orjson.loads(data) if data else {}
    except orjson.JSONDecodeError:
        return {}, len(data)
    return (value if isinstance(value, dict) else {}), len(data)


def _write_state(fd: int, state: dict[str, object], stored: int) -> None:
    """Write *state* over the *stored* bytes it was read from, cutting what is left of them."""
    data = orjson.dumps(state)
    os.pwrite(fd, data, 0)
    if len(data) < stored:
        os.ftruncate(fd, len(data))
