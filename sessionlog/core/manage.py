"""LogManager: archive old sessions, restore them, and report storage."""

from __future__ import annotations

import fcntl
import gzip
import logging
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sessionlog.core.archive import read_archive
from sessionlog.core.ids import session_id_error
from sessionlog.core.paths import ARCHIVE_DIR, ARCHIVE_SUFFIX, SUFFIX, default_sessions_dir
from sessionlog.core.queries import line_instant, parse_instant
from sessionlog.core.reader import open_session_file
from sessionlog.core.segments import parse_name, place_of, segment_files, segments, session_ids
from sessionlog.core.store import AppendError, count_newlines, fsync_dir, real_folder

log = logging.getLogger("sessionlog")

DEFAULT_MAX_RESTORE_BYTES = 1 << 30
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CleanupItem:
    """One session a cleanup looked at, and what it did or would do."""

    session_id: str
    last_event: str | None
    action: str  # "archived", "deleted", "would archive", "would delete", "skipped: <why>"


class LogManager:
    """Archive, restore and measure the sessions in one sessions folder."""

    def __init__(
        self,
        base_dir: str | Path | None = None,
        *,
        sessions_dir: str | Path | None = None,
        max_restore_bytes: int = DEFAULT_MAX_RESTORE_BYTES,
    ) -> None:
        """*sessions_dir* is the original implementation's name for *base_dir*."""
        folder = _one_folder(base_dir, sessions_dir)
        self.base_dir = Path(folder) if folder is not None else default_sessions_dir()
        self.archive_dir = self.base_dir / ARCHIVE_DIR
        self.max_restore_bytes = max_restore_bytes

    @property
    def sessions_dir(self) -> Path:
        return self.base_dir

    # -- the original implementation's API -----------------------------------

    def list_sessions(self, archived: bool = False) -> list[str]:
        """Ids of the live sessions, or with *archived* of the archived ones."""
        if archived:
            names = {p.name for p in self.archive_dir.glob("*.jsonl*") if p.is_file() and not p.is_symlink()}
            return sorted({n.removesuffix(".gz").removesuffix(SUFFIX) for n in names if n.endswith((SUFFIX, ".gz"))})
        return sorted(session_ids(self.base_dir))

    def _files(self, session_id: str) -> list[Path]:
        """The regular files holding a live session's lines, in order (see ``_segments``)."""
        return [p for _, p in segments(self.base_dir, session_id) if p.is_file() and not p.is_symlink()]

    def get_session_size(self, session_id: str) -> int:
        """Bytes of a live session (all its segments); 0 when there is none."""
        return sum(p.stat().st_size for p in self._files(session_id))

    def get_session_age(self, session_id: str) -> timedelta:
        """Time since a live session's last event (its file's modification time when no line has
        a readable timestamp); zero when there is no such session."""
        files = self._files(session_id)
        if not files:
            return timedelta(0)
        last = last_event_time(files)
        if last is None:
            last = datetime.fromtimestamp(files[-1].stat().st_mtime, UTC)
        return datetime.now(UTC) - last

    def archive_session(self, session_id: str, compress: bool = True) -> bool:
        """Archive one session (gzip, or with ``compress=False`` a plain copy); True on success."""
        ok, error = self.try_archive_session(session_id, compress=compress)
        if not ok:
            log.warning("archive %s: %s", session_id, error)
        return ok

    def try_archive_session(self, session_id: str, *, compress: bool = True) -> tuple[bool, str | None]:
        """Archive *session_id* (all its segments, in order); return ``(ok, error)``."""
        problem = session_id_error(session_id)
        if problem is not None:
            return False, problem
        if not self._files(session_id):
            return False, f"no session {self.base_dir / f'{session_id}{SUFFIX}'}"
        error = self._archive(session_id, compress=compress)
        return error is None, error

    # -- cleanup -----------------------------------------------------------

    def cleanup_old_sessions(
        self, older_than_days: float = 30, archive_first: bool = True, *, dry_run: bool = False
    ) -> int:
        """Archive (or, with ``archive_first=False``, delete) sessions whose last
        event is older than *older_than_days*; return how many were (or would be) handled."""
        return sum(
            1
            for item in self.plan_cleanup(older_than_days, archive_first, dry_run=dry_run)
            if not item.action.startswith("skipped")
        )

    def plan_cleanup(
        self, older_than_days: float, archive_first: bool = True, *, dry_run: bool = False, now: datetime | None = None
    ) -> list[CleanupItem]:
        """Like cleanup_old_sessions, but return what happened to each old session."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        items = []
        for session_id in sorted(session_ids(self.base_dir)):
            files = self._files(session_id)
            if not files:
                continue
            last = last_event_time(files)
            if last is None:
                items.append(CleanupItem(session_id, None, "skipped: no readable timestamp on its last line"))
                continue
            if last >= cutoff:
                continue
            stamp = last.isoformat()
            if dry_run:
                items.append(CleanupItem(session_id, stamp, "would archive" if archive_first else "would delete"))
                continue
            error = self._archive(session_id) if archive_first else self._delete(session_id)
            action = ("archived" if archive_first else "deleted") if error is None else f"skipped: {error}"
            if error is not None:
                log.warning("%s: %s", session_id, error)
            items.append(CleanupItem(session_id, stamp, action))
        return items

    def _archive(self, session_id: str, *, compress: bool = True) -> str | None:
        target = self.archive_dir / f"{session_id}{ARCHIVE_SUFFIX if compress else SUFFIX}"
        for existing in (
            self.archive_dir / f"{session_id}{ARCHIVE_SUFFIX}",
            self.archive_dir / f"{session_id}{SUFFIX}",
        ):
            if existing.exists() or existing.is_symlink():
                return f"{existing} already exists; restore or move it first"
        try:
            real_folder(self.base_dir)
            real_folder(self.archive_dir, create=True)
        except AppendError as exc:
            return str(exc)
        with self._locked(session_id):
            files = self._files(session_id)
            original = b"".join(_read_file(p) for p in files)
            tmp_fd, tmp = _exclusive_temp(target)
            try:
                with open(tmp_fd, "wb") as raw:
                    if compress:
                        with gzip.GzipFile(filename=f"{session_id}{SUFFIX}", mode="wb", fileobj=raw, mtime=0) as gz:
                            gz.write(original)
                    else:
                        raw.write(original)
                    raw.flush()
                    os.fsync(raw.fileno())
                if read_archive(tmp, len(original) + 1, compressed=compress) != original:
                    return "the archive did not decompress to the same bytes; the session was kept"
                os.link(tmp, target)  # fails rather than overwrite an archive made meanwhile
            except FileExistsError:
                return f"{target} appeared while archiving; the session was kept"
            finally:
                tmp.unlink(missing_ok=True)
            fsync_dir(self.archive_dir)
            for path in files:
                path.unlink()  # under the lock: a waiting writer sees nlink == 0 and reopens
            fsync_dir(self.base_dir)
        return None

    def _delete(self, session_id: str) -> str | None:
        with self._locked(session_id):
            for path in self._files(session_id):
                path.unlink()
        return None

    def _locked(self, session_id: str) -> _locked:
        """The lock writers of *session_id* take: its segment state in a git work tree, else its file."""
        place = place_of(self.base_dir)
        if place is None:
            return _locked(self.base_dir / f"{session_id}{SUFFIX}")
        place.states.mkdir(parents=True, exist_ok=True)
        return _locked(place.states / session_id, create=True)

    # -- restore -----------------------------------------------------------

    def restore_session(self, session_id: str) -> bool:
        """Move an archived session back to the live folder; True on success."""
        ok, error = self.try_restore_session(session_id)
        if not ok:
            log.warning("restore %s: %s", session_id, error)
        return ok

    def try_restore_session(self, session_id: str) -> tuple[bool, str | None]:
        """Restore *session_id*; return ``(ok, error)``.

        Refuses to overwrite a live session with different content and stops
        decompressing past ``max_restore_bytes``.
        """
        problem = session_id_error(session_id)
        if problem is not None:
            return False, problem
        target = self.base_dir / f"{session_id}{SUFFIX}"
        # gzip as sessionlog writes them, or a plain copy as the original implementation could
        candidates = [self.archive_dir / f"{session_id}{suffix}" for suffix in (ARCHIVE_SUFFIX, SUFFIX)]
        source = next((c for c in candidates if c.is_file() and not c.is_symlink()), candidates[0])
        if source.is_symlink() or not source.is_file():
            return False, f"no archive {source}"
        try:
            content = read_archive(source, self.max_restore_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            return False, f"{source} is not a readable gzip file: {exc}"
        if content is None:
            return False, f"{source} decompresses to more than {self.max_restore_bytes} bytes (max_restore_bytes)"
        if target.exists() or target.is_symlink():
            if target.is_symlink() or target.read_bytes() != content:
                return False, f"{target} exists with different content; it was left as it is"
            source.unlink()
            return True, None
        try:
            real_folder(self.base_dir)
        except AppendError as exc:
            return False, str(exc)
        tmp_fd, tmp = _exclusive_temp(target)
        try:
            with open(tmp_fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.link(tmp, target)
        except FileExistsError:
            return False, f"{target} appeared while restoring; it was left as it is"
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.base_dir)
        source.unlink()
        fsync_dir(self.archive_dir)
        return True, None

    # -- stats -------------------------------------------------------------

    def get_storage_stats(self) -> dict[str, Any]:
        """Sizes in MB and counts of live and archived sessions."""
        live = list(segment_files(self.base_dir))
        archived = [
            p
            for p in self.archive_dir.glob("*.jsonl*")
            if p.name.endswith((ARCHIVE_SUFFIX, SUFFIX)) and p.is_file() and not p.is_symlink()
        ]
        live_bytes = sum(p.stat().st_size for p in live)
        archived_bytes = sum(p.stat().st_size for p in archived)
        return {
            "active_sessions": len({_session_of(p) for p in live}),
            "active_events": sum(_newlines_in(p) for p in live),
            "active_size_bytes": live_bytes,
            "active_size_mb": round(live_bytes / 1_048_576, 3),
            "archived_sessions": len(archived),
            "archived_size_bytes": archived_bytes,
            "archived_size_mb": round(archived_bytes / 1_048_576, 3),
            "total_size_mb": round((live_bytes + archived_bytes) / 1_048_576, 3),
        }


def last_event_time(files: list[Path]) -> datetime | None:
    """The latest instant among a session's complete lines, or None when none has one. The
    latest, not the last line's: lines are in the order they were written, and an import writes
    a subagent's records after its parent's though they happened before."""
    newest: str | None = None
    for path in files:
        try:
            stream = open_session_file(path)
        except OSError:
            continue
        with stream:
            for line in stream:
                if not line.endswith(b"\n"):
                    break  # a torn tail is not an event
                stamp = line_instant(line)
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
    return parse_instant(newest, what="timestamp") if newest is not None else None


class _locked:
    """Hold ``flock(LOCK_EX)`` on a session file, as writers do."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
        self.fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)

    def __enter__(self) -> int:
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self.fd

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)


def _one_folder(base_dir: str | Path | None, sessions_dir: str | Path | None) -> str | Path | None:
    if base_dir is not None and sessions_dir is not None:
        raise TypeError("give base_dir or sessions_dir (the original implementation's name), not both")
    return base_dir if base_dir is not None else sessions_dir


def _exclusive_temp(target: Path) -> tuple[int, Path]:
    """A new temporary file beside *target*, under a name nobody could predict, created
    exclusively and never through a link (``mkstemp``: ``O_EXCL | O_NOFOLLOW``)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(fd, 0o644)
    return fd, Path(name)


def _session_of(path: Path) -> str:
    parsed = parse_name(path.name)
    return parsed[0] if parsed is not None else path.name


def _read_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return _read_all(fd)
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        block = os.pread(fd, _CHUNK, offset)
        if not block:
            return b"".join(chunks)
        chunks.append(block)
        offset += len(block)


def _newlines_in(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return count_newlines(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
