"""The hash chain that lets a session file be verified on its own."""

from __future__ import annotations

import hashlib
import re


def line_digest(line: bytes) -> str:
    """Return ``sha256:<hex>`` of one line's bytes, without its line ending.

    A ``\r\n`` ending counts as ``\n`` (an event never holds a raw CR), so a work
    tree whose git converts line endings chains like the bytes git stores.
    """
    end = len(line)
    if line.endswith(b"\n"):
        end -= 2 if line.endswith(b"\r\n") else 1
    return "sha256:" + hashlib.sha256(memoryview(line)[:end]).hexdigest()


def chain_line(body: bytes, seq: int, prev: str | None) -> bytes:
    """An encoded event (``{...}``) closed with its chain fields, as one line."""
    return body[:-1] + chain_suffix(seq, prev) + b"\n"


def chain_suffix(seq: int, prev: str | None) -> bytes:
    """The bytes that close an encoded event with its chain fields."""
    if prev is None:
        return b',"seq":%d,"prev":null}' % seq
    return b',"seq":%d,"prev":"%s"}' % (seq, prev.encode())


# the event ids sessionlog writes (the original implementation wrote evt_ + 8 hex digits)
_WRITTEN_HERE = re.compile(r"evt_[0-9a-f]{32}")


def chain_problem(
    event: dict[str, object],
    line_no: int,
    previous_line: bytes | None,
    session_id: str | None,
    *,
    chained_before: bool,
    previous_known: bool = True,
) -> str | None:
    """Return what is wrong with *event*'s chain fields at *line_no*, or None.

    Legacy events (no ``seq`` and no ``prev``) are fine until the first
    chained event; after it every event must be chained. Without
    *previous_known* (a segment that goes on from a line not at hand) ``prev``
    cannot be checked; ``seq`` still must be the line number.
    """
    has_seq, has_prev = "seq" in event, "prev" in event
    if not has_seq and not has_prev:
        if chained_before:
            return "event has no chain fields (seq, prev) but earlier lines are chained"
        event_id = event.get("event_id")
        if isinstance(event_id, str) and _WRITTEN_HERE.fullmatch(event_id):
            return "event has no chain fields (seq, prev) though sessionlog wrote it: they were stripped"
        return None
    if has_seq != has_prev:
        return "event has only one of the chain fields seq and prev"
    if event["seq"] != line_no:
        return f"seq is {event['seq']!r} but this is line {line_no}: a line was removed, inserted or reordered"
    expected = None if previous_line is None else line_digest(previous_line)
    if previous_known and event["prev"] != expected:
        what = "null (first line)" if expected is None else expected[:19] + "..."
        return f"prev does not match the previous line (expected {what}): an earlier line was changed or removed"
    if session_id is not None and "session_id" in event and event["session_id"] != session_id:
        return f"session_id is {event['session_id']!r} but the file is named for {session_id!r}"
    return None
