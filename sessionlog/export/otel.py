"""``sessionlog export-otel``: sessions as OpenTelemetry traces, sent over OTLP/HTTP (protobuf),
following the GenAI semantic conventions.

**One trace per ended turn.** A session is cut into turns: a user's prompt and what followed up
to the next prompt, or up to and including a ``turn_end`` / ``session_end`` state change (events
after such an end and before the next prompt are a turn of their own, with no prompt). A turn is
sent only once it has ended (or its session has been quiet for an hour: ``idle``), so what was
sent never changes afterwards: its trace and span ids
derive from the session and the turn's first event, and re-exporting sends the very same spans.
A backend groups a session's turns by ``gen_ai.conversation.id``. A turn not ended yet is held
back and counted.

In a turn's trace:

- the root span ``invoke_agent {agent}``: ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  ``gen_ai.agent.name``, ``gen_ai.conversation.id``, the model (``gen_ai.request.model``,
  ``gen_ai.response.model``) and token usage (``gen_ai.usage.*``) where the agent recorded them
  (the importers and hooks keep them on ``turn_end`` and ``tool_call`` events, and an import on
  a ``turn_usage`` after the turn end a hook logged, which stays in that turn); from the turn's
  earliest instant to its latest (tool ends included), whatever order the lines are in;
- an ``execute_tool {tool}`` span per tool call, from its start to its end (``data.ended_at`` or
  ``data.duration_ms``); status ERROR with ``error.type`` (an error class: ``nonzero_exit``,
  ``interrupted``, ``tool_error``...) when a failure is recorded on it;
- a failure that belongs to no tool call (an API error, say) is a span of its own, status ERROR;
  so each failure is one span;
- prompts and the agent's last message go into ``gen_ai.input.messages`` and
  ``gen_ai.output.messages`` on the root, tool inputs and results into
  ``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result``, all only with ``content=True``
  (``--content``: the conventions make content opt-in);
- decisions, commitments, constraints, state changes and handoffs are events on the root span;
- ``dependencies.depends_on`` become links, to the span that holds the event depended on (a tool
  or failure span, else the root of its turn), and only to turns that are sent.

The endpoint comes from the argument or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` appended), headers from
``OTEL_EXPORTER_OTLP_HEADERS``, the resource from ``OTEL_RESOURCE_ATTRIBUTES`` and
``OTEL_SERVICE_NAME``. A redirect is never followed (the headers carry credentials) and a
send counts only on a 2xx answer.

Needs the ``otel`` extra: ``pip install 'agent-sessionlog[otel]'``.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from sessionlog import SessionLogger, by_time

SCOPE = "sessionlog"
PROVIDERS = {"claude_code": "anthropic", "codex": "openai", "gemini_cli": "gcp.gemini", "copilot_cli": "github"}
_ENDS = {"turn_end", "session_end"}
IDLE_SECONDS = 3600.0  # a session quiet this long has ended its last turn, said or not
_NOT_AGENTS = {"user", "sessionlog"}
Event = dict[str, Any]


def _digest(*parts: str, size: int) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()[:size]


def _nanos(stamp: object) -> int | None:
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1_000_000) * 1000


def _attr(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if not isinstance(value, str):
        value = orjson.dumps(value, default=str).decode()
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _data(event: Event) -> dict[str, Any]:
    return event["data"] if isinstance(event.get("data"), dict) else {}


def _agent(event: Event) -> str:
    return str((event.get("provenance") or {}).get("agent") or "agent")


def _depends(event: Event) -> list[str]:
    found = (event.get("dependencies") or {}).get("depends_on", [])
    return [d for d in found if isinstance(d, str)] if isinstance(found, list) else []


def _is_prompt(event: Event) -> bool:
    return event.get("event_type") == "user_message" and not _data(event).get("sidechain")


def _ends_turn(event: Event) -> bool:
    return event.get("event_type") == "state_change" and _data(event).get("kind") in _ENDS


@dataclass
class Turn:
    """A prompt and what followed, up to the next prompt or an end."""

    session: str
    agent: str = "agent"  # the session's agent, for a turn in which only the user spoke
    events: list[Event] = field(default_factory=list)
    ended: bool = False

    @property
    def key(self) -> str:
        return str(self.events[0].get("event_id"))

    @property
    def trace_id(self) -> bytes:
        return _digest("sessionlog trace", self.session, self.key, size=16)

    def span_id(self, event_id: str) -> bytes:
        return _digest("sessionlog span", self.session, self.key, event_id, size=8)


def turns(events: Iterable[Event], session: str) -> list[Turn]:
    """*events* cut into turns, in the order things happened."""
    ordered = by_time(events)
    agents = Counter(_agent(e) for e in ordered if _agent(e) not in _NOT_AGENTS)
    agent = agents.most_common(1)[0][0] if agents else "agent"
    out: list[Turn] = []
    current: Turn | None = None
    for event in ordered:
        if current is not None and current.ended and _data(event).get("kind") == "turn_usage":
            current.events.append(event)  # what an import adds to a hooked turn end: that turn's
            continue
        if current is None or _is_prompt(event) or current.ended:
            if current is not None and not current.ended and _is_prompt(event):
                current.ended = True  # the next prompt ends the turn before it
            current = Turn(session, agent)
            out.append(current)
        current.events.append(event)
        if _ends_turn(event):
            current.ended = True
    return out


def failure_class(event: Event) -> str:
    """``error.type`` of a failure: a low-cardinality class, never a tool name or a message."""
    data = _data(event)
    ledger = event.get("failure_ledger") or [{}]
    first = ledger[0] if isinstance(ledger[0], dict) else {}
    reason = str(first.get("failure_reason") or data.get("message") or "")
    if data.get("interrupted") is True:
        return "interrupted"
    if data.get("kind") == "api_error":
        return f"api_error.{data['error']}" if isinstance(data.get("error"), str) and data["error"] else "api_error"
    if isinstance(data.get("kind"), str) and data["kind"] not in ("tool_error", "error"):
        return str(data["kind"])
    if data.get("exit_code") or reason.lower().startswith(("exited with code", "exit code")):
        return "nonzero_exit"
    if data.get("tool") or data.get("tool_use_id") or data.get("call_id"):
        return "tool_error"
    return "_OTHER"


def _is_failure(event: Event) -> bool:
    if _data(event).get("kind") == "handoff":
        return False  # a handoff refers to failures (data.carries); it is not one
    return event.get("event_type") == "error" or bool(event.get("failure_ledger"))


def _failures(turn: Turn) -> tuple[dict[str, str], list[Event]]:
    """A turn's failures: those on a tool call of the turn (tool call event id -> error class,
    the first failure's), and those that get a span of their own."""
    tool_ids = {str(e.get("event_id")) for e in turn.events if e.get("event_type") == "tool_call"}
    on_tool: dict[str, str] = {}
    own: list[Event] = []
    for e in turn.events:
        if not _is_failure(e):
            continue
        eid = str(e.get("event_id"))
        tools = [eid] if eid in tool_ids else [d for d in _depends(e) if d in tool_ids]
        if tools:
            on_tool.setdefault(tools[0], failure_class(e))
        else:
            own.append(e)
    return on_tool, own


class _Trace:
    """Builds the spans of one turn."""

    def __init__(self, turn: Turn, where: dict[str, tuple[bytes, bytes]], *, content: bool) -> None:
        self.turn = turn
        self.where = where  # event id -> (trace id, span id) of the span that holds it, sent turns only
        self.content = content
        self.root_id = turn.span_id("root")
        self.spans: list[Span] = []

    def links(self, event: Event) -> list[Span.Link]:
        out = []
        for dep in _depends(event):
            target = self.where.get(dep)
            if target is not None and target != (self.turn.trace_id, self.root_id):  # not its own parent
                out.append(Span.Link(trace_id=target[0], span_id=target[1]))
        return out

    def build(self) -> list[Span]:
        failed, own = _failures(self.turn)
        self.spans = [self._failure_span(e) for e in own]
        root = self._root()
        for e in self.turn.events:
            kind = e.get("event_type")
            if kind == "tool_call":
                self.spans.append(self._tool_span(e, failed.get(str(e.get("event_id")))))
            elif kind != "error":  # an error is its tool's span's status, or a span of its own
                root.events.append(self._span_event(e))
        starts = [s.start_time_unix_nano for s in self.spans if s.start_time_unix_nano]
        ends = [s.end_time_unix_nano for s in self.spans if s.end_time_unix_nano]
        instants = [n for n in (_nanos(e.get("timestamp")) for e in self.turn.events) if n is not None]
        root.start_time_unix_nano = min([*instants, *starts], default=0)
        root.end_time_unix_nano = max([*instants, *ends], default=0)
        return [root, *self.spans]

    def _root(self) -> Span:
        events = self.turn.events
        agents = sorted({_agent(e) for e in events} - _NOT_AGENTS) or [self.turn.agent]
        ends = [e for e in events if _ends_turn(e)]
        said = _data(ends[-1]) if ends else {}
        added = [_data(e) for e in events if _data(e).get("kind") == "turn_usage"]
        if "usage" not in said and added:  # a hooked turn end, its model and tokens from the import
            said = {**said, "usage": added[-1].get("usage")}
        models = [str(_data(e)["model"]) for e in events if isinstance(_data(e).get("model"), str)]
        attrs = [
            _attr("gen_ai.operation.name", "invoke_agent"),
            _attr("gen_ai.provider.name", PROVIDERS.get(agents[0], agents[0])),
            _attr("gen_ai.agent.name", agents[0]),
            _attr("gen_ai.conversation.id", self.turn.session),
            _attr("sessionlog.events", len(events)),
        ]
        if models:
            attrs += [_attr("gen_ai.request.model", models[0]), _attr("gen_ai.response.model", models[-1])]
        attrs += _usage(said.get("usage"))
        if self.content:
            prompt = next((e for e in events if _is_prompt(e)), None)
            if prompt is not None:
                attrs.append(_attr("gen_ai.input.messages", [_message("user", _text(_data(prompt)))]))
            answer = said.get("last_assistant_message")
            if isinstance(answer, str) and answer:
                attrs.append(
                    _attr("gen_ai.output.messages", [{**_message("assistant", answer), "finish_reason": "stop"}])
                )
        prompt_event = events[0] if _is_prompt(events[0]) else None
        return Span(
            trace_id=self.turn.trace_id,
            span_id=self.root_id,
            name=f"invoke_agent {agents[0]}",
            kind=Span.SPAN_KIND_INTERNAL,
            attributes=attrs,
            links=self.links(prompt_event) if prompt_event is not None else [],
        )

    def _tool_span(self, e: Event, failure: str | None) -> Span:
        data = _data(e)
        eid = str(e.get("event_id"))
        start = _nanos(e.get("timestamp")) or 0
        tool = str(data.get("tool") or (e.get("provenance") or {}).get("source") or "tool")
        attrs = [
            _attr("sessionlog.event_id", eid),
            _attr("gen_ai.operation.name", "execute_tool"),
            _attr("gen_ai.tool.name", tool),
            _attr("gen_ai.tool.type", "extension" if tool.startswith("mcp__") else "function"),
        ]
        call_id = data.get("tool_use_id") or data.get("call_id")
        if call_id:
            attrs.append(_attr("gen_ai.tool.call.id", str(call_id)))
        if self.content:
            attrs.append(_attr("gen_ai.tool.call.arguments", data.get("input")))
            result = data["response"] if "response" in data else data.get("output")
            if result is not None:
                attrs.append(_attr("gen_ai.tool.call.result", result))
        status = Status()
        if failure is not None:
            status = Status(code=Status.STATUS_CODE_ERROR, message=failure)
            attrs.append(_attr("error.type", failure))
        return Span(
            trace_id=self.turn.trace_id,
            span_id=self.turn.span_id(eid),
            parent_span_id=self.root_id,
            name=f"execute_tool {tool}",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            end_time_unix_nano=_end_of(data, start),
            attributes=attrs,
            links=self.links(e),
            status=status,
        )

    def _failure_span(self, e: Event) -> Span:
        eid = str(e.get("event_id"))
        at = _nanos(e.get("timestamp")) or 0
        kind = failure_class(e)
        attrs = [_attr("sessionlog.event_id", eid), _attr("error.type", kind)]
        if self.content:
            attrs.append(_attr("sessionlog.failures", e.get("failure_ledger") or _data(e)))
        source = str((e.get("provenance") or {}).get("source") or "error")
        return Span(
            trace_id=self.turn.trace_id,
            span_id=self.turn.span_id(eid),
            parent_span_id=self.root_id,
            name=f"failure {source}",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=at,
            end_time_unix_nano=at,
            attributes=attrs,
            links=self.links(e),
            status=Status(code=Status.STATUS_CODE_ERROR, message=kind),
        )

    def _span_event(self, e: Event) -> Span.Event:
        data = _data(e)
        attrs = [_attr("sessionlog.event_id", str(e.get("event_id")))]
        if isinstance(data.get("kind"), str):
            attrs.append(_attr("sessionlog.kind", data["kind"]))
        for c in e.get("open_commitments", [])[:1]:
            if isinstance(c, dict):
                attrs.append(_attr("sessionlog.commitment.status", str(c.get("status", ""))))
        if self.content:
            attrs.append(_attr("sessionlog.data", data))
        return Span.Event(
            time_unix_nano=_nanos(e.get("timestamp")) or 0, name=f"sessionlog.{e.get('event_type')}", attributes=attrs
        )


def _latest(event: Event) -> int:
    """The latest instant of *event* (a tool call's end included), in nanoseconds; 0 if none."""
    start = _nanos(event.get("timestamp")) or 0
    return _end_of(_data(event), start) if start else 0


def _end_of(data: dict[str, Any], start: int) -> int:
    ended = _nanos(data.get("ended_at")) if data.get("ended_at") else None
    if ended is not None and ended >= start:
        return ended
    duration = data.get("duration_ms")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
        return start + int(duration * 1_000_000)
    return start


def _text(data: dict[str, Any]) -> str:
    for key in ("message", "text", "prompt", "content"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return ""


def _message(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def _usage(usage: object) -> list[KeyValue]:
    """``gen_ai.usage.*`` from an agent's token counts (Anthropic's or OpenAI's names). Input
    tokens include cached ones, as the conventions ask; Anthropic counts those apart."""
    if not isinstance(usage, dict):
        return []

    def count(*names: str) -> int:
        return sum(int(usage[n]) for n in names if isinstance(usage.get(n), int) and not isinstance(usage[n], bool))

    out = []
    cache_read = count("cache_read_input_tokens")  # Anthropic; OpenAI's cached_input_tokens are inside input_tokens
    cache_made = count("cache_creation_input_tokens")
    if "input_tokens" in usage:
        out.append(_attr("gen_ai.usage.input_tokens", count("input_tokens") + cache_read + cache_made))
    if "output_tokens" in usage:
        out.append(_attr("gen_ai.usage.output_tokens", count("output_tokens")))
    if cache_read or "cached_input_tokens" in usage:
        out.append(_attr("gen_ai.usage.cache_read.input_tokens", cache_read or count("cached_input_tokens")))
    if cache_made:
        out.append(_attr("gen_ai.usage.cache_creation.input_tokens", cache_made))
    return out


@dataclass
class Plan:
    """What one export sends: the spans of the ended turns not sent before, and what it holds back."""

    spans: list[Span]
    traces: list[str]  # hex trace ids of the turns it sends
    held_back: int  # turns not ended yet
    sent_before: int  # ended turns already sent to this endpoint


def plan(
    logger: SessionLogger,
    sessions: Sequence[str],
    *,
    content: bool = False,
    sent: frozenset[str] = frozenset(),
    since: str | None = None,
    idle: float = IDLE_SECONDS,
    now: float | None = None,
) -> Plan:
    """The export of *sessions*: every ended turn whose trace id is not in *sent* (and, with
    *since*, that started from then on). A session's last turn with no end also counts as ended
    once its session has been quiet for *idle* seconds (0: never): the agent stopped without
    saying so, or its transcript does not say turns end (older Codex rollouts)."""
    floor = _nanos(since) if since else None
    quiet_since = int(((time.time() if now is None else now) - idle) * 1e9) if idle > 0 else None
    todo: list[Turn] = []
    where: dict[str, tuple[bytes, bytes]] = {}
    held = before = 0
    for session in sessions:
        cut = turns(logger.read_session(session), session)
        if cut and not cut[-1].ended and quiet_since is not None:
            last = max((_latest(e) for e in cut[-1].events), default=0)
            cut[-1].ended = 0 < last <= quiet_since
        for turn in cut:
            if not turn.ended:
                held += 1
                continue
            own = {str(e.get("event_id")) for e in _failures(turn)[1]}
            for e in turn.events:  # links may point to any ended turn: it is sent, now or before
                eid = str(e.get("event_id"))
                spanned = e.get("event_type") == "tool_call" or eid in own
                where[eid] = (turn.trace_id, turn.span_id(eid) if spanned else turn.span_id("root"))
            if turn.trace_id.hex() in sent:
                before += 1
            elif floor is None or (_nanos(turn.events[0].get("timestamp")) or 0) >= floor:
                todo.append(turn)
    spans: list[Span] = []
    for turn in todo:
        spans += _Trace(turn, where, content=content).build()
    return Plan(spans, [t.trace_id.hex() for t in todo], held, before)


class Ledger:
    """The traces sent to each endpoint, kept in the logger's state folder (never committed): one
    line ``<endpoint digest> <trace id>`` per trace, appended after a 2xx answer only."""

    def __init__(self, logger: SessionLogger, endpoint: str) -> None:
        self.path = logger.state_dir / "otlp-sent"
        self.endpoint = hashlib.sha256(endpoint.encode()).hexdigest()[:16]

    def sent(self) -> frozenset[str]:
        try:
            lines = self.path.read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            return frozenset()
        return frozenset(t for e, _, t in (line.partition(" ") for line in lines) if e == self.endpoint and t)

    def record(self, traces: Iterable[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="ascii") as out:  # one write: concurrent exports interleave whole lines
            out.write("".join(f"{self.endpoint} {t}\n" for t in traces))


def request_for(spans: list[Span]) -> ExportTraceServiceRequest:
    scope_spans = ScopeSpans(scope=InstrumentationScope(name=SCOPE, version=_version()), spans=spans)
    resource = Resource(attributes=[_attr(k, v) for k, v in resource_attributes().items()])
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope_spans])])


def resource_attributes() -> dict[str, str]:
    """The resource, as the SDKs build it: ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,...``,
    percent-decoded), then ``OTEL_SERVICE_NAME`` over its ``service.name``; ``sessionlog`` when
    neither names the service."""
    found = {"service.name": "sessionlog"}
    for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            found[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    if os.environ.get("OTEL_SERVICE_NAME"):
        found["service.name"] = os.environ["OTEL_SERVICE_NAME"]
    return found


def endpoint_from_env(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    return base.rstrip("/") + "/v1/traces"


def _headers() -> dict[str, str]:
    pairs = (p.split("=", 1) for p in os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "").split(",") if "=" in p)
    return {urllib.parse.unquote(k.strip()): urllib.parse.unquote(v.strip()) for k, v in pairs}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: following one would send the OTLP headers (API keys) to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def send(request: ExportTraceServiceRequest, endpoint: str, timeout: float = 10.0) -> int:
    """POST the request; return the number of spans sent. Raises OSError unless the answer is 2xx."""
    body = request.SerializeToString()
    http = urllib.request.Request(
        endpoint, data=body, method="POST", headers={"Content-Type": "application/x-protobuf", **_headers()}
    )
    try:
        with _OPENER.open(http, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            where = exc.headers.get("Location", "?")
            raise OSError(f"answered {exc.code} (a redirect to {where}), not followed: give the final URL") from None
        raise OSError(f"answered {exc.code} {exc.reason}") from None
    if not 200 <= status < 300:
        raise OSError(f"answered {status}")
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-sessionlog")
    except PackageNotFoundError:
        return "0"
