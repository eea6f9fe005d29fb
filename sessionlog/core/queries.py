"""Queries: filters and folds over a stream of session lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from sessionlog.core.reader import ParseError, decode_line
from sessionlog.core.types import Event
from sessionlog.errors import UnknownEvent, UsageError

_CANONICAL = "%Y-%m-%dT%H:%M:%S.%fZ"
CLOSED_STATUSES = frozenset({"completed", "cancelled"})


class SessionEvents(list[Event]):
    """The events of a session, in file order; ``errors`` lists the lines that were not events."""

    def __init__(self, events: Iterable[Event] = (), errors: Iterable[ParseError] = ()) -> None:
        super().__init__(events)
        self.errors: list[ParseError] = list(errors)


def parse_instant(value: str | datetime, *, what: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 instant with an offset (``Z`` or ``+HH:MM``)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{what} {value!r} is not an ISO 8601 timestamp (e.g. 2025-12-10T12:00:00Z)") from None
    else:
        raise UsageError(f"{what} must be a string or datetime, got {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(f"{what} {value!s} has no UTC offset; add Z or +HH:MM so it names one instant")
    return moment.astimezone(UTC)


def canonical_instant(moment: datetime) -> str:
    """UTC with microseconds and Z: the form sessionlog writes, ordered as a string."""
    return moment.astimezone(UTC).strftime(_CANONICAL)


def _event_instant(stamp: object) -> str | None:
    """The canonical form of an event's timestamp, or None if it has none."""
    if not isinstance(stamp, str):
        return None
    if len(stamp) == 27 and stamp[10] == "T" and stamp[19] == "." and stamp[26] == "Z":
        return stamp  # already canonical: compare as a string, no parsing
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        # No offset: ambiguous (verify says so). The original implementation wrote UTC and
        # compared timestamps as strings, so such a line is read as UTC, never dropped.
        moment = moment.replace(tzinfo=UTC)
    return canonical_instant(moment)


def instant_of(event: Mapping[str, Any]) -> str | None:
    """The event's instant in canonical form (ordered as a string), or None if it has none."""
    return _event_instant(event.get("timestamp"))


def by_time(events: Iterable[Event]) -> list[Event]:
    """*events* in the order they happened: by instant, ties and events with no readable
    instant kept where they were (one with none sorts with the event before it). A log is in
    the order lines were written, which is not always the order things happened: an import
    writes a subagent's records after its parent's, though they happened before."""
    keyed: list[tuple[str, int, Event]] = []
    last = ""
    for position, event in enumerate(events):
        last = instant_of(event) or last
        keyed.append((last, position, event))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in keyed]


@dataclass(frozen=True)
class EventFilter:
    """Which events a query keeps. Bounds are exclusive instants."""

    event_type: str | None = None
    agent: str | None = None
    after: str | None = None
    before: str | None = None

    @classmethod
    def build(
        cls,
        *,
        event_type: str | None = None,
        agent: str | None = None,
        after_timestamp: str | datetime | None = None,
        before_timestamp: str | datetime | None = None,
    ) -> EventFilter:
        after = (
            None
            if after_timestamp is None
            else canonical_instant(parse_instant(after_timestamp, what="after_timestamp"))
        )
        before = (
            None
            if before_timestamp is None
            else canonical_instant(parse_instant(before_timestamp, what="before_timestamp"))
        )
        return cls(event_type, agent, after, before)

    def _needles(self) -> tuple[bytes, ...]:
        return tuple(orjson.dumps(v) for v in (self.event_type, self.agent) if v is not None)

    def matches(self, event: Event) -> bool:
        if self.event_type is not None and event.get("event_type") != self.event_type:
            return False
        if self.agent is not None:
            provenance = event.get("provenance")
            if not isinstance(provenance, dict) or provenance.get("agent") != self.agent:
                return False
        if self.after is not None or self.before is not None:
            instant = _event_instant(event.get("timestamp"))
            if instant is None:
                return False
            if self.after is not None and not instant > self.after:
                return False
            if self.before is not None and not instant < self.before:
                return False
        return True

    def select(self, lines: Iterable[tuple[int, bytes]], errors: list[ParseError]) -> Iterator[tuple[int, Event]]:
        """Yield the matching events of raw *lines*; append unreadable lines to *errors*.

        A line that lacks the encoded event type or agent is skipped unparsed,
        unless it holds a ``\\u`` escape that could spell them differently.
        """
        needles = self._needles()
        escape = b"\\u"
        after = self.after.encode() if self.after is not None else None
        before = self.before.encode() if self.before is not None else None
        for line_no, raw in lines:
            # Cheap byte tests first: most lines of a filtered query are never parsed.
            for needle in needles:
                if needle not in raw and escape not in raw:
                    break
            else:
                if (after is not None or before is not None) and raw.startswith(_OWN_PREFIX):
                    stamp = _own_timestamp(raw)
                    if stamp is not None and (
                        (after is not None and stamp <= after) or (before is not None and stamp >= before)
                    ):
                        continue
                if raw.isspace():
                    continue
                event = decode_line(line_no, raw)
                if isinstance(event, ParseError):
                    errors.append(event)
                elif self.matches(event):
                    yield line_no, event


# sessionlog writes every line as {"event_id":"evt_<32 hex>","timestamp":"<27 chars>Z",...
_OWN_PREFIX = b'{"event_id":"evt_'
_STAMP_AT = len(_OWN_PREFIX) + 32 + len(b'","timestamp":"')


def _own_timestamp(raw: bytes) -> bytes | None:
    """The canonical timestamp of a line sessionlog wrote, read by position; None otherwise."""
    if raw[_STAMP_AT - 15 : _STAMP_AT] != b'","timestamp":"' or raw[_STAMP_AT + 26 : _STAMP_AT + 28] != b'Z"':
        return None
    stamp = raw[_STAMP_AT : _STAMP_AT + 27]
    return stamp if stamp[10:11] == b"T" and stamp[19:20] == b"." else None


def line_instant(raw: bytes) -> str | None:
    """The canonical instant of one log line (read by position when sessionlog wrote it), or None."""
    own = _own_timestamp(raw)
    if own is not None:
        return own.decode("ascii", "replace")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return instant_of(event) if isinstance(event, dict) else None


def _origin(line_no: int, event: Event) -> dict[str, Any]:
    provenance = event.get("provenance")
    return {
        "event_id": event.get("event_id"),
        "timestamp": event.get("timestamp"),
        "event_type": event.get("event_type"),
        "agent": provenance.get("agent") if isinstance(provenance, dict) else None,
        "line": line_no,
    }


def open_commitments(events: Iterable[tuple[int, Event]]) -> list[dict[str, Any]]:
    """Fold commitments: the latest entry per key wins; completed and cancelled are closed.

    The key is the entry's ``id`` when it has one, else its ``commitment`` text.
    Each result is the latest entry plus ``event`` (where it was last stated)
    and ``first_event_id``; results keep the order commitments first appeared.
    """
    return [c for c in latest_commitments(events).values() if c.get("status") not in CLOSED_STATUSES]


def latest_commitments(events: Iterable[tuple[int, Event]]) -> dict[str, dict[str, Any]]:
    """Every commitment by its key (``id``, else its text), as last stated, closed ones too:
    the fold ``open_commitments`` filters."""
    latest: dict[str, dict[str, Any]] = {}
    for line_no, event in events:
        entries = event.get("open_commitments")
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            key = entry.get("id") or entry.get("commitment")
            if not isinstance(key, str):
                continue
            first = latest[key]["first_event_id"] if key in latest else event.get("event_id")
            latest[key] = {**entry, "event": _origin(line_no, event), "first_event_id": first}
    return latest


def failure_history(events: Iterable[tuple[int, Event]]) -> list[dict[str, Any]]:
    """Every failure-ledger entry in file order, each with ``event``: where it was logged.

    A handoff within one session carries no failures of its own: entries an older version
    copied into such a handoff are copies of failures logged before it, and are not counted again.
    """
    out: list[dict[str, Any]] = []
    for line_no, event in events:
        data = event.get("data")
        if isinstance(data, dict) and data.get("kind") == "handoff" and not data.get("from_session"):
            continue
        entries = event.get("failure_ledger")
        if isinstance(entries, list):
            origin = _origin(line_no, event)
            out.extend({**entry, "event": origin} for entry in entries if isinstance(entry, dict))
    return out


def _links(event: Event, kind: str) -> list[str]:
    deps = event.get("dependencies")
    if not isinstance(deps, dict):
        return []
    ids = deps.get(kind)
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def ancestors(events: Iterable[tuple[int, Event]], event_id: str) -> list[Event]:
    """The events *event_id* depends on, directly or through others, nearest first.

    Raises KeyError if *event_id* is not in the session. Cycles are walked once.
    """
    by_id = {e.get("event_id"): e for _, e in events if isinstance(e.get("event_id"), str)}
    if event_id not in by_id:
        raise UnknownEvent(f"no event {event_id!r} in this session")
    seen = {event_id}
    order: list[Event] = []
    frontier = [event_id]
    while frontier:
        next_frontier = []
        for current in frontier:
            for parent in _links(by_id[current], "depends_on"):
                if parent in by_id and parent not in seen:
                    seen.add(parent)
                    order.append(by_id[parent])
                    next_frontier.append(parent)
        frontier = next_frontier
    return order


class DanglingReference(NamedTuple):
    """A ``dependencies`` entry naming an event that is not in the session."""

    line: int
    event_id: str
    field: str
    missing_id: str


def dangling_references(events: Iterable[tuple[int, Event]]) -> list[DanglingReference]:
    """References in ``depends_on`` / ``blocks`` to event ids the session does not hold."""
    refs: list[tuple[int, str, str, str]] = []
    known: set[str] = set()
    for line_no, event in events:
        own = event.get("event_id")
        if isinstance(own, str):
            known.add(own)
        for kind in ("depends_on", "blocks"):
            refs.extend((line_no, str(own), f"dependencies.{kind}", target) for target in _links(event, kind))
    return [DanglingReference(*r) for r in refs if r[3] not in known]
