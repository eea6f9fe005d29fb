"""Event ids, session ids and timestamps."""

from __future__ import annotations

import functools
import random
import re
import time
from datetime import UTC, datetime

SESSION_ID_RE = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_AGENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+:/()-]{0,127}")
# Mersenne Twister seeded from os.urandom, reseeded in forked children by the
# random module itself: unpredictability is not needed, only no collisions.
_random_bits = random.getrandbits
_SLUG_DROP = re.compile(r"[^A-Za-z0-9_-]+")


def new_event_id() -> str:
    """Return ``evt_`` + 32 hex digits: 48 bits of Unix milliseconds, 80 random bits.

    Ids sort by creation time, and two ids collide only if they share a
    millisecond and 80 random bits.
    """
    return f"evt_{time.time_ns() // 1_000_000:012x}{_random_bits(80):020x}"


_second_cache: list[object] = [-1, ""]


def utc_now() -> str:
    """Return the current instant as RFC 3339 UTC with microseconds and a ``Z``.

    The formatted second is cached: within one second only the microseconds
    are formatted (a quarter of strftime's cost on the append path).
    """
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    if seconds != _second_cache[0]:
        _second_cache[:] = [seconds, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))]
    return f"{_second_cache[1]}{micros:06d}Z"


@functools.lru_cache(maxsize=256)
def _session_id_ok(session_id: str) -> bool:
    return SESSION_ID_RE.fullmatch(session_id) is not None


def session_id_error(session_id: object) -> str | None:
    """Return why *session_id* is not safe as a file name, or None if it is."""
    if not isinstance(session_id, str):
        return f"session_id must be a string, got {type(session_id).__name__}"
    if _session_id_ok(session_id):
        return None
    if not session_id:
        return "session_id is empty"
    if len(session_id) > 128:
        return f"session_id is {len(session_id)} characters long; the limit is 128"
    if ".." in session_id:
        return f"session_id {session_id!r} contains '..'"
    return (
        f"session_id {session_id!r} is not a safe file name: use letters, digits and ._- "
        "and start with a letter or digit"
    )


def agent_error(agent: object) -> str | None:
    """Return why *agent* cannot name an agent in an event (the schema's ``agent_name``), or None."""
    if not isinstance(agent, str):
        return f"agent must be a string, got {type(agent).__name__}"
    if _AGENT.fullmatch(agent) is not None:
        return None
    return (
        f"agent name {agent!r} is not accepted: start with an ASCII letter or digit, then use "
        "ASCII letters, digits, space and ._@+:/()- (at most 128 characters)"
    )


def make_session_id(agent: str, when: datetime | None = None) -> str:
    """Return a session id of the form ``<agent>_<YYYYMMDD>_<HHMM>`` (UTC).

    Characters of *agent* that are not letters, digits, ``_`` or ``-`` are
    replaced by ``-`` so the result is always a valid session id.
    """
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    slug = _SLUG_DROP.sub("-", agent).strip("-_")[:100] or "agent"
    return f"{slug}_{moment:%Y%m%d_%H%M}"
