"""Code written against the original session_logger.py / log_management.py keeps working when its
import becomes `from sessionlog import ...`, and a repository carrying the original schema keeps
logging after `sessionlog migrate`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import original
from gitrepo import Repo

from sessionlog import LogManager, SchemaError, SessionLogger


def test_the_original_constructor_keywords_and_positional_confidence(tmp_path: Path) -> None:
    sessions = tmp_path / ".ai-agents" / "sessions"
    logger = SessionLogger(sessions_dir=sessions)
    assert logger.sessions_dir == sessions
    # the original's order: ..., key_entities, dependencies, confidence
    ok, error = logger.append_event(
        "s1", "decision", "claude_code", "planning", {"choice": "a"}, None, None, None, None, None, None, 0.7
    )
    assert ok, error
    assert logger.read_session("s1")[0]["provenance"]["confidence"] == 0.7
    with pytest.raises(TypeError, match="not both"):
        SessionLogger(sessions, sessions_dir=sessions)


def test_the_original_log_manager_methods(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    with SessionLogger(sessions) as logger:
        for sid in ("a", "b"):
            assert logger.append_event(sid, "tool_call", "codex", "x").ok
    manager = LogManager(sessions_dir=sessions)
    assert manager.sessions_dir == sessions
    assert manager.list_sessions() == ["a", "b"] and manager.list_sessions(archived=True) == []
    assert manager.get_session_size("a") == (sessions / "a.jsonl").stat().st_size > 0
    assert manager.get_session_size("missing") == 0
    assert timedelta(0) <= manager.get_session_age("a") < timedelta(minutes=5)
    assert manager.get_session_age("missing") == timedelta(0)
    before = (sessions / "a.jsonl").read_bytes()
    assert manager.archive_session("a")  # gzip by default
    assert manager.archive_session("b", compress=False)  # a plain copy, as the original could
    assert (sessions / "archive" / "a.jsonl.gz").is_file() and (sessions / "archive" / "b.jsonl").is_file()
    assert manager.list_sessions() == [] and manager.list_sessions(archived=True) == ["a", "b"]
    assert manager.get_storage_stats()["archived_sessions"] == 2
    assert manager.restore_session("a") and manager.restore_session("b")
    assert (sessions / "a.jsonl").read_bytes() == before
    assert manager.list_sessions() == ["a", "b"] and not manager.archive_session("missing")


def test_an_uncompressed_archive_passes_the_commit_check(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "install-hooks")
    repo.log("s1", 2)
    repo.commit("logged")
    assert LogManager(repo.sessions).archive_session("s1", compress=False)
    repo.commit("archived, uncompressed")
    assert LogManager(repo.sessions).restore_session("s1")
    repo.commit("restored")
    (repo.sessions / "archive").mkdir(exist_ok=True)
    shutil.copy(repo.file("s1"), repo.sessions / "archive" / "s1.jsonl")
    (repo.sessions / "archive" / "s1.jsonl").write_bytes(b"edited\n")
    repo.file("s1").unlink()
    proc = repo.commit("archive that is not the session", check=False)
    assert proc.returncode == 1 and "does not decompress to exactly the removed" in proc.stdout + proc.stderr


def test_a_repository_with_the_original_schema_is_told_to_migrate_then_logs(tmp_path: Path) -> None:
    context = tmp_path / ".ai-agents" / "session_context"
    context.mkdir(parents=True)
    schema = context / "SESSION_LOG_SCHEMA.json"
    shutil.copy(original("SESSION_LOG_SCHEMA.json"), schema)
    sessions = tmp_path / ".ai-agents" / "sessions"
    sessions.mkdir()
    shutil.copy(original("test_session_001.jsonl"), sessions)
    with pytest.raises(SchemaError, match="Run `sessionlog migrate`"):
        SessionLogger(sessions)
    run = [sys.executable, "-m", "sessionlog", "migrate", "--dir", str(sessions)]
    out = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "event_id pattern ^evt_[0-9a-f]{8}$ widened" in out
    migrated = json.loads(schema.read_text())
    assert migrated["definitions"]["event"]["properties"]["provenance"]["properties"]["agent"]["enum"] == [
        "claude_code", "gemini", "codex", "user",
    ]  # fmt: skip
    assert "needs nothing" in subprocess.run(run, capture_output=True, text=True, check=True).stdout
    with SessionLogger(sessions) as logger:
        assert logger.append_event("test_session_001", "tool_call", "codex", "x").ok
        assert logger.verify_session("test_session_001").ok
        refused = logger.append_event("test_session_001", "tool_call", "bard", "x")
        assert not refused.ok and "is not one of" in (refused.error or "")  # its rules still apply


def test_timestamps_without_an_offset_are_read_as_utc_and_called_ambiguous(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    line = {
        "event_id": "evt_0123abcd",
        "timestamp": "2025-12-10T17:18:17.912595",
        "event_type": "user_message",
        "provenance": {"source": "terminal", "agent": "user"},
    }
    (sessions / "s.jsonl").write_text(json.dumps(line) + "\n")
    with SessionLogger(sessions, segments=False) as logger:
        assert len(logger.query_events("s", after_timestamp="2025-12-10T17:00:00Z")) == 1
        assert logger.query_events("s", after_timestamp="2025-12-10T18:00:00Z") == []
        report = logger.verify_session("s")
    assert not report.ok and "no UTC offset: ambiguous; queries read it as UTC" in str(report.findings[0])
