"""``sessionlog export --otel``: sessions as OpenTelemetry traces, sent over OTLP/HTTP (protobuf).

One trace per session, its ids derived from the session and event ids, so exporting
again sends the same trace, span and link ids (backends merge instead of duplicating):

- a root span ``invoke_agent {agent}`` (``gen_ai.operation.name``, ``gen_ai.conversation.id``,
  ``gen_ai.agent.name``) from the first event to the last;
- an ``execute_tool {tool}`` span per tool call (``gen_ai.tool.name``,
  ``gen_ai.tool.call.id``; its duration when the agent reported one), status ERROR with
  ``error.type`` when a failure depends on it;
- an ``error`` span per failure event, status ERROR;
- prompts, decisions, commitments, state changes and handoffs as events on the root span;
- ``dependencies.depends_on`` as span links.

Content (prompts, tool inputs and outputs, decision texts) is sent only with
``content=True`` (``--otel-content``), following the GenAI conventions' opt-in. The
endpoint comes from the argument or the standard ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` appended) and ``OTEL_EXPORTER_OTLP_HEADERS``.

Needs the ``otel`` extra: ``pip install 'agent-sessionlog[otel]'``.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from sessionlog import SessionLogger

SCOPE = "sessionlog"


def trace_id(session_id: str) -> bytes:
    return hashlib.sha256(f"sessionlog trace {session_id}".encode()).digest()[:16]


def span_id(key: str) -> bytes:
    return hashlib.sha256(f"sessionlog span {key}".encode()).digest()[:8]


def _nanos(stamp: object) -> int:
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return 0
    return int(moment.timestamp() * 1_000_000_000)


def _attr(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if not isinstance(value, str):
        value = orjson.dumps(value).decode()
    return KeyValue(key=key, value=AnyValue(string_value=value))


def session_spans(
    events: list[dict[str, Any]], session_id: str, *, content: bool = False, since: int = 0
) -> list[Span]:
    """The spans of one session's trace (root first); with *since* (Unix nanoseconds), only the
    root and what happened from then on."""
    tid = trace_id(session_id)
    root_id = span_id(f"{session_id}:root")
    agents = sorted({str((e.get("provenance") or {}).get("agent")) for e in events} - {"user"})
    failed_calls: dict[str, str] = {}  # tool_call event id -> error.type
    for e in events:
        if e.get("event_type") == "error":
            for cause in (e.get("dependencies") or {}).get("depends_on", []):
                failed_calls[cause] = _error_type(e)
    root = Span(
        trace_id=tid,
        span_id=root_id,
        name=f"invoke_agent {agents[0] if agents else 'agent'}",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=_nanos(events[0].get("timestamp")) if events else 0,
        end_time_unix_nano=_nanos(events[-1].get("timestamp")) if events else 0,
        attributes=[
            _attr("gen_ai.operation.name", "invoke_agent"),
            _attr("gen_ai.conversation.id", session_id),
            _attr("gen_ai.agent.name", ", ".join(agents) or "agent"),
            _attr("sessionlog.events", len(events)),
        ],
    )
    spans = [root]
    for e in events:
        kind = e.get("event_type")
        data: dict[str, Any] = e["data"] if isinstance(e.get("data"), dict) else {}
        eid = str(e.get("event_id"))
        start = _nanos(e.get("timestamp"))
        if start < since:
            continue
        links = [
            Span.Link(trace_id=tid, span_id=span_id(dep))
            for dep in (e.get("dependencies") or {}).get("depends_on", [])
            if isinstance(dep, str)
        ]
        base = [_attr("sessionlog.event_id", eid), _attr("sessionlog.seq", e.get("seq", 0))]
        if kind == "tool_call":
            spans.append(_tool_span(e, data, tid, root_id, links, failed_calls.get(eid), content=content))
        elif kind == "error":
            attrs = [*base, _attr("error.type", _error_type(e))]
            if content:
                attrs.append(_attr("sessionlog.failures", e.get("failure_ledger", [])))
            spans.append(
                Span(
                    trace_id=tid,
                    span_id=span_id(eid),
                    parent_span_id=root_id,
                    name="error",
                    kind=Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start,
                    attributes=attrs,
                    links=links,
                    status=Status(code=Status.STATUS_CODE_ERROR, message=_error_type(e)),
                )
            )
        else:
            attrs = [*base]
            if kind == "commitment":
                attrs += [
                    _attr("sessionlog.commitment.status", c.get("status", ""))
                    for c in e.get("open_commitments", [])[:1]
                ]
            if content:
                attrs.append(_attr("sessionlog.data", data))
            root.events.append(Span.Event(time_unix_nano=start, name=f"sessionlog.{kind}", attributes=attrs))
    return spans


def _tool_span(
    e: dict[str, Any],
    data: dict[str, Any],
    tid: bytes,
    root_id: bytes,
    links: list[Span.Link],
    failure: str | None,
    *,
    content: bool,
) -> Span:
    """An ``execute_tool`` span; status ERROR with ``error.type`` when *failure* names one."""
    eid = str(e.get("event_id"))
    start = _nanos(e.get("timestamp"))
    tool = str(data.get("tool") or (e.get("provenance") or {}).get("source") or "tool")
    attrs = [
        _attr("sessionlog.event_id", eid),
        _attr("sessionlog.seq", e.get("seq", 0)),
        _attr("gen_ai.operation.name", "execute_tool"),
        _attr("gen_ai.tool.name", tool),
    ]
    call_id = data.get("tool_use_id") or data.get("call_id")
    if call_id:
        attrs.append(_attr("gen_ai.tool.call.id", call_id))
    if content:
        attrs += [
            _attr("gen_ai.tool.call.arguments", data.get("input")),
            _attr("gen_ai.tool.call.result", data.get("response")),
        ]
    duration = data.get("duration_ms")
    end = start + int(duration * 1_000_000) if isinstance(duration, (int, float)) else start
    status = Status()
    if failure is not None:
        status = Status(code=Status.STATUS_CODE_ERROR, message=failure)
        attrs.append(_attr("error.type", failure))
    return Span(
        trace_id=tid,
        span_id=span_id(eid),
        parent_span_id=root_id,
        name=f"execute_tool {tool}",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=attrs,
        links=links,
        status=status,
    )


def _error_type(event: dict[str, Any]) -> str:
    data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
    ledger = event.get("failure_ledger") or [{}]
    for value in (data.get("error_code"), data.get("kind"), ledger[0].get("error_code"), data.get("tool")):
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return "error"


def request_for(
    logger: SessionLogger, session_ids: Iterable[str], *, content: bool = False, since: str | None = None
) -> ExportTraceServiceRequest:
    """The OTLP request for *session_ids*; *since* (RFC 3339) keeps what happened from then on."""
    scope_spans = ScopeSpans(scope=InstrumentationScope(name=SCOPE, version=_version()))
    floor = _nanos(since) if since else 0
    for session in session_ids:
        events = list(logger.read_session(session))
        scope_spans.spans.extend(session_spans(events, session, content=content, since=floor))
    resource = Resource(attributes=[_attr("service.name", os.environ.get("OTEL_SERVICE_NAME", "sessionlog"))])
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope_spans])])


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


def send(request: ExportTraceServiceRequest, endpoint: str, timeout: float = 10.0) -> int:
    """POST the request; return the number of spans sent. Raises OSError on failure."""
    body = request.SerializeToString()
    http = urllib.request.Request(
        endpoint, data=body, method="POST", headers={"Content-Type": "application/x-protobuf", **_headers()}
    )
    with urllib.request.urlopen(http, timeout=timeout) as response:
        if response.status >= 300:
            raise OSError(f"{endpoint} answered {response.status}")
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-sessionlog")
    except PackageNotFoundError:
        return "0"
