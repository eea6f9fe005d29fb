"""sessionlog: append-only, schema-validated, verifiable JSONL logs of AI-agent sessions."""

from __future__ import annotations

from ._ids import make_session_id, new_event_id
from ._logger import AppendResult, SessionLogger
from ._manage import CleanupItem, LogManager
from ._queries import DanglingReference, SessionEvents
from ._reader import ParseError
from ._redact import DEFAULT_SECRET_PATTERNS, SecretPattern
from ._schema import SchemaError, builtin_schema
from ._verify import Finding, VerifyReport, verify_file

__all__ = [
    "DEFAULT_SECRET_PATTERNS",
    "AppendResult",
    "CleanupItem",
    "DanglingReference",
    "Finding",
    "LogManager",
    "ParseError",
    "SchemaError",
    "SecretPattern",
    "SessionEvents",
    "SessionLogger",
    "VerifyReport",
    "builtin_schema",
    "make_session_id",
    "new_event_id",
    "verify_file",
]
