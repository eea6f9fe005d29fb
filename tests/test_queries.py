from __future__ import annotations

from pathlib import Path

import pytest

from sessionlog import ParseError, SessionLogger


@pytest.fixture
def timeline(logger: SessionLogger) -> SessionLogger:
    def add(stamp: str, kind: str, agent: str, **blocks: object) -> None:
        result = logger.append_event("t", kind, agent, "src", timestamp=stamp, **blocks)  # type: ignore[arg-type]
        assert result.ok, result.error

    add("2025-12-10T11:59:59.999999Z", "user_message", "user")
    add("2025-12-10T12:00:00Z", "tool_call", "claude_code")
    add("2025-12-10T13:30:00+01:00", "error", "claude_code")  # 12:30Z
    add("2025-12-10T12:45:00.5Z", "decision", "gemini")
    return logger


def test_filter_by_type_and_agent(timeline: SessionLogger) -> None:
    assert [e["event_type"] for e in timeline.query_events("t", event_type="error")] == ["error"]
    assert [e["event_type"] for e in timeline.query_events("t", agent="claude_code")] == ["tool_call", "error"]
    assert timeline.query_events("t", event_type="error", agent="gemini") == []


def test_time_bounds_compare_instants_not_strings(timeline: SessionLogger) -> None:
    after = timeline.query_events("t", after_timestamp="2025-12-10T12:00:00Z")
    # 13:30+01:00 is 12:30Z: after noon, although the string sorts after 12:45.
    assert [e["event_type"] for e in after] == ["error", "decision"]
    before = timeline.query_events("t", before_timestamp="2025-12-10T13:40:00+01:00")  # 12:40Z
    assert [e["event_type"] for e in before] == ["user_message", "tool_call", "error"]
    window = timeline.query_events(
        "t", after_timestamp="2025-12-10T07:00:00-05:00", before_timestamp="2025-12-10T12:31:00Z"
    )
    assert [e["event_type"] for e in window] == ["error"]


@pytest.mark.parametrize("bound", ["yesterday", "2025-12-10T12:00:00", "2025-12-40T00:00:00Z", 12])
def test_malformed_bound_is_an_error(timeline: SessionLogger, bound: object) -> None:
    with pytest.raises(ValueError, match="after_timestamp"):
        timeline.query_events("t", after_timestamp=bound)  # type: ignore[arg-type]


def test_corrupt_lines_are_reported_not_fatal(logger: SessionLogger) -> None:
    logger.append_event("c", "tool_call", "claude_code", "x")
    path = logger.session_path("c")
    with path.open("ab") as out:
        out.write(b"{this is not json\n[1, 2]\n")
    logger.append_event("c", "error", "claude_code", "x")
    with path.open("ab") as out:
        out.write(b'{"torn": ')
    events = logger.read_session("c")
    assert [e["event_type"] for e in events] == ["tool_call", "error"]
    assert [(e.line, e.message.split(":")[0]) for e in events.errors] == [
        (2, "not valid JSON"),
        (3, "expected a JSON object, got list"),
        (5, "incomplete last line (no newline)"),
    ]
    assert len(logger.query_events("c", event_type="error")) == 1
    streamed = list(logger.iter_session("c"))
    assert [n for n, item in streamed if isinstance(item, ParseError)] == [2, 3, 5]
    assert [item["event_type"] for _, item in streamed if not isinstance(item, ParseError)] == ["tool_call", "error"]


def test_unicode_escaped_lines_are_not_skipped_by_the_prefilter(logger: SessionLogger) -> None:
    logger.base_dir.mkdir(parents=True)
    logger.session_path("u").write_text(
        '{"event_id":"evt_0123abcd","timestamp":"2025-12-10T12:00:00Z","event_type":"\\u0065rror",'
        '"provenance":{"source":"s","agent":"user"}}\n'
    )
    assert len(logger.query_events("u", event_type="error")) == 1


def test_missing_session_reads_as_empty(logger: SessionLogger) -> None:
    assert logger.read_session("nobody") == []
    assert logger.get_open_commitments("nobody") == []


def test_open_commitments_fold_latest_status(logger: SessionLogger) -> None:
    def say(*entries: dict[str, object]) -> None:
        assert logger.append_event("k", "commitment", "claude_code", "x", open_commitments=list(entries)).ok

    say(
        {"commitment": "Write docs", "status": "pending"},
        {"id": "deploy", "commitment": "Deploy v1", "status": "pending"},
    )
    say({"id": "deploy", "commitment": "Deploy v1 to prod (renamed)", "status": "blocked"})
    say({"commitment": "Write docs", "status": "completed"}, {"commitment": "Add tests", "status": "in_progress"})
    say({"commitment": "Drop IE support", "status": "pending"})
    say({"commitment": "Drop IE support", "status": "cancelled"})
    open_ = logger.get_open_commitments("k")
    assert [(c["commitment"], c["status"]) for c in open_] == [
        ("Deploy v1 to prod (renamed)", "blocked"),
        ("Add tests", "in_progress"),
    ]
    assert open_[0]["event"]["line"] == 2
    assert open_[0]["first_event_id"] == logger.read_session("k")[0]["event_id"]


def test_failure_history_in_order_with_origin(logger: SessionLogger) -> None:
    logger.append_event("f", "error", "claude_code", "x", failure_ledger=[{"attempt": "a1", "failure_reason": "r1"}])
    logger.append_event("f", "tool_call", "claude_code", "x")
    logger.append_event(
        "f",
        "error",
        "gemini",
        "x",
        failure_ledger=[
            {"attempt": "a2", "failure_reason": "r2", "error_code": "403"},
            {"attempt": "a3", "failure_reason": "r3"},
        ],
    )
    history = logger.get_failure_history("f")
    assert [(f["attempt"], f["event"]["line"], f["event"]["agent"]) for f in history] == [
        ("a1", 1, "claude_code"),
        ("a2", 3, "gemini"),
        ("a3", 3, "gemini"),
    ]
    assert history[1]["error_code"] == "403"


def test_causal_graph_ancestors_and_dangling_references(logger: SessionLogger) -> None:
    a = logger.append_event("g", "user_message", "user", "x")
    b = logger.append_event("g", "decision", "claude_code", "x", dependencies={"depends_on": [a.event_id]})
    c = logger.append_event(
        "g", "tool_call", "claude_code", "x", dependencies={"depends_on": [b.event_id, "evt_deadbeef"]}
    )
    d = logger.append_event(
        "g",
        "state_change",
        "claude_code",
        "x",
        dependencies={"depends_on": [c.event_id, a.event_id], "blocks": ["evt_0000ffff"]},
    )
    assert [e["event_id"] for e in logger.get_ancestors("g", d.event_id or "")] == [c.event_id, a.event_id, b.event_id]
    with pytest.raises(KeyError):
        logger.get_ancestors("g", "evt_99999999")
    dangling = logger.find_dangling_references("g")
    assert [(r.line, r.field, r.missing_id) for r in dangling] == [
        (3, "dependencies.depends_on", "evt_deadbeef"),
        (4, "dependencies.blocks", "evt_0000ffff"),
    ]


def test_reference_to_a_later_event_is_not_dangling(logger: SessionLogger, sessions_dir: Path) -> None:
    first = logger.append_event("h", "tool_call", "claude_code", "x")
    logger.append_event("h", "decision", "claude_code", "x", dependencies={"blocks": [first.event_id]})
    assert logger.find_dangling_references("h") == []


def test_byte_level_time_prefilter_agrees_with_parsing(logger: SessionLogger) -> None:
    stamps = ["2025-12-10T11:59:59.999999Z", "2025-12-10T12:00:00.000000Z", "2025-12-10T12:00:00.000001Z"]
    for stamp in stamps:
        assert logger.append_event("p", "tool_call", "claude_code", "x", timestamp=stamp).ok
    with logger.session_path("p").open("ab") as out:  # a legacy line, parsed the slow way
        out.write(
            b'{"event_id": "evt_0123abcd", "timestamp": "2025-12-10T12:00:00.5Z", "event_type": "error", '
            b'"provenance": {"source": "s", "agent": "user"}}\n'
        )
    after = logger.query_events("p", after_timestamp="2025-12-10T12:00:00Z")
    assert [e["timestamp"] for e in after] == [stamps[2], "2025-12-10T12:00:00.5Z"]
    before = logger.query_events("p", before_timestamp="2025-12-10T13:00:00.000001+01:00")
    assert [e["timestamp"] for e in before] == stamps[:2]


def test_handoffs_within_a_session_refer_to_its_failures_and_never_count_them_again(tmp_path: Path) -> None:
    import json as _json

    from sessionlog import SessionLogger as Logger

    logger = Logger(tmp_path, segments=False)
    failed = logger.append_event(
        "h", "error", "codex", "Bash", failure_ledger=[{"attempt": "npm test", "failure_reason": "exit 1"}]
    )
    logger.append_event(
        "h", "commitment", "codex", "plan", open_commitments=[{"commitment": "fix", "status": "pending"}]
    )
    for n in range(3):
        assert logger.log_handoff("h", "codex", "claude_code", f"round {n}").ok
    assert len(logger.get_failure_history("h")) == 1  # was 2, 4, 8 after 1, 2, 3 handoffs
    assert len(logger.get_open_commitments("h")) == 1
    last = logger.read_session("h")[-1]
    assert last["data"]["carries"]["failures"] == [failed.event_id]
    assert "failure_ledger" not in last
    # a log an older version wrote, its handoffs holding copies, is not counted twice either
    copied = dict(last, failure_ledger=[{"attempt": "npm test", "failure_reason": "exit 1"}])
    copied["data"] = {k: v for k, v in last["data"].items() if k != "carries"}
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    old = tmp_path / "old"
    old.mkdir()
    (old / "h.jsonl").write_text("\n".join([*lines[:-1], _json.dumps(copied)]) + "\n")
    assert len(Logger(old, segments=False).get_failure_history("h")) == 1
    # from another session, they are repeated: the next agent's queries find them in its own
    assert logger.log_handoff("next", "codex", "claude_code", from_session="h").ok
    assert len(logger.get_failure_history("next")) == 1 and len(logger.get_open_commitments("next")) == 1
