"""What the agent bridges share: session names, size limits and the importer base.

Every event an agent record becomes carries the agent's own id of that record in
``data.source_id``, so importing a transcript twice, or one that grew since, adds only
what is new.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from sessionlog import AppendResult, Redactor, SessionLogger

MAX_STRING = 16_384  # characters of one tool input or output kept in an event; the rest is digested
LIVE_WINDOW = 600.0  # seconds since a transcript last changed in which its open calls may still run
PAIRING_WINDOW = 120.0  # seconds between a hooked event and its transcript record for them to pair
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def session_id_for(agent: str, native: str) -> str:
    """A sessionlog session id naming an agent's session: ``<agent>-<its id>``, made safe."""
    safe = _UNSAFE.sub("_", native).strip("._-").replace("..", "_") or "unnamed"
    sid = f"{agent}-{safe}"
    if len(sid) > 128:
        sid = f"{sid[:110]}-{hashlib.sha256(native.encode()).hexdigest()[:16]}"
    return sid


def fit(value: Any, limit: int = MAX_STRING, budget: int = 256 * 1024, *, redactor: Redactor | None = None) -> Any:
    """*value* with every string longer than *limit* cut, noting its length and SHA-256, so
    a large tool output is kept within the event size limit instead of failing it. When
    many strings together still pass *budget* bytes, they are cut shorter.

    With *redactor*, a string is redacted whole before it is cut (no secret is cut in half, the
    rest of it kept), and the digest is of the redacted text: never of a secret, which a digest
    would let anyone confirm by guessing."""
    fitted = _cut(value, limit, redactor)
    while limit > 256 and len(orjson.dumps(fitted)) > budget:
        limit //= 4
        fitted = _cut(value, limit, redactor)
    return fitted


def _cut(value: Any, limit: int, redactor: Redactor | None) -> Any:
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        if redactor is not None:
            value = redactor.clean_text(value)  # before the cut: no secret is cut in half
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{value[:limit]}… [cut by sessionlog: {len(value)} characters in all, sha256 {digest}]"
    if isinstance(value, dict):
        return {str(k): _cut(v, limit, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v, limit, redactor) for v in value]
    return value


def attempt_of(tool: str, tool_input: Any) -> str:
    """A failure-ledger ``attempt``: the tool and what it ran or touched (a command given as a
    string or an argv list, a path, a pattern, a URL)."""
    if isinstance(tool_input, dict):
        for key in ("command", "cmd", "file_path", "path", "pattern", "url", "description"):
            value = tool_input.get(key)
            if isinstance(value, list):
                value = " ".join(str(part) for part in value)
            if isinstance(value, str):
                return f"{tool}: {value}"
    return tool


def text_of(content: Any) -> str:
    """The text of a message or tool result content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [c.get("text", "") if isinstance(c, dict) else str(c) for c in content]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return "" if content is None else orjson.dumps(content).decode()


def prompt_match(text: str, logger: SessionLogger | None = None) -> str:
    """What pairs a prompt a live hook logged with its transcript record (hook payloads carry no
    id of the record): a digest of its text as it is kept, whitespace runs made one space. Text
    not kept yet is redacted first with *logger*'s rules (never the digest of a secret)."""
    if logger is not None and logger.redactor is not None:
        text = logger.redactor.clean_text(text)
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()
    return f"prompt:{digest[:20]}"


def turn_end_match(prompt_event: str) -> str:
    """What pairs a turn's end a live hook logged with the transcript's: the prompt it answers."""
    return f"turn_end:{prompt_event}"


def append_mapped(
    logger: SessionLogger,
    session: str,
    agent: str,
    event_type: str,
    source: str,
    data: dict[str, Any],
    *,
    source_id: str | None,
    causes: Iterable[str],
    timestamp: str | None = None,
    **blocks: Any,
) -> AppendResult:
    """Append an event mapped from an agent's record (a hook payload, a transcript line): a
    prompt is the user's, the agent's own id goes in ``data.source_id``, the causes become
    ``dependencies.depends_on``, and large values are cut (``fit``)."""
    depends = [c for c in dict.fromkeys(causes) if c]
    return logger.append_event(
        session,
        event_type,
        "user" if event_type == "user_message" else agent,
        source,
        data=fit({**data, **({"source_id": source_id} if source_id else {})}, redactor=logger.redactor),
        dependencies={"depends_on": depends} if depends else None,
        timestamp=timestamp,
        **{k: fit(v, redactor=logger.redactor) for k, v in blocks.items() if v},
    )


@dataclass
class ImportReport:
    """What one import did: events written per type, and lines not logged, with why."""

    written: Counter[str] = field(default_factory=Counter)
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        total = sum(self.written.values())
        out = [
            f"{total} event(s) written"
            + (f" ({', '.join(f'{k} {v}' for k, v in sorted(self.written.items()))})" if total else "")
        ]
        if self.already:
            out.append(f"{self.already} already logged (imported before)")
        out += [f"not logged: {n} {why}" for why, n in sorted(self.skipped.items())]
        return out + self.problems


@dataclass
class Call:
    """A tool call read from a transcript and not logged yet: it is logged once its result is
    read (with both instants), or at the end of the transcript without an end."""

    session: str
    key: str  # the agent's id of the call: tool_use_id, call_id
    name: str
    data: dict[str, Any]  # the tool_call event's data so far (tool, its id, input, ...)
    started: str | None
    causes: list[str]
    where: str


def timing(started: object, ended: object) -> dict[str, Any]:
    """``ended_at`` and ``duration_ms`` of a call from its start and end instants (nothing for
    an end that is missing, unreadable or before the start)."""
    if not (_is_instant(started) and _is_instant(ended)):
        return {}
    begin, end = _moment(str(started)), _moment(str(ended))
    if end < begin:
        return {}
    return {"ended_at": ended, "duration_ms": round((end - begin).total_seconds() * 1000, 3)}


class Importer:
    """Appends the events of one agent's transcripts, each once.

    What a session holds already is read under its key lock (``SessionLogger.key_lock``), and the
    lock is held until the file's last append: a live hook logging the same call waits, then finds
    it, so hook and import log each call once whatever the timing."""

    agent = ""

    def __init__(self, logger: SessionLogger, session: str | None = None) -> None:
        self.logger = logger
        self.forced_session = session
        self.report = ImportReport()
        self._known: dict[str, set[str]] = {}  # session -> source ids it holds
        self._event_of: dict[str, str] = {}  # agent record id -> sessionlog event id
        self._pending: dict[str, Call] = {}  # call key -> a call waiting for its result
        self._logged: dict[str, Call] = {}  # call key -> a call an earlier import logged
        self._locks = ExitStack()
        self._held: list[str] = []  # the sessions whose key locks ``_locks`` holds
        # session -> (event type, hook_match) -> [(instant, event id, source id)]: what live hooks
        # logged without the agent's id of the record; a record claims one of them, once
        self._hooked: dict[str, dict[tuple[str, str], list[tuple[str, str, str]]]] = {}
        self._claimed: set[str] = set()  # event ids claimed by a record, over every file of this import

    def import_file(self, path: Path) -> None:
        """Import one transcript. A call left without a result is logged at its end without one,
        unless the transcript changed in the last ``LIVE_WINDOW`` seconds: then the call is likely
        still running, and it is left for an import after it ends (a logged event never changes,
        so one logged now would never get its end or output)."""
        try:
            try:
                live = time.time() - path.stat().st_mtime < LIVE_WINDOW
            except OSError:
                live = False
            self.read_file(path)
            for call in list(self._pending.values()):
                if live:
                    self.report.skipped["tool call(s) still running: import again once they end"] += 1
                    continue
                self.call_ended(call.key, None, None, where=call.where)
        finally:
            self._pending.clear()
            self._known.clear()  # what a session holds is read again, under its lock, next file
            self._locks.close()
            self._held.clear()

    def read_file(self, path: Path) -> None:  # pragma: no cover - each agent's importer has one
        raise NotImplementedError

    def known(self, session: str) -> set[str]:
        if session not in self._known:
            self._lock(session)
            ids: set[str] = set()
            self._hooked[session] = {}
            if session in self.logger.list_sessions():
                for event in self.logger.read_session(session):
                    self.remember(session, event)
                    data = event.get("data")
                    if isinstance(data, dict) and isinstance(data.get("source_id"), str):
                        key = data["source_id"]
                        ids.add(key)
                        self._event_of.setdefault(key, str(event.get("event_id")))
                        if event.get("event_type") == "tool_call":  # its result may come in a later import
                            name = str(data.get("tool") or "tool")
                            self._logged[key] = Call(session, key, name, data, event.get("timestamp"), [], "")
            self._known[session] = ids
        return self._known[session]

    def _lock(self, session: str) -> None:
        """Take *session*'s key lock too, never waiting for it while holding another: a file may
        hold several sessions, and two imports taking two of them in opposite orders would wait
        for each other forever. When it is taken, every lock is let go and all are taken again in
        one order, waiting; what the sessions held is read again under them."""
        if session in self._held:
            return
        if self._held:
            try:
                self._locks.enter_context(self.logger.key_lock(session, wait=False))
            except BlockingIOError:
                pass
            else:
                self._held.append(session)
                return
            wanted = sorted({*self._held, session})
            self._locks.close()
            self._held.clear()
            self._known.clear()  # a hook may have logged in the meantime
        else:
            wanted = [session]
        for name in wanted:
            self._locks.enter_context(self.logger.key_lock(name))
            self._held.append(name)

    def remember(self, session: str, event: dict[str, Any]) -> None:
        """See one event the session held when the import began: keep those a live hook logged
        with a ``hook_match`` (no id of the agent's record) for their records to claim."""
        data = event.get("data")
        if isinstance(data, dict) and isinstance(data.get("hook_match"), str):
            hooked = self._hooked.setdefault(session, {})
            hooked.setdefault((str(event.get("event_type")), data["hook_match"]), []).append(
                (str(event.get("timestamp")), str(event.get("event_id")), str(data.get("source_id") or ""))
            )

    def claim(
        self, session: str, event_type: str, match: str, stamp: Any, *, window: float | None = PAIRING_WINDOW
    ) -> tuple[str, str, str] | None:
        """The event a live hook logged for the record at *stamp* (same type and ``hook_match``,
        within ``PAIRING_WINDOW`` of it, not claimed yet, the earliest of those): its event id and
        source id and instant, now claimed. Records claim in their order, so the same prompt asked
        twice pairs in order, and importing again pairs the same way. With *window* None the match
        is exact (it names the event it answers) and time does not count."""
        at = seconds_of(stamp)
        if window is not None and at is None:
            return None
        free = [
            (when, hooked)
            for hooked in self._hooked.get(session, {}).get((event_type, match), [])
            if hooked[1] not in self._claimed
            and (when := seconds_of(hooked[0])) is not None
            and (window is None or abs(when - (at or 0.0)) <= window)
        ]
        if not free:
            return None
        stamp_of, event_id, source_id = min(free, key=lambda f: f[0])[1]  # the earliest: pairs keep their order
        self._claimed.add(event_id)
        return event_id, source_id, stamp_of

    def _hooked_twin(
        self, session: str, event_type: str, data: dict[str, Any], stamp: Any, causes: list[str]
    ) -> tuple[str, str, str] | None:
        """The event a live hook logged for this record, now claimed: a prompt by its text and
        time, a turn's end by the prompt it answers."""
        if event_type == "user_message" and isinstance(data.get("message"), str) and not data.get("sidechain"):
            return self.claim(session, event_type, prompt_match(data["message"], self.logger), stamp)
        if event_type == "state_change" and data.get("kind") == "turn_end" and causes and causes[0]:
            return self.claim(session, event_type, turn_end_match(causes[0]), None, window=None)
        return None

    def call_started(self, call: Call) -> None:
        """A tool call read; it is logged when its result is read."""
        if call.key in self.known(call.session):
            self.report.already += 1
            return
        self._pending[call.key] = call

    def call_ended(
        self, key: str, ended: str | None, output: Any, *, where: str, result: Any = None
    ) -> tuple[str | None, Call | None]:
        """Log the call *key* with its end instant and output; return its event id and the call
        (logged before: its id and what it logged). *result* is the agent's structured result."""
        call = self._pending.pop(key, None)
        if call is None:
            return self._event_of.get(key), self._logged.get(key)
        data = {**call.data, **timing(call.started, ended)}
        if output is not None:
            data["output"] = output
        made = self.log(
            call.session, key, "tool_call", call.name, data, timestamp=call.started, causes=call.causes, where=where
        )
        if made:
            self.call_logged(call, made, result, where)
        return made, call

    def call_logged(self, call: Call, event_id: str, result: Any, where: str) -> None:
        """What else a logged call says (a plan tool's commitments); nothing by default."""

    def log(
        self,
        session: str,
        source_id: str,
        event_type: str,
        source: str,
        data: dict[str, Any],
        *,
        timestamp: str | None,
        causes: list[str],
        where: str,
        **blocks: Any,
    ) -> str | None:
        """Append one event unless the session holds it already; return its event id."""
        known = self.known(session)
        if source_id in known:
            self.report.already += 1
            return self._event_of.get(source_id)
        twin = self._hooked_twin(session, event_type, data, timestamp, causes)
        if twin is not None:  # a live hook logged this record: it is that event
            event_id, _, stamp = twin
            self.report.already += 1
            self._event_of[source_id] = event_id
            known.add(source_id)
            said = {k: data[k] for k in ("model", "models", "usage") if data.get(k)}
            if data.get("kind") == "turn_end" and said:  # what the hook's turn end could not know
                self.log(
                    session, f"{source_id}:usage", "state_change", source, {"kind": "turn_usage", **said},
                    timestamp=stamp, causes=[event_id], where=where,
                )  # fmt: skip
            return event_id
        try:
            result = append_mapped(
                self.logger,
                session,
                self.agent,
                event_type,
                source,
                data,
                source_id=source_id,
                causes=causes,
                timestamp=timestamp if _is_instant(timestamp) else None,
                **blocks,
            )
        except (RecursionError, ValueError, TypeError) as exc:
            # a record no event can hold (nested hundreds deep, say): said with its line, the rest imported
            self.report.problems.append(f"{where}: not logged: {type(exc).__name__}: {exc}")
            return None
        if not result.ok:
            self.report.problems.append(f"{where}: not logged: {result.error}")
            return None
        known.add(source_id)
        self.report.written[event_type] += 1
        self.report.sessions.add(session)
        self._event_of[source_id] = str(result.event_id)
        return result.event_id

    def read_lines(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line number, record)`` of a transcript, streamed; a malformed line is reported and skipped."""
        with open(path, "rb") as stream:
            for number, raw in enumerate(stream, 1):
                if not raw.strip():
                    continue
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    self.report.problems.append(f"{path}:{number}: not JSON, skipped ({exc})")
                    continue
                if not isinstance(record, dict):
                    self.report.problems.append(f"{path}:{number}: not a JSON object, skipped")
                    continue
                yield number, record


def add_usage(total: dict[str, int], usage: Any) -> None:
    """Add a model call's token counts (the integer fields of *usage*) to *total*."""
    if isinstance(usage, dict):
        for name, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[name] = total.get(name, 0) + value


def now() -> str:
    """This instant, as sessionlog writes instants (UTC, microseconds, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds_of(stamp: object) -> float | None:
    """*stamp*, an instant with its UTC offset, as POSIX seconds; None for anything else."""
    return _moment(str(stamp)).timestamp() if _is_instant(stamp) else None


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _is_instant(stamp: object) -> bool:
    if not isinstance(stamp, str):
        return False
    try:
        return _moment(stamp).tzinfo is not None
    except ValueError:
        return False
