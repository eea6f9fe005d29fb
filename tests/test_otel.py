"""Sessions exported as OTLP/HTTP traces to a real receiver on a loopback port, decoded with
opentelemetry-proto and checked span by span."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import loopback_http
from gitrepo import Repo

from sessionlog import SessionLogger

pytest.importorskip("opentelemetry.proto")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []

    def respond(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        assert (method, path) == ("POST", "/v1/traces")
        assert headers["Content-Type"] == "application/x-protobuf"
        received.append(ExportTraceServiceRequest.FromString(body))
        return b""

    with loopback_http(respond) as url:
        yield f"{url}/v1/traces", received


def _session(repo: Repo) -> dict[str, str]:
    lg = SessionLogger(repo.sessions)
    ask = lg.append_event("s1", "user_message", "user", "terminal", data={"message": "run the tests"})
    call = lg.append_event(
        "s1",
        "tool_call",
        "claude_code",
        "Bash",
        data={"tool": "Bash", "tool_use_id": "toolu_1", "input": {"command": "pytest"}, "duration_ms": 1500},
        dependencies={"depends_on": [str(ask.event_id)]},
    )
    fail = lg.append_event(
        "s1",
        "error",
        "claude_code",
        "Bash",
        data={"tool": "Bash", "error_code": "exit_1"},
        failure_ledger=[{"attempt": "pytest", "failure_reason": "2 failed"}],
        dependencies={"depends_on": [str(call.event_id)]},
    )
    lg.append_event("s1", "decision", "claude_code", "plan", data={"decision": "fix the fixture"})
    return {"ask": str(ask.event_id), "call": str(call.event_id), "fail": str(fail.event_id)}


def _export(repo: Repo, endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return repo.run(sys.executable, "-m", "sessionlog", "export-otel", "--endpoint", endpoint, *args, check=check)


def test_a_session_becomes_one_trace_with_tool_spans_errors_and_links(tmp_path: Path, collector: tuple) -> None:  # type: ignore[type-arg]
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    ids = _session(repo)
    out = _export(repo, endpoint).stdout
    assert "3 span(s) of 1 session(s) sent" in out
    [request] = received
    spans = {s.name: s for s in request.resource_spans[0].scope_spans[0].spans}
    root, tool, error = spans["invoke_agent claude_code"], spans["execute_tool Bash"], spans["error"]
    attrs = {a.key: a.value for a in root.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "invoke_agent"
    assert attrs["gen_ai.conversation.id"].string_value == "s1"
    assert tool.parent_span_id == root.span_id and error.parent_span_id == root.span_id
    assert len({s.trace_id for s in spans.values()}) == 1
    tool_attrs = {a.key: a.value for a in tool.attributes}
    assert (
        tool_attrs["gen_ai.tool.name"].string_value == "Bash"
        and tool_attrs["gen_ai.tool.call.id"].string_value == "toolu_1"
    )
    assert tool.end_time_unix_nano - tool.start_time_unix_nano == 1_500_000_000
    assert tool.status.code == Status.STATUS_CODE_ERROR and tool_attrs["error.type"].string_value == "exit_1"
    assert error.status.code == Status.STATUS_CODE_ERROR
    assert [link.span_id for link in error.links] == [tool.span_id]  # depends_on, as a link
    assert {e.name for e in root.events} == {"sessionlog.user_message", "sessionlog.decision"}
    assert "gen_ai.tool.call.arguments" not in tool_attrs  # content only on request
    assert "pytest" not in request.SerializeToString().decode("utf-8", "replace").replace(ids["call"], "")
    # nothing new: nothing sent; --all sends the very same ids again
    assert "nothing new to send" in _export(repo, endpoint).stdout and len(received) == 1
    _export(repo, endpoint, "--all", "--content")
    again = {s.name: s for s in received[1].resource_spans[0].scope_spans[0].spans}
    assert {n: (s.trace_id, s.span_id) for n, s in again.items()} == {
        n: (s.trace_id, s.span_id) for n, s in spans.items()
    }
    assert "gen_ai.tool.call.arguments" in {a.key for a in again["execute_tool Bash"].attributes}
    # a changed session is sent again; --since keeps the root and what happened from then on
    later = SessionLogger(repo.sessions).append_event("s1", "tool_call", "claude_code", "Read", data={"tool": "Read"})
    assert "4 span(s) of 1 session(s)" in _export(repo, endpoint).stdout
    stamp = SessionLogger(repo.sessions).read_session("s1")[-1]["timestamp"]
    assert "2 span(s) of 1 session(s)" in _export(repo, endpoint, "--all", "--since", stamp).stdout
    assert {s.name for s in received[-1].resource_spans[0].scope_spans[0].spans} == {
        "invoke_agent claude_code",
        "execute_tool Read",
    }
    assert later.ok and _export(repo, endpoint, "--since", "yesterday", check=False).returncode == 2


def test_an_unreachable_collector_is_reported(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    _session(repo)
    proc = repo.run(
        sys.executable, "-m", "sessionlog", "export-otel", "--endpoint", "http://127.0.0.1:9/v1/traces", check=False
    )
    assert proc.returncode == 1 and "127.0.0.1:9" in proc.stderr
