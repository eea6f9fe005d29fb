from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import original
from gitrepo import Repo

from sessionlog import LogManager, SessionLogger
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
    opened_then_completed = proc.stdout.split("commitment fix-deploy, as logged:")[1].splitlines()[1:3]
    assert [line.split(": ")[1] for line in opened_then_completed] == ["in_progress", "completed"]
    assert "Fix scripts/deploy.sh" not in proc.stdout.split("get_open_commitments")[1].split("get_failure")[0]
    assert "ghp_" not in proc.stdout.split("redacted in the error event")[1]
    assert "verify_session: ok" in proc.stdout


def test_verify_clean_legacy_and_broken_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logger = SessionLogger(tmp_path)
    for i in range(3):
        logger.append_event("good", "tool_call", "claude_code", "x", data={"i": i})
    good = logger.session_path("good")
    assert main(["verify", str(good)]) == 0
    legacy = original("test_session_001.jsonl")
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
    report = json.loads(capsys.readouterr().out)  # the one report shape, as ci and the hook write it
    assert report["ok"] is False and report["files"][0]["ok"] is False
    assert report["findings"][0]["line"] == 2 and report["findings"][0]["path"] == str(edited)
    assert "prev does not match the previous line" in report["findings"][0]["message"]


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
    assert capsys.readouterr().out == "old: restored\n"  # a person is told it worked
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


# an append with every required option, for the tests of its optional ones
APPEND = ["append", "--session", "s", "--type", "tool_call", "--agent", "a", "--source", "x"]


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
    assert main(["--dir", str(tmp_path), *APPEND, "--data", "{not json"]) == 2
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


def _two_sessions(tmp_path: Path) -> tuple[SessionLogger, str]:
    logger = SessionLogger(tmp_path, segments=False)
    first = logger.append_event("s1", "user_message", "user", "terminal", data={"message": "ship the fix"})
    second = logger.append_event(
        "s1",
        "decision",
        "claude_code",
        "plan",
        data={"choice": "patch the parser"},
        dependencies={"depends_on": [first.event_id]},  # type: ignore[list-item]
    )
    third = logger.append_event(
        "s1",
        "tool_call",
        "claude_code",
        "Bash",
        data={"command": "pytest -q"},
        dependencies={"depends_on": [second.event_id, first.event_id]},  # type: ignore[list-item]
        open_commitments=[{"commitment": "open a PR", "status": "pending"}],
    )
    logger.append_event("s2", "error", "codex", "x", failure_ledger=[{"attempt": "a", "failure_reason": "b"}])
    return logger, str(third.event_id)


def test_sessions_lists_every_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_sessions(tmp_path)
    assert main(["--dir", str(tmp_path), "sessions"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SESSION", "AGENTS", "EVENTS", "FIRST", "LAST", "OPEN", "FAILURES"]
    assert out[1].split()[:3] == ["s1", "claude_code,user", "3"] and out[1].split()[-2:] == ["1", "0"]
    assert out[2].split()[:3] == ["s2", "codex", "1"] and out[2].split()[-2:] == ["0", "1"]
    assert main(["--dir", str(tmp_path), "sessions", "-o", "json"]) == 0
    assert [r["session_id"] for r in json.loads(capsys.readouterr().out)] == ["s1", "s2"]


def test_why_prints_the_causes_as_a_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, last = _two_sessions(tmp_path)
    assert main(["--dir", str(tmp_path), "why", last]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(last) and "tool_call  claude_code  pytest -q" in lines[0]
    assert lines[1].startswith("├─ ") and "decision  claude_code  patch the parser" in lines[1]
    assert lines[2].startswith("│  └─ ") and "user_message  user  ship the fix" in lines[2]
    assert lines[3].startswith("└─ ") and lines[3].endswith("(shown above)")
    assert main(["--dir", str(tmp_path), "why", "evt_missing"]) == 1
    assert "no event 'evt_missing' in any session" in capsys.readouterr().err


def test_query_all_and_missing_sessions_are_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_sessions(tmp_path)
    assert main(["--dir", str(tmp_path), "query", "--all", "--agent", "claude_code"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    for command in (["query", "nope"], ["commitments", "nope"], ["failures", "nope"], ["tail", "nope"]):
        assert main(["--dir", str(tmp_path), *command]) == 1, command
        assert "no session 'nope'" in capsys.readouterr().err
    assert main(["--dir", str(tmp_path), "query", "s1", "--all"]) == 2
    assert main(["--dir", str(tmp_path), "failures", "s1"]) == 0
    assert capsys.readouterr().out == "s1: no failures\n"


def test_tail_follows_new_events(tmp_path: Path) -> None:
    import time

    logger, _ = _two_sessions(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessionlog",
            "--dir",
            str(tmp_path),
            "tail",
            "s1",
            "-n",
            "1",
            "-f",
            "--interval",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["event_type"] == "tool_call"  # the last one
        time.sleep(0.3)
        logger.append_event("s1", "state_change", "codex", "later")
        assert json.loads(proc.stdout.readline())["provenance"]["source"] == "later"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_archive_chosen_sessions_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_sessions(tmp_path)
    base = ["--dir", str(tmp_path)]
    assert main([*base, "archive", "--older-than", "-1"]) == 2
    assert main([*base, "archive"]) == 2
    assert main([*base, "archive", "--older-than", "30"]) == 0
    assert "nothing to archive" in capsys.readouterr().out
    assert main([*base, "archive", "s2", "nope"]) == 1
    out = capsys.readouterr().out
    assert "s2: archived" in out and "nope: skipped: no session" in out
    assert (tmp_path / "archive" / "s2.jsonl.gz").is_file()
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        main([*base, *APPEND, "--data", "{}", "--data", '{"b": 1}'])
    assert exited.value.code == 2 and "--data given twice" in capsys.readouterr().err


def test_verify_a_folder_and_an_archive_with_every_schema_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_sessions(tmp_path)
    LogManager(tmp_path).archive_session("s2")
    assert main(["verify", str(tmp_path)]) == 0
    assert "2 file(s), 4 event(s): no problems" in capsys.readouterr().err  # s1, and s2's archive
    bad = {"event_id": "nope", "timestamp": "noon", "event_type": "chat", "provenance": {"source": "x", "agent": "u"}}
    (tmp_path / "s3.jsonl").write_text(json.dumps(bad) + "\n")
    assert main(["verify", "--anchor", "", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    mine = [line for line in captured.out.splitlines() if "s3.jsonl:1:" in line]
    assert {m.split(": ", 1)[1].split(":")[0] for m in mine} >= {"$.event_id", "$.event_type", "$.timestamp"}
    assert "3 file(s), 5 event(s): 1 with problems" in captured.err
    assert main(["verify", str(tmp_path / "archive" / "s2.jsonl.gz")]) == 0
    assert "1 file(s), 1 event(s): no problems" in capsys.readouterr().err


def test_every_option_has_help_and_the_readme_names_every_command() -> None:
    import argparse

    from conftest import REPO

    from sessionlog.cli._parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    readme = (REPO / "README.md").read_text()
    for name, sub in commands.items():
        assert f"sessionlog {name}" in readme or f"| {name} " in readme or f" {name} " in readme, name
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"sessionlog {name} {action.option_strings or action.dest}: no help"
    for action in parser._actions:
        assert isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help, action


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the command with a pseudo-terminal as its stdout, as a person would see it."""
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sessionlog", *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**os.environ, **env, "COLUMNS": "200"},
            check=False,
        )
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
    assert proc.returncode in (0, 1), proc.stderr
    return out.decode()


def test_colour_on_a_terminal_and_plain_text_otherwise(tmp_path: Path) -> None:
    import os

    _two_sessions(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"event_id": "x"}\n')
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(["--dir", str(tmp_path), "sessions"], env)
    assert "\x1b[" in coloured and "s1" in coloured
    assert "\x1b[" in _on_a_terminal(["verify", "--anchor", "", str(tmp_path / "bad.jsonl")], env)
    plain = _on_a_terminal(["--dir", str(tmp_path), "sessions"], {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain and "SESSION" in plain
    piped = subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path), "sessions"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\x1b[" not in piped.stdout


def test_reading_commands_never_send_a_terminal_the_control_sequences_a_tool_printed(tmp_path: Path) -> None:
    hostile = (
        "done\x1b]52;c;ZXZpbA==\x07"  # write the clipboard
        "\x1b[2J\x1b[H"  # clear the screen
        "\x1b[8mhidden\x1b[0m"  # hidden text
        "\x1b]8;;https://evil.invalid\x1b\\click\x1b]8;;\x1b\\"  # a link
        "\u202egnp.exe"  # right-to-left override
    )
    logger = SessionLogger(tmp_path, segments=False)
    first = logger.append_event("s", "tool_call", "codex", "Bash", data={"command": hostile, "output": hostile})
    logger.append_event(
        "s", "error", "codex", "Bash", data={"message": hostile},
        failure_ledger=[{"attempt": hostile, "failure_reason": hostile}],
        open_commitments=[{"commitment": hostile, "status": "pending"}],
        dependencies={"depends_on": [str(first.event_id)]},
    )  # fmt: skip
    last = logger.read_session("s")[-1]["event_id"]
    for argv in (
        ["show", "s"], ["failures", "s"], ["commitments", "s"], ["export", "s"], ["why", last, "--session", "s"]
    ):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path), *argv],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, (argv, proc.stderr)
        for control in ("\x1b", "\x07", "\u202e"):
            assert control not in proc.stdout, (argv, control)
        assert "\\x1b" in proc.stdout, argv  # shown, escaped, not dropped


def test_show_says_what_each_event_says(tmp_path: Path) -> None:
    logger = SessionLogger(tmp_path, segments=False)
    logger.append_event("w", "user_message", "user", "terminal", data={"text": "please fix the login page"})
    logger.append_event("w", "user_message", "user", "terminal", data={"prompt": "and add a test"})
    logger.append_event(
        "w", "commitment", "codex", "plan", open_commitments=[{"commitment": "write the test", "status": "pending"}]
    )
    logger.append_event(
        "w", "error", "codex", "Bash", failure_ledger=[{"attempt": "npm test", "failure_reason": "exit 1: 3 failed"}]
    )
    logger.append_event(
        "w", "state_change", "user", "git commit", data={"kind": "commit", "sha": "a" * 40, "subject": "Fix login"}
    )
    logger.append_event(
        "w",
        "state_change",
        "codex",
        "handoff",
        data={"kind": "handoff", "from_agent": "codex", "to_agent": "claude_code", "summary": "tests left"},
    )
    out = subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path), "show", "w"], capture_output=True, text=True, check=True
    ).stdout  # fmt: skip
    for said in ("please fix the login page", "and add a test", "write the test", "exit 1: 3 failed",
                 "commit aaaaaaaaaaaa Fix login", "handoff codex → claude_code: tests left"):  # fmt: skip
        assert said in out, (said, out)
    assert out.count("✗ failure") == 1  # the handoff is not a failure


def test_timelines_and_time_bounds_follow_the_instants_not_the_line_order(tmp_path: Path) -> None:
    """An import writes a subagent's records after its parent's, though they happened before:
    every reading command orders by instant and bounds by the earliest and latest."""
    lg = SessionLogger(tmp_path / "s")
    lg.append_event("s1", "user_message", "user", "prompt", data={"message": "first"}, timestamp="2025-09-03T10:00:00Z")
    lg.append_event("s1", "tool_call", "claude_code", "Bash", data={"tool": "Bash", "input": {"command": "late"}},
                    timestamp="2025-09-07T10:00:00Z")  # fmt: skip
    lg.append_event("s1", "tool_call", "claude_code", "Read", data={"tool": "Read", "input": {"file_path": "early"}},
                    timestamp="2025-09-05T10:00:00+02:00")  # fmt: skip
    show = run("--dir", str(tmp_path / "s"), "show", "s1").stdout.splitlines()
    assert [line[:10] for line in show] == ["2025-09-03", "2025-09-05", "2025-09-07"]
    assert "early" in show[1] and "late" in show[2]
    [row] = json.loads(run("--dir", str(tmp_path / "s"), "sessions", "-o", "json").stdout)
    assert (row["first"], row["last"]) == ("2025-09-03T10:00:00Z", "2025-09-07T10:00:00Z")
    brief = json.loads(run("--dir", str(tmp_path / "s"), "export", "s1", "-o", "json").stdout)
    assert (brief["first_event_at"], brief["last_event_at"]) == ("2025-09-03T10:00:00Z", "2025-09-07T10:00:00Z")
    # archive dates a session by its latest instant: 2025-09-07, not the last line's 2025-09-05
    age = LogManager(tmp_path / "s").get_session_age("s1")
    assert abs((datetime.now(UTC) - age) - datetime(2025, 9, 7, 10, tzinfo=UTC)).total_seconds() < 60
