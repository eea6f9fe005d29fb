"""SessionLogger: append events to a session and ask questions about it."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from sessionlog.core import pipeline as _pipeline
from sessionlog.core import queries as _queries
from sessionlog.core.ids import new_event_id, session_id_error, utc_now
from sessionlog.core.paths import SUFFIX, default_sessions_dir, repo_schema_for
from sessionlog.core.reader import ParseError, decode_line, gc_paused, iter_lines, open_session_file
from sessionlog.core.redact import DEFAULT_SECRET_PATTERNS, SecretPattern, repo_redactor
from sessionlog.core.schema import OPTIONAL_BLOCKS, SchemaError, SchemaSet, load_schemas
from sessionlog.core.segments import Place, SegmentedFile, place_of, segments, session_ids
from sessionlog.core.store import AppendError, SessionFile, open_regular
from sessionlog.core.types import Event
from sessionlog.core.verify import VerifyReport, verify_file, verify_segments
from sessionlog.errors import UsageError

DEFAULT_MAX_EVENT_BYTES = 1 << 20
_MAX_OPEN_FILES = 32
SYSTEM_AGENT = "sessionlog"


class AppendResult(tuple[bool, "str | None"]):
    """``(ok, error)``, as the usage guide unpacks it, plus what was written.

    ``event_id`` and ``seq`` name the (last) event just appended (None on
    failure), so a later event can list it in ``dependencies``;
    ``event_ids`` lists every event an ``append_events`` call wrote.
    """

    event_id: str | None
    seq: int | None
    event_ids: tuple[str, ...]

    def __new__(
        cls,
        ok: bool,
        error: str | None,
        event_id: str | None = None,
        seq: int | None = None,
        event_ids: tuple[str, ...] = (),
    ) -> AppendResult:
        self = super().__new__(cls, (ok, error))
        self.event_id = event_id
        self.seq = seq
        self.event_ids = event_ids
        return self

    @property
    def ok(self) -> bool:
        return self[0]

    @property
    def error(self) -> str | None:
        return self[1]


_after_fork: weakref.WeakSet[SessionLogger] = weakref.WeakSet()


def _reset_all_after_fork() -> None:
    for logger in list(_after_fork):
        logger._reset_after_fork()


os.register_at_fork(after_in_child=_reset_all_after_fork)


def _failure(message: str) -> AppendResult:
    return AppendResult(False, message)


def _strip_origin(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A query result back in its logged shape (without the keys queries add)."""
    return {k: v for k, v in entry.items() if k not in ("event", "first_event_id")}


def handoff_data(from_agent: str, to_agent: str, summary: str | None) -> dict[str, Any]:
    """The ``data`` of a handoff event (a ``state_change``)."""
    data: dict[str, Any] = {"kind": "handoff", "from_agent": from_agent, "to_agent": to_agent}
    if summary is not None:
        data["summary"] = summary
    return data


def _new_event(
    session_id: str,
    event_type: str,
    agent: str,
    source: str,
    blocks: Mapping[str, Any],
    confidence: float | None,
    timestamp: str | None,
) -> dict[str, Any]:
    """Stamp a new event; *blocks* maps optional block names to values (None means absent)."""
    provenance: dict[str, Any] = {"source": source, "agent": agent}
    if confidence is not None:
        provenance["confidence"] = confidence
    event: dict[str, Any] = {
        "event_id": new_event_id(),
        "timestamp": utc_now() if timestamp is None else timestamp,
        "session_id": session_id,
        "event_type": event_type,
        "provenance": provenance,
    }
    for name in OPTIONAL_BLOCKS:
        value = blocks.get(name)
        if value is not None:
            event[name] = value
    return event


_FIELDS = frozenset({"event_type", "agent", "source", "confidence", "timestamp", *OPTIONAL_BLOCKS})


def _new_event_from(session_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """append_events' item to an event (append_event's arguments as a mapping)."""
    if not fields.keys() <= _FIELDS:
        raise TypeError(f"unknown field(s) {', '.join(sorted(fields.keys() - _FIELDS))}")
    try:
        return _new_event(
            session_id,
            fields["event_type"],
            fields["agent"],
            fields["source"],
            fields,
            fields.get("confidence"),
            fields.get("timestamp"),
        )
    except KeyError:
        missing = [name for name in ("event_type", "agent", "source") if name not in fields]
        raise TypeError(f"missing {', '.join(missing)}") from None


class SessionLogger:
    """Append-only, schema-validated, hash-chained JSONL session logs.

    ``base_dir`` defaults to ``$SESSIONLOG_DIR`` or
    ``<git top-level or cwd>/.ai-agents/sessions``. A repository schema at
    ``<base_dir>/../session_context/SESSION_LOG_SCHEMA.json`` (or
    ``schema_path``) is applied on top of the built-in one.
    """

    def __init__(
        self,
        base_dir: str | Path | None = None,
        *,
        sessions_dir: str | Path | None = None,
        schema_path: str | Path | None = None,
        redact: bool = True,
        secret_patterns: Iterable[SecretPattern] = DEFAULT_SECRET_PATTERNS,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        fsync: bool = False,
        segments: bool | None = None,
    ) -> None:
        if base_dir is not None and sessions_dir is not None:
            raise TypeError("give base_dir or sessions_dir (the original implementation's name), not both")
        folder = base_dir if base_dir is not None else sessions_dir
        self.base_dir = Path(folder) if folder is not None else default_sessions_dir()
        # In a git work tree appends go to untracked segments that git never stashes or
        # switches (see _segments); segments=False appends to each session's last file, tracked
        # or not (the commit hook does so for the repository log, which it stages at once).
        self.place: Place | None = place_of(self.base_dir)
        self._tail_mode = segments is False
        self.schema_path = Path(schema_path) if schema_path is not None else repo_schema_for(self.base_dir)
        self.schemas: SchemaSet = load_schemas(self.schema_path)
        self.redactor = repo_redactor(self.base_dir, secret_patterns) if redact else None
        self.max_event_bytes = max_event_bytes
        self.fsync = fsync
        self._files: OrderedDict[str, SessionFile] = OrderedDict()
        self._lock = threading.Lock()
        _after_fork.add(self)

    @property
    def sessions_dir(self) -> Path:
        """The original implementation's name for ``base_dir``."""
        return self.base_dir

    def _reset_after_fork(self) -> None:
        # A fork may copy the lock held by another thread mid-append: a child starts unlocked.
        self._lock = threading.Lock()

    # -- appending ---------------------------------------------------------

    def append_event(
        self,
        session_id: str,
        event_type: str,
        agent: str,
        source: str,
        data: Mapping[str, Any] | None = None,
        causal_steps: Sequence[Mapping[str, Any]] | None = None,
        active_constraints: Sequence[Mapping[str, Any]] | None = None,
        failure_ledger: Sequence[Mapping[str, Any]] | None = None,
        open_commitments: Sequence[Mapping[str, Any]] | None = None,
        key_entities: Mapping[str, Mapping[str, Any]] | None = None,
        dependencies: Mapping[str, Sequence[str]] | None = None,
        confidence: float | None = None,
        *,
        timestamp: str | None = None,
    ) -> AppendResult:
        """Validate, redact, chain and append one event; return ``(ok, error)``.

        Never raises for bad input: a refused event leaves the file byte-identical.
        """
        problem = self._name_problem(session_id)
        if problem is not None:
            return _failure(problem)
        blocks = {
            "data": data,
            "causal_steps": causal_steps,
            "active_constraints": active_constraints,
            "failure_ledger": failure_ledger,
            "open_commitments": open_commitments,
            "key_entities": key_entities,
            "dependencies": dependencies,
        }
        event = _new_event(session_id, event_type, agent, source, blocks, confidence, timestamp)
        encoded = self._encode(event)
        if isinstance(encoded, AppendResult):
            return encoded
        return self._append(session_id, [encoded], [event["event_id"]])

    def append_events(self, session_id: str, events: Iterable[Mapping[str, Any]]) -> AppendResult:
        """Append several events in order, all under one lock and one write, or none.

        Each item holds append_event's keyword arguments (``event_type``,
        ``agent``, ``source``, ``data``...). A refusal names the item's index;
        nothing is written then. The result's ``event_ids`` lists every id.
        """
        problem = self._name_problem(session_id)
        if problem is not None:
            return _failure(problem)
        built: list[dict[str, Any]] = []
        bodies: list[bytes] = []
        for index, fields in enumerate(events):
            try:
                event = _new_event_from(session_id, fields)
            except (TypeError, KeyError) as exc:
                return _failure(f"event {index}: {exc}")
            encoded = self._encode(event, scan=False)
            if isinstance(encoded, AppendResult):
                return _failure(f"event {index}: {encoded.error}")
            built.append(event)
            bodies.append(encoded)
        if not bodies:
            return _failure("no events to append")
        if self.redactor is not None and self.redactor.might_contain_secret(b"\n".join(bodies)):
            for index, event in enumerate(built):  # rare: only batches that may hold a secret
                try:
                    bodies[index] = _pipeline.scanned(
                        event,
                        bodies[index],
                        schemas=self.schemas,
                        redactor=self.redactor,
                        max_bytes=self.max_event_bytes,
                    )
                except _pipeline.Refused as exc:
                    return _failure(f"event {index}: {exc}")
        return self._append(session_id, bodies, [e["event_id"] for e in built])

    def log_handoff(
        self,
        session_id: str,
        from_agent: str,
        to_agent: str,
        summary: str | None = None,
        *,
        from_session: str | None = None,
        recent_failures: int = 10,
        source: str = "handoff",
        data: Mapping[str, Any] | None = None,
    ) -> AppendResult:
        """Log that *from_agent* hands the work to *to_agent*, carrying state forward.

        The event is a ``state_change`` with ``data.kind == "handoff"``. Handing over within one
        session refers to the open commitments and the last *recent_failures* failures by the
        ids of the events that logged them (``data.carries``), never logging them again (a
        failure would count twice, then four times...). Handing over from another session
        (*from_session*) repeats them, so the next agent finds them in its own session's queries.
        """
        origin = from_session or session_id
        try:
            numbered = list(self.iter_query_events(origin))  # read once for both
        except (ValueError, OSError) as exc:
            return _failure(f"cannot read {origin}: {exc}")
        open_now = _queries.open_commitments(numbered)
        failed = _queries.failure_history(numbered)[-recent_failures:] if recent_failures else []
        payload = handoff_data(from_agent, to_agent, summary)
        commitments: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        if origin != session_id:
            payload["from_session"] = origin
            commitments, failures = [_strip_origin(c) for c in open_now], [_strip_origin(f) for f in failed]
        else:  # the same session: refer to them, where they already are
            payload["carries"] = {"commitments": _event_ids(open_now), "failures": _event_ids(failed)}
        payload.update(data or {})
        return self.append_event(
            session_id,
            "state_change",
            from_agent,
            source,
            data=payload,
            open_commitments=commitments or None,
            failure_ledger=failures or None,
        )

    def _encode(self, event: dict[str, Any], *, scan: bool = True) -> bytes | AppendResult:
        """The line body of *event* (see ``_pipeline``); a refusal comes back as an AppendResult."""
        try:
            return _pipeline.encode(
                event, schemas=self.schemas, redactor=self.redactor, max_bytes=self.max_event_bytes, scan=scan
            )
        except _pipeline.Refused as exc:
            return _failure(str(exc))

    def _name_problem(self, session_id: str) -> str | None:
        """Why *session_id* cannot name a file: its form, or a secret in it (a file name cannot be redacted)."""
        problem = session_id_error(session_id)
        if problem is None and self.redactor is not None and session_id not in self._files:
            kinds = self.redactor.scrub(session_id)[1]
            if kinds:
                problem = (
                    f"session id looks like a secret ({', '.join(kinds)}); it names the file, so it cannot be redacted"
                )
        return problem

    def _append(self, session_id: str, bodies: list[bytes], event_ids: list[str]) -> AppendResult:
        with self._lock:
            handle = self._file(session_id)
            try:
                seq = handle.append(bodies, self.fsync, self._recovery_event)
            except AppendError as exc:
                handle.close()
                return _failure(str(exc))
            except OSError as exc:
                handle.close()
                return _failure(f"cannot append to {handle.path}: {exc}")
        return AppendResult(True, None, event_ids[-1], seq, tuple(event_ids))

    @staticmethod
    def _recovery_event(session_id: str, facts: dict[str, object]) -> bytes:
        """The ``error`` event that records a recovered torn tail."""
        return orjson.dumps(
            {
                "event_id": new_event_id(),
                "timestamp": utc_now(),
                "session_id": session_id,
                "event_type": "error",
                "provenance": {"source": "sessionlog.recovery", "agent": SYSTEM_AGENT},
                "data": facts,
            }
        )

    def _file(self, session_id: str) -> SessionFile:
        handle = self._files.get(session_id)
        if handle is None:
            path = self.session_path(session_id)
            handle = (
                SessionFile(path, session_id)
                if self.place is None
                else SegmentedFile(path, session_id, self.place, tail=self._tail_mode)
            )
            self._files[session_id] = handle
            while len(self._files) > _MAX_OPEN_FILES:  # close the longest-open file
                self._files.popitem(last=False)[1].close()
        return handle

    @property
    def state_dir(self) -> Path:
        """Where the logger keeps what is never committed (locks, pending instants): the git
        directory's ``sessionlog`` folder in a work tree, ``<sessions>/.sessionlog`` outside one."""
        if self.place is not None:
            return self.place.git_dir / "sessionlog"
        return self.base_dir / ".sessionlog"

    def private_path(self, kind: str, session_id: str) -> Path:
        """A per-session path under :attr:`state_dir`: ``<kind>/<sessions folder>/<session>``."""
        self.session_path(session_id)  # refuses an unsafe id
        folder = self.place.folder_key if self.place is not None else "_"
        return self.state_dir / kind / folder / session_id

    @contextmanager
    def key_lock(self, session_id: str, *, wait: bool = True) -> Iterator[None]:
        """Hold the session's key lock: writers that append an event only if its key
        (``data.source_id``) is not logged yet (agent hooks, importers) look and append under it,
        so two of them never log one key twice. Plain appends never take it. With *wait* False,
        ``BlockingIOError`` when another holds it."""
        path = self.private_path("keys", session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_regular(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield
        finally:
            os.close(fd)  # releases the lock

    def close(self) -> None:
        """Close the session files this logger keeps open."""
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()

    def __enter__(self) -> SessionLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        for handle in getattr(self, "_files", {}).values():
            handle.close()

    # -- reading -----------------------------------------------------------

    def session_path(self, session_id: str) -> Path:
        """The file of *session_id*; raises ValueError for an unsafe id."""
        problem = session_id_error(session_id)
        if problem is not None:
            raise UsageError(problem)
        return self.base_dir / f"{session_id}{SUFFIX}"

    def list_sessions(self) -> list[str]:
        """Ids of the live (not archived) sessions, sorted."""
        return sorted(session_ids(self.base_dir))

    def segment_paths(self, session_id: str) -> list[Path]:
        """The files holding *session_id*'s lines, in order (one outside git)."""
        self.session_path(session_id)  # refuses an unsafe id
        return [path for _, path in segments(self.base_dir, session_id)]

    def _lines(self, session_id: str) -> Iterator[tuple[int, bytes]]:
        """The session's lines, numbered as lines of the session: each segment's lines from the
        line its name says it starts at (a gap where a segment is on another branch)."""
        self.session_path(session_id)  # refuses an unsafe id
        yield from session_lines(segments(self.base_dir, session_id))

    def iter_session(self, session_id: str) -> Iterator[tuple[int, Event | ParseError]]:
        """Stream ``(line_no, event | ParseError)``; a missing session yields nothing."""
        for line_no, raw in self._lines(session_id):
            if not raw.isspace():
                yield line_no, decode_line(line_no, raw)

    def read_session(self, session_id: str) -> _queries.SessionEvents:
        """All events in file order; lines that are not events are in ``.errors``."""
        return self.query_events(session_id)

    def query_events(
        self,
        session_id: str,
        event_type: str | None = None,
        agent: str | None = None,
        after_timestamp: str | datetime | None = None,
        before_timestamp: str | datetime | None = None,
    ) -> _queries.SessionEvents:
        """Events matching every filter given; time bounds are exclusive instants.

        Raises ValueError for a malformed or offset-less time bound.
        """
        errors: list[ParseError] = []
        found = self.iter_query_events(session_id, event_type, agent, after_timestamp, before_timestamp, errors=errors)
        with gc_paused():
            events = [event for _, event in found]
        return _queries.SessionEvents(events, errors)

    def iter_query_events(
        self,
        session_id: str,
        event_type: str | None = None,
        agent: str | None = None,
        after_timestamp: str | datetime | None = None,
        before_timestamp: str | datetime | None = None,
        *,
        errors: list[ParseError] | None = None,
    ) -> Iterator[tuple[int, Event]]:
        """Stream ``(line_no, event)`` for query_events' filters; memory stays flat.

        Unreadable lines go to *errors* when a list is given. The bounds are
        checked before the first line is read (ValueError when malformed).
        """
        wanted = _queries.EventFilter.build(
            event_type=event_type,
            agent=agent,
            after_timestamp=after_timestamp,
            before_timestamp=before_timestamp,
        )
        return wanted.select(self._lines(session_id), errors if errors is not None else [])

    def latest_event(
        self, session_id: str, needle: bytes, matches: Callable[[Event], bool], *, max_bytes: int = 4 << 20
    ) -> Event | None:
        """The newest event among the session's last *max_bytes* whose line holds *needle* and that
        *matches*, or None: what a caller that runs once per event looks up, so that it costs the
        same however long the session grew. The file is read backwards in blocks and only lines
        holding *needle* are decoded."""
        budget = max_bytes
        for _, path in reversed(segments(self.base_dir, session_id)):
            try:
                stream = open_session_file(path)
            except FileNotFoundError:
                continue
            with stream:
                fd = stream.fileno()
                end, carry = os.fstat(fd).st_size, b""
                while end > 0 and budget > 0:
                    start = max(0, end - _BACKWARD_BLOCK)
                    block = os.pread(fd, end - start, start) + carry
                    budget -= end - start
                    if start > 0:  # the bytes before the first newline belong to a line begun earlier
                        newline = block.find(b"\n")
                        carry, block = (block, b"") if newline < 0 else (block[: newline + 1], block[newline + 1 :])
                    found = _newest_in(block, needle, matches)
                    if found is not None:
                        return found
                    end = start
        return None

    def get_open_commitments(self, session_id: str) -> list[dict[str, Any]]:
        """Commitments whose latest status is neither completed nor cancelled."""
        return _queries.open_commitments(self.iter_query_events(session_id))

    def get_failure_history(self, session_id: str) -> list[dict[str, Any]]:
        """Every failure-ledger entry in order, with the event it came from."""
        return _queries.failure_history(self.iter_query_events(session_id))

    def get_ancestors(self, session_id: str, event_id: str) -> list[Event]:
        """Events *event_id* depends on, transitively, nearest first."""
        return _queries.ancestors(self.iter_query_events(session_id), event_id)

    def find_dangling_references(self, session_id: str) -> list[_queries.DanglingReference]:
        """``dependencies`` entries that name events the session does not hold."""
        return _queries.dangling_references(self.iter_query_events(session_id))

    def verify_session(self, session_id: str) -> VerifyReport:
        """Check a session (every segment, in order) on its own: JSON, schema, chain and secrets."""
        path = self.session_path(session_id)
        found = segments(self.base_dir, session_id)
        if not found:
            return verify_file(path, self.schemas, redactor=self.redactor)  # says it cannot be read
        return verify_segments(found, self.schemas, redactor=self.redactor, label=str(path))


_BACKWARD_BLOCK = 1 << 18


def _newest_in(block: bytes, needle: bytes, matches: Callable[[Event], bool]) -> Event | None:
    """The newest whole line of *block* holding *needle* whose event *matches*."""
    end = len(block)
    while (at := block.rfind(needle, 0, end)) >= 0:
        start = block.rfind(b"\n", 0, at) + 1
        stop = block.find(b"\n", at)
        event = decode_line(0, block[start : len(block) if stop < 0 else stop + 1])
        if not isinstance(event, ParseError) and matches(event):
            return event
        end = start
    return None


def _event_ids(entries: list[dict[str, Any]]) -> list[str]:
    """The ids of the events that logged *entries* (commitments or failures), once each, in order."""
    return list(dict.fromkeys(str(e["event"]["event_id"]) for e in entries if e.get("event", {}).get("event_id")))


def session_lines(found: list[tuple[int, Path]]) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of a session's segments ``(first line, path)``, in order."""
    for start, path in found:
        try:
            stream = open_session_file(path)
        except FileNotFoundError:
            continue  # archived or taken away since it was listed
        with stream:
            yield from iter_lines(stream, first_line=start)


__all__ = ["AppendResult", "SchemaError", "SessionLogger"]
