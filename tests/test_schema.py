from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, original

from sessionlog import SessionLogger, builtin_schema, verify_file
from sessionlog.core.schema import EventSchema, SchemaError, SchemaSet


def test_packaged_schema_is_identical_to_top_level_copy() -> None:
    top = (REPO / "schemas" / "session-event.schema.json").read_bytes()
    packaged = (REPO / "sessionlog" / "schemas" / "session-event.schema.json").read_bytes()
    assert top == packaged
    assert json.loads(top) == builtin_schema()


def test_original_implementation_log_stays_valid() -> None:
    report = verify_file(original("test_session_001.jsonl"), SchemaSet())
    assert report.ok, report.findings
    assert (report.events, report.unchained) == (3, 3)


def test_original_schema_accepts_its_own_log_as_a_repo_schema() -> None:
    schema = EventSchema.from_file(original("SESSION_LOG_SCHEMA.json"))
    path = original("test_session_001.jsonl")
    for line in path.read_text().splitlines():
        assert schema.error(json.loads(line)) is None


BASE = {
    "event_id": "evt_0123abcd",
    "timestamp": "2025-12-10T12:00:00Z",
    "event_type": "tool_call",
    "provenance": {"source": "x", "agent": "claude_code"},
}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"timestamp": "2025-12-10 12:00:00"}, "$.timestamp"),
        ({"timestamp": "2025-12-10T12:00:00"}, "$.timestamp"),  # no offset
        ({"timestamp": "2025-13-10T12:00:00Z"}, "$.timestamp"),
        ({"timestamp": "yesterday"}, "$.timestamp"),
        ({"event_type": "chat"}, "$.event_type"),
        ({"event_id": "evt_XYZ"}, "$.event_id"),
        ({"provenance": {"source": "x"}}, "$.provenance"),
        ({"provenance": {"source": "x", "agent": "../../etc"}}, "$.provenance.agent"),
        ({"provenance": {"source": "x", "agent": "a", "confidence": 2}}, "$.provenance.confidence"),
        (
            {"failure_ledger": [{"attempt": "a", "failure_reason": "b", "timestamp": "noon"}]},
            "$.failure_ledger[0].timestamp",
        ),
        ({"open_commitments": [{"commitment": "a", "status": "done"}]}, "$.open_commitments[0].status"),
        ({"seq": 0}, "$.seq"),
        ({"prev": "md5:abc"}, "$.prev"),
    ],
)
def test_violations_are_named_by_json_path(change: dict[str, object], where: str) -> None:
    error = SchemaSet().error({**BASE, **change})
    assert error is not None
    assert error.startswith(where + ":"), error


@pytest.mark.parametrize(
    "agent", ["claude_code", "gemini-2.5-pro", "Codex CLI", "user", "my.agent@host", "gpt-5 (high)"]
)
def test_agent_is_any_sane_name(agent: str) -> None:
    assert SchemaSet().error({**BASE, "provenance": {"source": "s", "agent": agent}}) is None


@pytest.mark.parametrize("stamp", ["2025-12-10T12:00:00Z", "2025-12-10T12:00:00.123456+05:30", "2025-12-10t12:00:00z"])
def test_rfc3339_timestamps_pass(stamp: str) -> None:
    assert SchemaSet().error({**BASE, "timestamp": stamp}) is None


def test_repo_schema_is_applied_on_top(sessions_dir: Path) -> None:
    context = sessions_dir.parent / "session_context"
    context.mkdir(parents=True)
    schema = {"type": "object", "properties": {"provenance": {"properties": {"agent": {"enum": ["claude_code"]}}}}}
    (context / "SESSION_LOG_SCHEMA.json").write_text(json.dumps(schema))
    logger = SessionLogger(sessions_dir)
    ok, error = logger.append_event("s", "tool_call", "gemini", "x")
    assert not ok
    assert "$.provenance.agent" in (error or "") and "SESSION_LOG_SCHEMA.json" in (error or "")
    assert logger.append_event("s", "tool_call", "claude_code", "x")[0]


def test_broken_repo_schema_is_a_clear_error(sessions_dir: Path) -> None:
    context = sessions_dir.parent / "session_context"
    context.mkdir(parents=True)
    (context / "SESSION_LOG_SCHEMA.json").write_text("{not json")
    with pytest.raises(SchemaError, match=r"SESSION_LOG_SCHEMA\.json: cannot load schema"):
        SessionLogger(sessions_dir)
