from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared
from gitrepo import Repo

from sessionlog import SessionLogger
from sessionlog.cli import main


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessionlog", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_demo_runs_and_reports(tmp_path: Path) -> None:
    proc = run("--dir", str(tmp_path / "s"), "demo")
    assert proc.returncode == 0, proc.stderr
    assert "read_session: 6 events" in proc.stdout
    assert "- Deploy to production: pending" in proc.stdout
    assert "ghp_" not in proc.stdout.split("redacted in the error event")[1]
    assert "verify_session: ok" in proc.stdout


def test_verify_clean_legacy_and_broken_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logger = SessionLogger(tmp_path)
    for i in range(3):
        logger.append_event("good", "tool_call", "claude_code", "x", data={"i": i})
    good = logger.session_path("good")
    assert main(["verify", str(good)]) == 0
    legacy = shared("reference", "original-format", "test_session_001.jsonl")
    assert main(["verify", str(legacy)]) == 0
    assert "3 legacy line(s) without chain fields" in capsys.readouterr().out

    lines = good.read_bytes().splitlines(keepends=True)
    (tmp_path / "copy").mkdir()
    bad = tmp_path / "copy" / "good.jsonl"
    bad.write_bytes(lines[0] + lines[2] + lines[1])  # reordered
    assert main(["verify", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{bad}:2: seq is 3 but this is line 2: a line was removed, inserted or reordered"
    assert all(line.startswith(f"{bad}:") for line in out)

    edited = bad
    edited.write_bytes(lines[0].replace(b'"i":0', b'"i":9') + lines[1] + lines[2])
    assert main(["verify", "-o", "json", str(edited)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["ok"] is False
    assert report[0]["findings"][0]["line"] == 2
    assert "prev does not match the previous line" in report[0]["findings"][0]["message"]


def test_verify_reports_schema_and_parse_errors_with_locations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"event_id":"evt_0123abcd","timestamp":"noon","event_type":"tool_call","provenance":{"source":"s","agent":"a"}}\n'
        "not json\n"
    )
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}:1: $.timestamp: 'noon' is not a 'date-time'"
    assert out[1].startswith(f"{path}:2: not valid JSON")


def test_append_query_commitments_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--dir", str(tmp_path)]
    append = [*base, "append", "--session", "s", "--agent", "codex", "--source", "sh", "--type"]
    ledger = '[{"attempt": "make", "failure_reason": "exit 2"}]'
    promise = '[{"commitment": "fix build", "status": "pending"}]'
    assert main([*append, "error", "--failure-ledger", ledger, "--open-commitments", promise]) == 0
    event_id = capsys.readouterr().out.strip()
    assert event_id.startswith("evt_")
    assert main([*append, "chat"]) == 1
    assert "$.event_type" in capsys.readouterr().err
    assert main([*append, "error", "--data", "{bad"]) == 2
    assert main([*base, "query", "s", "--type", "error"]) == 0
    assert json.loads(capsys.readouterr().out)["event_id"] == event_id
    assert main([*base, "query", "s", "--after", "noon"]) == 2
    assert main([*base, "commitments", "s"]) == 0
    assert "- [pending] fix build" in capsys.readouterr().out
    assert main([*base, "failures", "s", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["failure_reason"] == "exit 2"


def test_archive_restore_stats_session_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logger = SessionLogger(tmp_path)
    logger.append_event("old", "tool_call", "claude_code", "x", timestamp="2020-01-01T00:00:00Z")
    base = ["--dir", str(tmp_path)]
    assert main([*base, "archive", "--older-than", "30", "--dry-run"]) == 0
    assert "old: would archive" in capsys.readouterr().out
    assert logger.session_path("old").exists()
    assert main([*base, "archive", "--older-than", "30"]) == 0
    assert not logger.session_path("old").exists()
    assert "old: archived" in capsys.readouterr().out
    assert main([*base, "stats"]) == 0
    assert json.loads(capsys.readouterr().out)["archived_sessions"] == 1
    assert main([*base, "restore", "old"]) == 0
    assert main([*base, "restore", "old"]) == 1
    assert main(["session-id", "claude"]) == 0
    assert capsys.readouterr().out.startswith("claude_")


def test_verify_applies_the_repository_schema_and_scans_for_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = tmp_path / ".ai-agents" / "sessions"
    logger = SessionLogger(sessions, redact=False)
    logger.append_event("s", "tool_call", "gemini", "x", data={"out": "key AKIAQ7XK2LM3PZ4RT6VW"})
    context = tmp_path / ".ai-agents" / "session_context"
    context.mkdir()
    (context / "SESSION_LOG_SCHEMA.json").write_text(
        json.dumps({"properties": {"provenance": {"properties": {"agent": {"enum": ["claude_code"]}}}}})
    )
    assert main(["verify", str(sessions / "s.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "s.jsonl:1: $.provenance.agent: 'gemini' is not one of ['claude_code']" in out
    assert "s.jsonl:1: unredacted secret: aws-access-token at $.data.out" in out


def test_exit_codes_come_from_one_error_handler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sessionlog.cli import _storage

    # a bug is a crash (3) with its traceback, never a finding (1)
    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug")

    parser_func = _storage.stats
    try:
        _storage.stats = broken  # type: ignore[assignment]
        assert main(["--dir", str(tmp_path), "stats"]) == 3
    finally:
        _storage.stats = parser_func
    err = capsys.readouterr().err
    assert "Traceback" in err and "crashed (ZeroDivisionError: a bug); this is a bug" in err
    # usage errors are 2
    assert main(["--dir", str(tmp_path), "query", "s", "--after", "yesterday"]) == 2
    assert main(["--dir", str(tmp_path), "append", "--session", "s", "--type", "tool_call", "--agent", "a",
                     "--source", "x", "--data", "{not json"]) == 2  # fmt: skip
    assert "--data: not valid JSON" in capsys.readouterr().err


def test_usage_errors_outside_git_and_unknown_revisions(tmp_path: Path) -> None:
    import subprocess
    import sys

    run = [sys.executable, "-m", "sessionlog"]
    outside = subprocess.run([*run, "activate", "x"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert outside.returncode == 2 and "not inside a git work tree" in outside.stderr
    repo = Repo(tmp_path / "repo")
    repo.log("s1", 1)
    repo.commit("one")
    proc = repo.run(*run, "ci", "--head", "no-such-branch", check=False)
    assert proc.returncode == 2 and "--head no-such-branch is not a commit" in proc.stderr
    hook = repo.run(
        sys.executable, "-m", "sessionlog.hooks.check", env={"GIT_DIR": str(tmp_path / "nope")}, check=False
    )
    assert hook.returncode == 2 and "not inside a git work tree" in hook.stderr
    version = repo.run(*run, "--version")
    assert version.stdout.startswith("sessionlog ")
    for flag in ("-o", "--output", "--format"):  # --format: the old name, still accepted
        out = repo.run(*run, "ci", flag, "json")
        assert json.loads(out.stdout) == {"ok": True, "findings": []}
    gh = repo.run(*run, "verify", "-o", "github", str(repo.file("s1")))
    assert gh.returncode == 0 and gh.stdout == ""
