from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sessionlog import SessionLogger, line_digest, make_session_id, new_event_id


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_append_returns_id_and_seq_and_writes_one_line(logger: SessionLogger) -> None:
    first = logger.append_event("s1", "user_message", "user", "terminal", data={"message": "hi"})
    second = logger.append_event(
        "s1", "tool_call", "claude_code", "Bash", dependencies={"depends_on": [first.event_id]}
    )
    ok, error = second
    assert (ok, error) == (True, None)
    assert (first.seq, second.seq) == (1, 2)
    written = lines(logger.session_path("s1"))
    assert [e["event_id"] for e in written] == [first.event_id, second.event_id]
    assert written[1]["dependencies"]["depends_on"] == [first.event_id]


def test_event_ids_are_long_unique_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(20000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"evt_[0-9a-f]{32}", i) for i in ids)
    assert [i[:16] for i in ids] == sorted(i[:16] for i in ids)


def test_timestamps_are_utc_with_microseconds(logger: SessionLogger) -> None:
    logger.append_event("s", "decision", "claude_code", "x")
    stamp = lines(logger.session_path("s"))[0]["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    moment = datetime.fromisoformat(stamp)
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60


def test_chain_fields_link_each_line_to_the_previous_bytes(logger: SessionLogger) -> None:
    for i in range(3):
        logger.append_event("s", "tool_call", "claude_code", "x", data={"i": i})
    raw = logger.session_path("s").read_bytes().splitlines()
    events = [json.loads(r) for r in raw]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[0]["prev"] is None
    assert events[1]["prev"] == line_digest(raw[0])
    assert events[2]["prev"] == line_digest(raw[1])
    assert {e["session_id"] for e in events} == {"s"}


def test_make_session_id() -> None:
    when = datetime(2025, 12, 10, 14, 0, tzinfo=UTC)
    assert make_session_id("claude", when) == "claude_20251210_1400"
    assert make_session_id("../evil agent", when) == "evil-agent_20251210_1400"


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"event_type": "chat"}, "$.event_type"),
    ({"agent": ""}, "$.provenance.agent"),
    ({"agent": 7}, "$.provenance.agent"),
    ({"source": None}, "$.provenance.source"),
    ({"data": {"x": float("nan")}}, "$.data.x: nan is not a JSON number"),
    ({"data": {"x": [1, float("inf")]}}, "$.data.x[1]: inf"),
    ({"data": {"x": object()}}, "$.data.x: a object has no JSON representation"),
    ({"data": {1: "a"}}, "key 1 is a int"),
    ({"data": {"n": 2**70}}, "does not fit in 64 bits"),
    ({"data": ["not", "an", "object"]}, "$.data"),
    ({"causal_steps": [{"step": "no reasoning"}]}, "$.causal_steps[0]"),
    ({"open_commitments": [{"commitment": "x", "status": "maybe"}]}, "$.open_commitments[0].status"),
    ({"dependencies": {"depends_on": "evt_0123abcd"}}, "$.dependencies.depends_on"),
    ({"timestamp": "2025-12-10 12:00"}, "$.timestamp"),
    ({"confidence": 1.5}, "$.provenance.confidence"),
    ({"data": {"blob": "x" * (1 << 20)}}, "the limit is 1048576"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_specific_message_and_changes_nothing(
    logger: SessionLogger, change: dict[str, Any], message: str
) -> None:
    logger.append_event("s", "user_message", "user", "terminal", data={"message": "before"})
    path = logger.session_path("s")
    before = path.read_bytes()
    args: dict[str, Any] = {"session_id": "s", "event_type": "tool_call", "agent": "claude_code", "source": "x"}
    args.update(change)
    ok, error = logger.append_event(**args)
    assert not ok
    assert error is not None and message in error, error
    assert path.read_bytes() == before
    # and the chain continues cleanly afterwards
    assert logger.append_event("s", "decision", "claude_code", "x")[0]
    assert logger.verify_session("s").ok


@pytest.mark.parametrize(
    "session_id", ["", "..", "../escape", "a/b", "a\\b", "a\x00b", "x" * 129, ".hidden", "a b", "naïve", "-rf", "a..b"]
)
def test_unsafe_session_ids_are_refused(logger: SessionLogger, session_id: str) -> None:
    ok, error = logger.append_event(session_id, "tool_call", "claude_code", "x")
    assert not ok and error and "session_id" in error
    assert not logger.base_dir.exists() or list(logger.base_dir.iterdir()) == []


def test_symlinked_session_file_is_not_followed(logger: SessionLogger, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious\n")
    logger.base_dir.mkdir(parents=True)
    logger.session_path("s").symlink_to(target)
    ok, error = logger.append_event("s", "tool_call", "claude_code", "x")
    assert not ok and "symlink" in (error or "")
    assert target.read_text() == "precious\n"
    with pytest.raises(ValueError, match="is a symlink; session files are never followed"):
        logger.read_session("s")  # reading goes through O_NOFOLLOW too, with a clear error


def test_max_event_bytes_is_configurable(sessions_dir: Path) -> None:
    small = SessionLogger(sessions_dir, max_event_bytes=1000)
    ok, error = small.append_event("s", "tool_call", "claude_code", "x", data={"blob": "y" * 2000})
    assert not ok and "max_event_bytes" in (error or "")
    assert small.append_event("s", "tool_call", "claude_code", "x", data={"blob": "y" * 100})[0]


def test_caller_data_is_not_mutated_by_redaction(logger: SessionLogger) -> None:
    data = {"env": {"GITHUB_TOKEN": "ghp_" + "a" * 36}, "list": ["password=hunter22"]}
    snapshot = json.dumps(data)
    assert logger.append_event("s", "tool_call", "claude_code", "x", data=data)[0]
    assert json.dumps(data) == snapshot


def test_fsync_option_writes_the_same_bytes(sessions_dir: Path) -> None:
    durable = SessionLogger(sessions_dir, fsync=True)
    assert durable.append_event("s", "tool_call", "claude_code", "x")[0]
    assert durable.verify_session("s").ok


def test_appending_after_legacy_lines_numbers_by_position(logger: SessionLogger) -> None:
    from conftest import original

    legacy = original("test_session_001.jsonl").read_bytes()
    logger.base_dir.mkdir(parents=True)
    logger.session_path("old").write_bytes(legacy)
    result = logger.append_event("old", "decision", "claude_code", "x")
    assert result.seq == 4
    raw = logger.session_path("old").read_bytes()
    assert raw.startswith(legacy)
    report = logger.verify_session("old")
    assert report.ok and report.unchained == 3


def test_session_file_replaced_behind_the_loggers_back_is_reopened(logger: SessionLogger) -> None:
    logger.append_event("s", "tool_call", "claude_code", "x")
    path = logger.session_path("s")
    os.unlink(path)
    result = logger.append_event("s", "tool_call", "claude_code", "x")
    assert result.ok and result.seq == 1
    assert len(path.read_text().splitlines()) == 1


def test_append_events_writes_all_in_order_under_one_lock(logger: SessionLogger) -> None:
    logger.append_event("b", "user_message", "user", "terminal")
    items = [{"event_type": "tool_call", "agent": "codex", "source": "sh", "data": {"i": i}} for i in range(5)]
    items[2]["data"] = {"env": "OPENAI_API_KEY=sk-proj-" + "x" * 30}
    result = logger.append_events("b", items)
    assert result.ok, result.error
    events = logger.read_session("b")
    assert [e["event_id"] for e in events[1:]] == list(result.event_ids)
    assert result.seq == 6 and result.event_id == result.event_ids[-1]
    assert "sk-proj-" not in logger.session_path("b").read_text()
    assert {"path": "$.data.env", "kind": "password-assignment"} in events[3]["redactions"]
    assert {r["path"] for r in events[3]["redactions"]} == {"$.data.env"}
    assert logger.verify_session("b").ok


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"event_type": "chat", "agent": "codex", "source": "sh"}, "event 1: invalid event: $.event_type"),
        ({"agent": "codex", "source": "sh"}, "event 1: missing event_type"),
        (
            {"event_type": "error", "agent": "codex", "source": "sh", "colour": "red"},
            "event 1: unknown field(s) colour",
        ),
        (
            {"event_type": "error", "agent": "codex", "source": "sh", "data": {"x": float("nan")}},
            "event 1: event is not JSON",
        ),
    ],
)
def test_append_events_is_all_or_nothing(logger: SessionLogger, bad: dict[str, Any], message: str) -> None:
    logger.append_event("b", "user_message", "user", "terminal")
    before = logger.session_path("b").read_bytes()
    good = {"event_type": "tool_call", "agent": "codex", "source": "sh"}
    ok, error = logger.append_events("b", [good, bad, good])
    assert not ok and error is not None and error.startswith(message), error
    assert logger.session_path("b").read_bytes() == before
    assert not logger.append_events("b", []).ok


def test_default_folder_is_the_git_top_level_or_the_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    repo = tmp_path / "proj"
    (repo / "src" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.delenv("SESSIONLOG_DIR", raising=False)
    monkeypatch.chdir(repo / "src" / "deep")
    assert SessionLogger().base_dir.resolve() == (repo / ".ai-agents" / "sessions").resolve()
    monkeypatch.setenv("SESSIONLOG_DIR", str(tmp_path / "elsewhere"))
    assert SessionLogger().base_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("SESSIONLOG_DIR")
    monkeypatch.chdir(tmp_path)
    assert SessionLogger().base_dir == tmp_path / ".ai-agents" / "sessions"  # not a repository: the cwd


def test_the_size_limit_holds_after_redaction_grows_an_event(tmp_path: Path) -> None:
    import orjson

    data = {"out": 'export PGPASSWORD="hunter22xy" ' + "x" * 300}
    probe = SessionLogger(tmp_path / "probe", redact=False, segments=False)
    assert probe.append_event("s", "tool_call", "codex", "x", data=data).ok
    plain = len(probe.session_path("s").read_bytes().rsplit(b',"seq"', 1)[0]) + 1
    tight = SessionLogger(tmp_path / "tight", max_event_bytes=plain + 90 + 5, segments=False)
    result = tight.append_event("s", "tool_call", "codex", "x", data=data)
    assert not result.ok and "the limit is" in (result.error or "")  # masks and redactions made it larger
    assert not tight.session_path("s").exists()
    roomy = SessionLogger(tmp_path / "roomy", max_event_bytes=plain + 400, segments=False)
    assert roomy.append_event("s", "tool_call", "codex", "x", data=data).ok
    assert "hunter22xy" not in roomy.session_path("s").read_text()
    assert orjson.loads(roomy.session_path("s").read_bytes())["redactions"]
