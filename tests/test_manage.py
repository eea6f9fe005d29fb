from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from conftest import original

from sessionlog import LogManager, SessionLogger

NOW = datetime(2026, 1, 20, tzinfo=UTC)


def make(logger: SessionLogger, session_id: str, stamp: str | None, n: int = 3) -> bytes:
    for _ in range(n):
        assert logger.append_event(session_id, "tool_call", "claude_code", "x", timestamp=stamp).ok
    return logger.session_path(session_id).read_bytes()


def test_age_is_the_last_event_not_the_file_mtime(logger: SessionLogger) -> None:
    old = make(logger, "old", "2025-11-01T00:00:00Z")
    make(logger, "fresh", "2026-01-19T00:00:00Z")
    for p in logger.base_dir.glob("*.jsonl"):
        os.utime(p, (0, 0))  # a clone resets mtimes; they must not matter
    manager = LogManager(logger.base_dir)
    items = manager.plan_cleanup(30, now=NOW)
    assert [(i.session_id, i.action) for i in items] == [("old", "archived")]
    archive = logger.base_dir / "archive" / "old.jsonl.gz"
    assert gzip.decompress(archive.read_bytes()) == old
    assert not logger.session_path("old").exists()
    assert logger.session_path("fresh").exists()


def test_dry_run_changes_nothing(logger: SessionLogger) -> None:
    make(logger, "old", "2020-01-01T00:00:00Z")
    before = {p: p.read_bytes() for p in logger.base_dir.rglob("*") if p.is_file()}
    manager = LogManager(logger.base_dir)
    assert manager.cleanup_old_sessions(older_than_days=30, dry_run=True) == 1
    assert {p: p.read_bytes() for p in logger.base_dir.rglob("*") if p.is_file()} == before


def test_guide_signature_archives_and_counts(logger: SessionLogger) -> None:
    make(logger, "a", "2020-01-01T00:00:00Z")
    make(logger, "b", "2020-01-02T00:00:00+02:00")
    assert LogManager(logger.base_dir).cleanup_old_sessions(older_than_days=30, archive_first=True) == 2


def test_existing_archive_is_never_overwritten(logger: SessionLogger) -> None:
    make(logger, "a", "2020-01-01T00:00:00Z")
    archive = logger.base_dir / "archive"
    archive.mkdir()
    (archive / "a.jsonl.gz").write_bytes(gzip.compress(b"other\n"))
    items = LogManager(logger.base_dir).plan_cleanup(30)
    assert items[0].action.startswith("skipped: ") and "already exists" in items[0].action
    assert logger.session_path("a").exists()
    assert gzip.decompress((archive / "a.jsonl.gz").read_bytes()) == b"other\n"


def test_unreadable_last_line_is_skipped_not_archived(logger: SessionLogger) -> None:
    logger.base_dir.mkdir(parents=True)
    logger.session_path("junk").write_bytes(b"not json\n")
    items = LogManager(logger.base_dir).plan_cleanup(0)
    assert items[0].action.startswith("skipped")
    assert logger.session_path("junk").exists()


def test_restore_round_trip_and_refusals(logger: SessionLogger) -> None:
    original = make(logger, "s", "2020-01-01T00:00:00Z")
    manager = LogManager(logger.base_dir)
    manager.cleanup_old_sessions(30)
    assert manager.restore_session("s") is True
    assert logger.session_path("s").read_bytes() == original
    assert not (logger.base_dir / "archive" / "s.jsonl.gz").exists()
    # a different live session is never overwritten
    manager.cleanup_old_sessions(30)
    logger.append_event("s", "tool_call", "claude_code", "x")
    live = logger.session_path("s").read_bytes()
    ok, error = manager.try_restore_session("s")
    assert not ok and "different content" in (error or "")
    assert logger.session_path("s").read_bytes() == live
    assert manager.restore_session("missing") is False
    assert manager.try_restore_session("../etc")[0] is False


def test_restore_bounds_decompression(logger: SessionLogger) -> None:
    archive = logger.base_dir / "archive"
    archive.mkdir(parents=True)
    (archive / "bomb.jsonl.gz").write_bytes(gzip.compress(b"\n" * (5 << 20)))
    manager = LogManager(logger.base_dir, max_restore_bytes=1 << 20)
    ok, error = manager.try_restore_session("bomb")
    assert not ok and "max_restore_bytes" in (error or "")
    assert not logger.session_path("bomb").exists()


def test_original_implementation_archive_restores(logger: SessionLogger) -> None:
    archive = logger.base_dir / "archive"
    archive.mkdir(parents=True)
    shutil.copy(original("test_session_001.jsonl.gz"), archive)
    assert LogManager(logger.base_dir).restore_session("test_session_001")
    written = original("test_session_001.jsonl").read_bytes()
    assert logger.session_path("test_session_001").read_bytes() == written
    assert logger.verify_session("test_session_001").ok


def test_storage_stats(logger: SessionLogger) -> None:
    make(logger, "a", "2020-01-01T00:00:00Z", n=4)
    make(logger, "b", None, n=2)  # now
    manager = LogManager(logger.base_dir)
    manager.cleanup_old_sessions(30)
    stats = manager.get_storage_stats()
    assert {"active_size_mb", "archived_size_mb"} <= stats.keys()
    assert (stats["active_sessions"], stats["active_events"], stats["archived_sessions"]) == (1, 2, 1)
    assert stats["active_size_bytes"] == logger.session_path("b").stat().st_size


def test_appender_waiting_during_archive_writes_to_a_fresh_file(logger: SessionLogger, sessions_dir: Path) -> None:
    make(logger, "s", "2020-01-01T00:00:00Z")  # the logger keeps its fd open
    LogManager(sessions_dir).cleanup_old_sessions(30)
    result = logger.append_event("s", "decision", "claude_code", "x")
    assert result.ok and result.seq == 1  # not lost into the unlinked inode
    assert len(logger.read_session("s")) == 1
