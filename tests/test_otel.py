"""Sessions exported as OTLP/HTTP traces to a real receiver on a loopback port, decoded with
opentelemetry-proto and checked span by span: one trace per ended turn, GenAI attributes, time
bounds from the events' instants, one span per failure, re-export that never contradicts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED, loopback_http, shared
from gitrepo import Repo

from sessionlog import SessionLogger

pytest.importorskip("opentelemetry.proto")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

Received = list[ExportTraceServiceRequest]


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    received: Received = []

    def respond(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        assert (method, path) == ("POST", "/v1/traces")
        assert headers["Content-Type"] == "application/x-protobuf"
        received.append(ExportTraceServiceRequest.FromString(body))
        return b""

    with loopback_http(respond) as url:
        yield f"{url}/v1/traces", received


def _spans(request: ExportTraceServiceRequest) -> list[Span]:
    return [s for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]


def _attrs(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in span.attributes:
        kind = a.value.WhichOneof("value")
        out[a.key] = getattr(a.value, kind) if kind else None
    return out


def _session(lg: SessionLogger) -> dict[str, str]:
    """Two turns: the first ended (a tool call that fails, an API failure, a decision, the end
    with model and usage), the second still going."""
    ask = lg.append_event(
        "s1", "user_message", "user", "prompt", data={"message": "run the tests"}, timestamp="2026-01-01T10:00:00Z"
    )
    call = lg.append_event(
        "s1",
        "tool_call",
        "claude_code",
        "Bash",
        data={
            "tool": "Bash",
            "tool_use_id": "toolu_1",
            "input": {"command": "pytest"},
            "output": "2 failed",
            "ended_at": "2026-01-01T10:00:06.500Z",
        },
        dependencies={"depends_on": [str(ask.event_id)]},
        timestamp="2026-01-01T10:00:05Z",
    )
    fail = lg.append_event(
        "s1",
        "error",
        "claude_code",
        "Bash",
        data={"tool": "Bash", "tool_use_id": "toolu_1", "message": "Exit code 1"},
        failure_ledger=[{"attempt": "Bash: pytest", "failure_reason": "Exit code 1"}],
        dependencies={"depends_on": [str(call.event_id)]},
        timestamp="2026-01-01T10:00:06.500Z",
    )
    api = lg.append_event(
        "s1",
        "error",
        "claude_code",
        "api",
        data={"kind": "api_error", "error": "rate_limit", "message": "429"},
        failure_ledger=[{"attempt": "model turn", "failure_reason": "API error: rate_limit"}],
        timestamp="2026-01-01T10:00:07Z",
    )
    decision = lg.append_event(
        "s1",
        "decision",
        "claude_code",
        "plan",
        data={"decision": "fix the fixture"},
        dependencies={"depends_on": [str(fail.event_id)]},
        timestamp="2026-01-01T10:00:08Z",
    )
    end = lg.append_event(
        "s1",
        "state_change",
        "claude_code",
        "Stop",
        data={
            "kind": "turn_end",
            "last_assistant_message": "The fixture is fixed.",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 7},
        },
        timestamp="2026-01-01T10:00:09Z",
    )
    # written after the turn's end, happened inside the turn: bounds must not come from line order
    early = lg.append_event(
        "s1",
        "tool_call",
        "claude_code",
        "Read",
        data={"tool": "Read", "tool_use_id": "toolu_0", "duration_ms": 250, "sidechain": True},
        timestamp="2026-01-01T10:00:01Z",
    )
    second = lg.append_event(
        "s1", "user_message", "user", "prompt", data={"message": "now commit"}, timestamp="2026-01-01T10:05:00Z"
    )
    return {
        k: str(v.event_id)
        for k, v in dict(
            ask=ask, call=call, fail=fail, api=api, decision=decision, early=early, end=end, second=second
        ).items()
    }


def _export(repo: Repo, endpoint: str, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """``export-otel``; the sessions here are dated months back, so only an explicit ``--idle``
    lets quietness end a turn (the default, an hour, is tested on its own)."""
    idle = () if "--idle" in args else ("--idle", "0")
    return repo.run(
        sys.executable, "-m", "sessionlog", "export-otel", "--endpoint", endpoint, *idle, *args, check=check,
        env=env or None,
    )  # fmt: skip


def test_an_ended_turn_is_one_trace_with_genai_attributes_and_one_span_per_failure(
    tmp_path: Path, collector: tuple[str, Received]
) -> None:
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    ids = _session(SessionLogger(repo.sessions))
    out = _export(repo, endpoint).stdout
    assert "1 turn(s) sent" in out and "1 turn(s) not ended yet, held back" in out, out
    [request] = received
    spans = _spans(request)
    assert len({s.trace_id for s in spans}) == 1
    by_name = {s.name: s for s in spans}
    root = by_name["invoke_agent claude_code"]
    bash, read, api = by_name["execute_tool Bash"], by_name["execute_tool Read"], by_name["failure api"]
    assert len(spans) == 4  # root, two tools, the API failure: the Bash failure is its tool's span
    attrs = _attrs(root)
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.conversation.id"] == "s1"
    assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == "claude-sonnet-4-5"
    assert attrs["gen_ai.usage.input_tokens"] == 100 and attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 90
    # bounds from the instants, not the order of the lines
    assert root.start_time_unix_nano == bash.start_time_unix_nano - 5 * 10**9  # the prompt's instant
    assert root.end_time_unix_nano - root.start_time_unix_nano == 9 * 10**9
    assert bash.end_time_unix_nano - bash.start_time_unix_nano == 1_500_000_000  # from ended_at
    assert read.end_time_unix_nano - read.start_time_unix_nano == 250_000_000  # from duration_ms
    assert bash.status.code == Status.STATUS_CODE_ERROR and _attrs(bash)["error.type"] == "nonzero_exit"
    assert api.status.code == Status.STATUS_CODE_ERROR and _attrs(api)["error.type"] == "api_error.rate_limit"
    assert read.status.code == Status.STATUS_CODE_UNSET
    assert all(s.parent_span_id == root.span_id for s in spans if s is not root)
    # content is opt-in
    assert not {"gen_ai.input.messages", "gen_ai.output.messages"} & set(attrs)
    assert "gen_ai.tool.call.arguments" not in _attrs(bash)
    assert b"pytest" not in request.SerializeToString()
    # span events: the decision (its depends_on points at an error, held by the Bash span) and the end
    assert {e.name for e in root.events} == {
        "sessionlog.user_message",
        "sessionlog.decision",
        "sessionlog.state_change",
    }
    assert not any(link.span_id == root.span_id for s in spans for link in s.links)
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "sessionlog"
    assert ids["api"]


def test_reexport_sends_each_ended_turn_once_and_never_changes_it(
    tmp_path: Path, collector: tuple[str, Received]
) -> None:
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    lg = SessionLogger(repo.sessions)
    ids = _session(lg)
    _export(repo, endpoint)
    first = {(s.trace_id, s.span_id): s for s in _spans(received[0])}
    assert "nothing new to send" in _export(repo, endpoint).stdout and len(received) == 1
    # the session grows: the second turn ends; only its trace is sent, the first is left as sent
    call = lg.append_event(
        "s1",
        "tool_call",
        "claude_code",
        "Bash",
        data={"tool": "Bash", "tool_use_id": "toolu_2", "input": {"command": "git commit"}},
        dependencies={"depends_on": [ids["decision"]]},
        timestamp="2026-01-01T10:05:01Z",
    )
    lg.append_event(
        "s1", "state_change", "claude_code", "Stop", data={"kind": "turn_end"}, timestamp="2026-01-01T10:05:02Z"
    )
    out = _export(repo, endpoint).stdout
    assert "1 turn(s) sent" in out and "1 turn(s) sent to this endpoint before" in out, out
    second = _spans(received[1])
    assert {s.trace_id for s in second}.isdisjoint({s.trace_id for s in first.values()})
    [commit] = [s for s in second if s.name == "execute_tool Bash"]
    # a link to an event of the first turn points at a span that was sent: its root
    first_root = next(s for s in first.values() if s.name.startswith("invoke_agent"))
    assert [(link.trace_id, link.span_id) for link in commit.links] == [(first_root.trace_id, first_root.span_id)]
    assert call.ok
    # --all --content sends both turns again with the very same ids, now with content
    _export(repo, endpoint, "--all", "--content")
    again = _spans(received[2])
    assert {(s.trace_id, s.span_id) for s in again} == set(first) | {(s.trace_id, s.span_id) for s in second}
    root = next(s for s in again if s.span_id == first_root.span_id)
    assert json.loads(_attrs(root)["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "run the tests"}]}
    ]
    assert json.loads(_attrs(root)["gen_ai.output.messages"])[0]["parts"][0]["content"] == "The fixture is fixed."
    bash = next(s for s in again if s.name == "execute_tool Bash" and s.trace_id == first_root.trace_id)
    assert _attrs(bash)["gen_ai.tool.call.result"] == "2 failed"
    assert json.loads(_attrs(bash)["gen_ai.tool.call.arguments"]) == {"command": "pytest"}


def test_resource_attributes_come_from_the_standard_variables(tmp_path: Path, collector: tuple[str, Received]) -> None:
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    _session(SessionLogger(repo.sessions))
    _export(
        repo,
        endpoint,
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci,team=agents%20platform,service.name=ignored",
        OTEL_SERVICE_NAME="repo-agents",
    )
    resource = {a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes}
    assert resource == {"service.name": "repo-agents", "deployment.environment": "ci", "team": "agents platform"}


def test_a_redirect_is_not_followed_with_the_headers_and_nothing_counts_as_sent(tmp_path: Path) -> None:
    stolen: list[dict[str, str]] = []

    def elsewhere(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        stolen.append(headers)
        return b""

    with loopback_http(elsewhere) as other:

        def moved(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
            return 302, {"Location": f"{other}/v1/traces"}, b""

        with loopback_http(moved) as url:
            repo = Repo(tmp_path / "repo")
            _session(SessionLogger(repo.sessions))
            proc = _export(
                repo, f"{url}/v1/traces", check=False, OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer sk-live-123"
            )
    assert proc.returncode == 1 and "302" in proc.stderr and "not followed" in proc.stderr
    assert stolen == []
    assert not (repo.path / ".git" / "sessionlog" / "otlp-sent").exists()


def test_an_error_answer_records_nothing_and_the_next_export_sends_it(
    tmp_path: Path, collector: tuple[str, Received]
) -> None:
    answers = iter([(503, {}, b"busy")])

    def busy(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return next(answers, (200, {}, b""))

    repo = Repo(tmp_path / "repo")
    _session(SessionLogger(repo.sessions))
    with loopback_http(busy) as url:
        failed = _export(repo, f"{url}/v1/traces", check=False)
        assert failed.returncode == 1 and "503" in failed.stderr
        assert "1 turn(s) sent" in _export(repo, f"{url}/v1/traces").stdout


def test_an_unreachable_collector_is_reported(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    _session(SessionLogger(repo.sessions))
    proc = _export(repo, "http://127.0.0.1:9/v1/traces", check=False)
    assert proc.returncode == 1 and "127.0.0.1:9" in proc.stderr


TRANSCRIPTS = SHARED / "fixtures" / "transcripts"


@pytest.mark.parametrize(("agent", "pattern"), [("claude-code", "claude-code-*/*.jsonl"), ("codex", "codex-*/*.jsonl")])
def test_real_transcripts_export_as_consistent_traces(
    tmp_path: Path, collector: tuple[str, Received], agent: str, pattern: str
) -> None:
    shared("fixtures", "transcripts")
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    files = sorted(TRANSCRIPTS.glob(pattern))
    repo.run(sys.executable, "-m", "sessionlog", "import", agent, *map(str, files))
    _export(repo, endpoint, "--content")
    spans = [s for r in received for s in _spans(r)]
    assert spans
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    assert len(by_id) == len(spans)  # no id is used twice
    lg = SessionLogger(repo.sessions)
    events = {e["event_id"]: e for s in lg.list_sessions() for e in lg.read_session(s)}
    timed = 0
    for span in spans:
        assert span.end_time_unix_nano >= span.start_time_unix_nano > 0, span.name
        if span.parent_span_id:
            parent = by_id[(span.trace_id, span.parent_span_id)]
            assert parent.start_time_unix_nano <= span.start_time_unix_nano
            assert span.end_time_unix_nano <= parent.end_time_unix_nano
        else:
            assert _attrs(span)["gen_ai.provider.name"] == ("anthropic" if agent == "claude-code" else "openai")
        for link in span.links:
            assert (link.trace_id, link.span_id) in by_id  # links only to spans sent
        if span.name.startswith("execute_tool"):
            data = events[_attrs(span)["sessionlog.event_id"]]["data"]
            if "ended_at" in data:
                timed += 1
                assert span.end_time_unix_nano - span.start_time_unix_nano == pytest.approx(
                    data["duration_ms"] * 1e6, abs=1e3
                )
    assert timed > 0  # durations come from the transcripts' result records
    # each failure is one span: its tool's, ERROR; a failure on a tool has no span of its own
    tools = {_attrs(s)["sessionlog.event_id"]: s for s in spans if s.name.startswith("execute_tool")}
    errors = [e for e in events.values() if e["event_type"] == "error"]
    call_of = lambda data: data.get("tool_use_id") or data.get("call_id")  # noqa: E731
    failed_calls = {call_of(e["data"]) for e in errors}
    failed = {eid for eid in tools if call_of(events[eid]["data"]) in failed_calls}
    for event_id, span in tools.items():
        assert (span.status.code == Status.STATUS_CODE_ERROR) == (event_id in failed), span.name
    on_tools = {e["event_id"] for e in errors if set(e.get("dependencies", {}).get("depends_on", [])) & set(tools)}
    assert not [s for s in spans if s.name.startswith("failure") and _attrs(s)["sessionlog.event_id"] in on_tools]
    if agent == "claude-code":
        assert failed  # the fixtures hold failed tool calls


def test_an_imported_gemini_cli_recording_exports_with_its_provider_models_and_tokens(
    tmp_path: Path, collector: tuple[str, Received]
) -> None:
    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    fixture = shared("fixtures", "transcripts", "gemini-cli", "entireio-attribution_session.json")
    repo.run(sys.executable, "-m", "sessionlog", "import", "gemini-cli", str(fixture))
    assert "2 turn(s) sent" in _export(repo, endpoint, "--content").stdout
    spans = [s for request in received for s in _spans(request)]
    roots = sorted((s for s in spans if s.name == "invoke_agent gemini_cli"), key=lambda s: s.start_time_unix_nano)
    assert len(roots) == 2
    first, second = (_attrs(r) for r in roots)
    assert first["gen_ai.provider.name"] == "gcp.gemini"
    assert first["gen_ai.usage.input_tokens"] == 2700 and first["gen_ai.usage.cache_read.input_tokens"] == 2200
    assert second["gen_ai.request.model"] == "gemini-2.5-pro" and second["gen_ai.response.model"] == "gemini-2.5-flash"
    assert json.loads(second["gen_ai.output.messages"])[0]["parts"][0]["content"] == "There is one Go file: src/a.go."
    shell = next(s for s in spans if s.name == "execute_tool run_shell_command")
    assert shell.end_time_unix_nano - shell.start_time_unix_nano == 4_068_000_000  # 21:05:20.932 to 21:05:25
    for root in roots:  # every span inside its parent
        for span in (s for s in spans if s.trace_id == root.trace_id and s is not root):
            assert root.start_time_unix_nano <= span.start_time_unix_nano <= span.end_time_unix_nano
            assert span.end_time_unix_nano <= root.end_time_unix_nano


@pytest.mark.parametrize("order", ["hooks first", "import before the Stop hook"])
def test_a_turn_hooked_and_imported_ends_once_and_exports_with_the_transcripts_tokens(
    tmp_path: Path, collector: tuple[str, Received], order: str
) -> None:
    """The Stop hook and the transcript both end the turn: one ``turn_end``, whichever came first;
    the tokens only the transcript holds reach the trace (a ``turn_usage`` on a hooked end)."""
    from datetime import UTC, datetime, timedelta

    endpoint, received = collector
    repo = Repo(tmp_path / "repo")

    def hook(event: str, **fields: object) -> None:
        body = {"session_id": "sess-9", "transcript_path": None, "cwd": str(repo.path), "hook_event_name": event}
        repo.run(sys.executable, "-m", "sessionlog", "hook", "claude-code", input=json.dumps({**body, **fields}))

    hook("UserPromptSubmit", prompt="fix the build")
    [asked] = SessionLogger(repo.sessions).read_session("claude_code-sess-9")
    t0 = datetime.fromisoformat(asked["timestamp"].replace("Z", "+00:00"))

    def at(ms: int) -> str:  # the transcript's instants, from the hooked prompt's on
        return (t0 + timedelta(milliseconds=ms)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 300}
    records = [
        {"type": "user", "uuid": "u1", "sessionId": "sess-9", "timestamp": at(0),
         "message": {"role": "user", "content": "fix the build"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "sess-9", "timestamp": at(10),
         "message": {"id": "m1", "model": "claude-opus-4-5", "usage": usage, "stop_reason": "tool_use",
                     "content": [{"type": "tool_use", "id": "toolu_9", "name": "Bash", "input": {"command": "make"}}]}},
        {"type": "user", "uuid": "r1", "parentUuid": "a1", "sessionId": "sess-9", "timestamp": at(20),
         "message": {"content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "ok"}]}},
        {"type": "assistant", "uuid": "a2", "parentUuid": "r1", "sessionId": "sess-9", "timestamp": at(30),
         "message": {"id": "m2", "model": "claude-opus-4-5", "usage": {**usage, "output_tokens": 7},
                     "stop_reason": "end_turn", "content": [{"type": "text", "text": "fixed"}]}},
    ]  # fmt: skip
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))

    def imported() -> None:
        for _ in range(2):
            repo.run(sys.executable, "-m", "sessionlog", "import", "claude-code", str(transcript))

    if order == "hooks first":
        hook("Stop", stop_hook_active=False, last_assistant_message="fixed")
        imported()
    else:
        imported()
        hook("Stop", stop_hook_active=False, last_assistant_message="fixed")
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-9")
    kinds = [e["data"].get("kind") or e["event_type"] for e in events]
    assert kinds.count("user_message") == 1 and kinds.count("turn_end") == 1, kinds
    assert kinds.count("turn_usage") == (1 if order == "hooks first" else 0)
    if order == "hooks first":
        shown = repo.run(sys.executable, "-m", "sessionlog", "show", "claude_code-sess-9").stdout
        assert "turn usage claude-opus-4-5 20 input, 12 output" in shown, shown
    out = _export(repo, endpoint).stdout
    assert "1 turn(s) sent" in out and "held back" not in out, out
    [request] = received
    root = next(s for s in _spans(request) if s.name.startswith("invoke_agent"))
    attrs = _attrs(root)
    assert attrs["gen_ai.usage.output_tokens"] == 12 and attrs["gen_ai.usage.input_tokens"] == 620
    assert attrs["gen_ai.response.model"] == "claude-opus-4-5"


def test_a_last_turn_nobody_ended_is_sent_once_its_session_is_quiet_for_an_hour(
    tmp_path: Path, collector: tuple[str, Received]
) -> None:
    """A rollout that never says a turn ended (older Codex) or an agent killed mid-turn: the last
    turn is sent once the session has been quiet for ``--idle`` minutes (an hour by default),
    measured from its latest instant, a tool call's end included."""
    from datetime import UTC, datetime, timedelta

    endpoint, received = collector
    repo = Repo(tmp_path / "repo")
    lg = SessionLogger(repo.sessions)
    ago = lambda minutes: (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    lg.append_event("old", "user_message", "user", "prompt", data={"message": "fix it"}, timestamp=ago(200))
    lg.append_event("old", "tool_call", "codex", "shell", data={"tool": "shell"}, timestamp=ago(190))
    lg.append_event("busy", "user_message", "user", "prompt", data={"message": "build"}, timestamp=ago(200))
    lg.append_event("busy", "tool_call", "codex", "shell", data={"tool": "shell", "duration_ms": 190 * 60_000},
                    timestamp=ago(199))  # fmt: skip  # ran until ten minutes ago: not quiet for an hour
    held = _export(repo, endpoint, "--idle", "0").stdout
    assert "nothing new to send" in held and "2 turn(s) not ended yet" in held, held
    out = repo.run(sys.executable, "-m", "sessionlog", "export-otel", "--endpoint", endpoint).stdout
    assert "1 turn(s) sent" in out and "1 turn(s) not ended yet" in out, out
    [request] = received
    assert {_attrs(s)["gen_ai.conversation.id"] for s in _spans(request) if s.name.startswith("invoke")} == {"old"}
    assert "1 turn(s) sent" in _export(repo, endpoint, "--idle", "5").stdout  # quiet for ten minutes
    bad = _export(repo, endpoint, "--idle", "soon", check=False)
    assert bad.returncode == 2 and "not a number of minutes: 'soon'" in bad.stderr
