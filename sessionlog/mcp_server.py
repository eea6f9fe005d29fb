"""``sessionlog mcp``: the session log as an MCP server (official ``mcp`` SDK 2.x, stdio).

Agents reach the log through tools: append any event, log a decision with its causal
steps, open/update/close a commitment, record a failure, query, open commitments,
failure history, why (an event's causes), handoff and verify. Hosts may browse the
sessions as resources (``sessionlog://sessions``, ``sessionlog://sessions/{id}``).

The agent never names files: the server works in its repository's sessions folder, and
a tool's ``session_id`` defaults to ``$SESSIONLOG_SESSION`` or to the session
``sessionlog activate`` made active on the checked-out branch. Bad arguments come back
as tool errors carrying the validation message, and nothing is written. Diagnostics go
to stderr (MCP's logging notifications are deprecated).

Needs the ``mcp`` extra: ``pip install 'agent-sessionlog[mcp]'``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ToolAnnotations
from pydantic import BaseModel, Field

from sessionlog import SessionLogger, active_session_id, agent_error

EventType = Literal[
    "user_message", "tool_call", "state_change", "commitment", "error", "constraint_applied", "decision"
]
Status = Literal["pending", "in_progress", "blocked", "completed", "cancelled"]

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_APPEND = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)


class Written(BaseModel):
    """Where an appended event went."""

    session_id: str
    event_id: str
    seq: int


class Step(BaseModel):
    step: str = Field(description="what was decided at this point")
    reasoning: str = Field(description="why")
    alternatives_considered: list[str] = Field(default_factory=list)


class Handed(Written):
    """The handoff event, and the brief the next agent should read (``sessionlog export``)."""

    brief: str


class Verdict(BaseModel):
    session_id: str
    ok: bool
    events: int
    findings: list[str]


def build(agent: str, logger: SessionLogger | None = None) -> MCPServer:
    """The server for *agent* (the name its events carry), logging through *logger*."""
    log = logger or SessionLogger()
    server = MCPServer(
        "sessionlog",
        version=_version(),
        instructions=(
            "Append-only, validated log of this repository's agent sessions. Log decisions with their "
            "reasons, commitments as you make and close them, and failures; query them, or ask why an event "
            "happened. session_id defaults to the active session."
        ),
    )

    def session_of(given: str | None) -> str:
        if given:
            return given
        from_env = os.environ.get("SESSIONLOG_SESSION")
        if from_env:
            return from_env
        try:
            active = active_session_id()
        except Exception:  # noqa: BLE001 - no git, no active session: the caller is told below
            active = None
        if not active:
            raise ToolError(
                "no session_id given and no active session (set SESSIONLOG_SESSION or run sessionlog activate)"
            )
        return active

    def written(session: str, result: Any) -> Written:
        if not result.ok:
            raise ToolError(result.error or "refused")
        return Written(session_id=session, event_id=result.event_id, seq=result.seq)

    def append(
        session_id: str | None,
        event_type: str,
        source: str,
        data: dict[str, Any] | None,
        depends_on: list[str] | None,
        confidence: float | None = None,
        **blocks: Any,
    ) -> Written:
        """Append for a tool: its session resolved, its causes as ``dependencies``, a refusal a ToolError."""
        session = session_of(session_id)
        unknown = [
            i for i in depends_on or [] if log.latest_event(session, i.encode(), _is(i), max_bytes=1 << 62) is None
        ]
        if unknown:
            raise ToolError(f"depends_on names event(s) not in session {session!r}: {', '.join(unknown)}")
        dependencies = {"depends_on": depends_on} if depends_on else None
        result = log.append_event(
            session, event_type, agent, source, data, dependencies=dependencies, confidence=confidence, **blocks
        )
        return written(session, result)

    @server.tool(annotations=_APPEND)
    def append_event(
        event_type: Annotated[EventType, Field(description="the kind of event")],
        source: Annotated[str, Field(description="where it came from: a tool, a file, a person")],
        data: dict[str, Any] | None = None,
        causal_steps: list[dict[str, Any]] | None = None,
        active_constraints: list[dict[str, Any]] | None = None,
        failure_ledger: list[dict[str, Any]] | None = None,
        open_commitments: list[dict[str, Any]] | None = None,
        key_entities: dict[str, dict[str, Any]] | None = None,
        depends_on: Annotated[list[str] | None, Field(description="event ids this event follows from")] = None,
        confidence: Annotated[float | None, Field(ge=0, le=1)] = None,
        session_id: str | None = None,
    ) -> Written:
        """Append one event of any type with any of the optional blocks; returns its id and line."""
        return append(
            session_id,
            event_type,
            source,
            data,
            depends_on,
            confidence,
            causal_steps=causal_steps,
            active_constraints=active_constraints,
            failure_ledger=failure_ledger,
            open_commitments=open_commitments,
            key_entities=key_entities,
        )

    @server.tool(annotations=_APPEND)
    def log_decision(
        decision: Annotated[str, Field(description="what was decided")],
        reasoning: Annotated[str, Field(description="why")],
        steps: list[Step] | None = None,
        alternatives: list[str] | None = None,
        depends_on: list[str] | None = None,
        session_id: str | None = None,
    ) -> Written:
        """Log a decision with its reasons, the steps that led to it and what was ruled out."""
        causal = [s.model_dump() for s in steps or []] or [
            {"step": decision, "reasoning": reasoning, "alternatives_considered": alternatives or []}
        ]
        data = {
            "decision": decision,
            "reasoning": reasoning,
            **({"alternatives": alternatives} if alternatives else {}),
        }
        return append(session_id, "decision", "mcp", data, depends_on, causal_steps=causal)

    @server.tool(annotations=_APPEND)
    def commitment(
        id: Annotated[str, Field(description="a stable name: later calls with it update the commitment")],
        commitment: Annotated[str, Field(description="what was promised")],
        status: Status = "pending",
        due_by: Annotated[str | None, Field(description="RFC 3339 instant")] = None,
        depends_on: Annotated[list[str] | None, Field(description="ids of commitments this one waits for")] = None,
        session_id: str | None = None,
    ) -> Written:
        """Open, update or close (status completed or cancelled) a commitment; the latest status wins."""
        entry: dict[str, Any] = {"id": id, "commitment": commitment, "status": status}
        if due_by:
            entry["due_by"] = due_by
        if depends_on:
            entry["dependencies"] = depends_on
        return append(session_id, "commitment", "mcp", {"id": id, "status": status}, None, open_commitments=[entry])

    @server.tool(annotations=_APPEND)
    def record_failure(
        attempt: Annotated[str, Field(description="what was tried")],
        failure_reason: Annotated[str, Field(description="why it failed")],
        error_code: str | None = None,
        depends_on: list[str] | None = None,
        session_id: str | None = None,
    ) -> Written:
        """Record a failed attempt (an error event with a failure-ledger entry)."""
        ledger = {
            "attempt": attempt,
            "failure_reason": failure_reason,
            **({"error_code": error_code} if error_code else {}),
        }
        return append(session_id, "error", "mcp", {"message": failure_reason}, depends_on, failure_ledger=[ledger])

    @server.tool(annotations=_APPEND)
    def handoff(
        to_agent: Annotated[str, Field(description="who takes over")],
        summary: Annotated[str, Field(description="what the next agent needs to know")],
        session_id: str | None = None,
    ) -> Handed:
        """Hand the work to another agent, carrying the open commitments and recent failures forward;
        returns the session's brief for the next agent."""
        from sessionlog.export.brief import build_brief, render_markdown  # the same layer

        problem = agent_error(to_agent)
        if problem is not None:
            raise ToolError(f"to_agent: {problem}")
        session = session_of(session_id)
        done = written(session, log.log_handoff(session, agent, to_agent, summary, source="mcp"))
        return Handed(**done.model_dump(), brief=render_markdown(build_brief(log, session)))

    _add_reading_tools(server, log, session_of)
    _refuse_unknown_arguments(server)
    return server


def _refuse_unknown_arguments(server: MCPServer) -> None:
    """Make every tool refuse an argument it does not name (the SDK drops them silently): a
    misspelt ``depends_on`` would otherwise log an event without its cause, and say nothing."""
    manager = getattr(server, "_tool_manager", None)
    for tool in manager.list_tools() if manager is not None else []:
        model = tool.fn_metadata.arg_model
        model.model_config["extra"] = "forbid"
        model.model_rebuild(force=True)


def _add_reading_tools(server: MCPServer, log: SessionLogger, session_of: Callable[[str | None], str]) -> None:
    @server.tool(annotations=_READ)
    def query_events(
        event_type: EventType | None = None,
        agent_name: Annotated[str | None, Field(description="only events by this agent")] = None,
        after: Annotated[str | None, Field(description="exclusive lower bound, RFC 3339")] = None,
        before: Annotated[str | None, Field(description="exclusive upper bound, RFC 3339")] = None,
        text: Annotated[str | None, Field(description="only events whose JSON contains this text")] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
        session_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events of a session matching every filter given, oldest first (the last *limit* of them)."""
        try:
            events = log.query_events(
                session_of(session_id),
                event_type=event_type,
                agent=agent_name,
                after_timestamp=after,
                before_timestamp=before,
            )
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        found = list(events)
        if text:
            needle = text.lower()
            found = [e for e in found if needle in orjson.dumps(e).decode().lower()]
        return found[-limit:]

    @server.tool(annotations=_READ)
    def open_commitments(session_id: str | None = None) -> list[dict[str, Any]]:
        """The latest state of each commitment that is not completed or cancelled."""
        return log.get_open_commitments(session_of(session_id))

    @server.tool(annotations=_READ)
    def failure_history(session_id: str | None = None) -> list[dict[str, Any]]:
        """Every failure-ledger entry of the session, oldest first."""
        return log.get_failure_history(session_of(session_id))

    @server.tool(annotations=_READ)
    def why(event_id: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """The events an event depends on, directly or through others, nearest first."""
        try:
            return log.get_ancestors(session_of(session_id), event_id)
        except KeyError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=_READ)
    def verify(session_id: str | None = None) -> Verdict:
        """Check a session: every line valid, the hash chain intact, no unredacted secret."""
        session = session_of(session_id)
        if session not in log.list_sessions():
            raise ToolError(f"no session {session!r} in {log.base_dir}")
        report = log.verify_session(session)
        return Verdict(
            session_id=session, ok=report.ok, events=report.events, findings=[str(f) for f in report.findings]
        )

    @server.resource("sessionlog://sessions", mime_type="application/json")
    def sessions() -> str:
        """The live sessions of this repository."""
        return orjson.dumps(log.list_sessions()).decode()

    @server.resource("sessionlog://sessions/{session_id}", mime_type="application/x-ndjson")
    def session_resource(session_id: str) -> str:
        """One session, its events as JSON lines."""
        if session_id not in log.list_sessions():
            # "resource not found" is invalid params (-32602), with what was asked for
            raise MCPError(INVALID_PARAMS, f"no session {session_id!r} in {log.base_dir}")
        return "".join(orjson.dumps(e).decode() + "\n" for e in log.read_session(session_id))


def _is(event_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("event_id") == event_id


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-sessionlog")
    except PackageNotFoundError:
        return "0"


def main(agent: str) -> int:
    try:
        server = build(agent)
    except Exception as exc:  # noqa: BLE001 - say why on stderr: stdout is the protocol's
        print(f"sessionlog mcp: {exc}", file=sys.stderr)
        return 1
    server.run()
    return 0
