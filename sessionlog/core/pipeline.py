"""What happens to an event between ``append_event`` and the file, one step per function,
in the order the data flows: serialize, limit its size, refuse what JSON cannot carry,
normalize it to plain JSON, redact secrets, limit the size again, validate.

Each step raises :class:`Refused` with the reason a caller reports; nothing is written
before every step has passed.
"""

from __future__ import annotations

from typing import Any

import orjson

from sessionlog.core.jsonpath import unrepresentable
from sessionlog.core.redact import Redactor
from sessionlog.core.schema import SchemaSet

CHAIN_ROOM = 90  # bytes the chain fields (",seq":N,"prev":"sha256:...") add to a line


class Refused(Exception):
    """An event that cannot be written; the message says why."""


def encode(
    event: dict[str, Any], *, schemas: SchemaSet, redactor: Redactor | None, max_bytes: int, scan: bool = True
) -> bytes:
    """The line body of *event* (updated in place to what is written); raises Refused.

    With ``scan=False`` the caller takes over the secret search (a batch searches its
    bodies together first).
    """
    body = serialize(event)
    limit_size(body, max_bytes)  # before any other work: the cost of what follows grows with it
    refuse_non_json_numbers(event, body)
    normalize(event, body)
    if scan and redactor is not None:
        return scanned(event, body, schemas=schemas, redactor=redactor, max_bytes=max_bytes)
    validate(event, schemas)
    return body


def scanned(event: dict[str, Any], body: bytes, *, schemas: SchemaSet, redactor: Redactor, max_bytes: int) -> bytes:
    """The rest of ``encode`` for a normalized event: redact, limit the size again, validate.
    (A batch encoded without the scan comes back here for the events that may hold a secret.)"""
    body = redact(event, body, redactor)
    limit_size(body, max_bytes)
    validate(event, schemas)
    return body


def serialize(event: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise Refused(f"event is not JSON: {unrepresentable(event) or exc}") from None


def limit_size(body: bytes, max_bytes: int) -> None:
    if len(body) + CHAIN_ROOM > max_bytes:
        raise Refused(f"event is {len(body)} bytes encoded; the limit is {max_bytes} (max_event_bytes)")


def refuse_non_json_numbers(event: dict[str, Any], body: bytes) -> None:
    """orjson writes NaN and Infinity as null: an event holding null is looked at closer."""
    if b"null" in body:
        problem = unrepresentable(event)
        if problem is not None:
            raise Refused(f"event is not JSON: {problem}")


def normalize(event: dict[str, Any], body: bytes) -> None:
    """Replace *event*'s values with the plain JSON they serialize to.

    What orjson serializes natively (dataclasses, enums, datetimes, UUIDs) becomes plain
    JSON, so what is redacted and validated is exactly what is written. Raw JSON
    (``orjson.Fragment``) would bypass both: it shows as bytes that do not read back the same.
    """
    try:
        plain = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(f"event is not JSON: it holds raw bytes that are not JSON (orjson.Fragment?): {exc}") from None
    if orjson.dumps(plain) != body:
        raise Refused("event is not JSON: it holds raw JSON (orjson.Fragment), which is never written as-is")
    event.clear()
    event.update(plain)


def redact(event: dict[str, Any], body: bytes, redactor: Redactor) -> bytes:
    """Mask the secrets of *event* in place and record where they were; return the new body."""
    found = redactor.redact(event, body)  # one keyword search first: most events stop there
    if not found:
        return body
    event["redactions"] = found
    return orjson.dumps(event)


def validate(event: dict[str, Any], schemas: SchemaSet) -> None:
    if not schemas.is_valid(event):
        raise Refused(f"invalid event: {schemas.error(event) or 'rejected by the schema'}")
