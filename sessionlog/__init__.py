"""sessionlog: append-only, schema-validated, verifiable JSONL logs of AI-agent sessions."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing is not imported: the hook's fast path starts with this package
if TYPE_CHECKING:
    from typing import Any

    from sessionlog.commits.events import active_session_id
    from sessionlog.core.chain import line_digest
    from sessionlog.core.ids import agent_error, make_session_id, new_event_id
    from sessionlog.core.logger import AppendResult, SessionLogger
    from sessionlog.core.manage import CleanupItem, LogManager
    from sessionlog.core.queries import (
        CLOSED_STATUSES,
        DanglingReference,
        SessionEvents,
        by_time,
        failure_history,
        instant_of,
        latest_commitments,
        open_commitments,
    )
    from sessionlog.core.reader import ParseError
    from sessionlog.core.redact import DEFAULT_SECRET_PATTERNS, Redactor, SecretPattern
    from sessionlog.core.schema import SchemaError, SchemaSet, builtin_schema, load_schemas
    from sessionlog.core.verify import Finding, VerifyReport, verify_file
    from sessionlog.errors import ConfigError, GitError, SessionlogError, StorageError, UsageError

__version__ = "0.1.0"  # the distribution's version (pyproject.toml; a test keeps them equal)

# Names are imported on first use: the git hooks and the agent hooks import a few submodules
# of this package, so Python runs this file first on every commit and every tool call; importing
# the library here would cost each of them ~100 ms (benchmarks/bench_hook.py).
_WHERE = {
    "make_session_id": "core.ids",
    "new_event_id": "core.ids",
    "agent_error": "core.ids",
    "AppendResult": "core.logger",
    "SessionLogger": "core.logger",
    "CleanupItem": "core.manage",
    "LogManager": "core.manage",
    "DanglingReference": "core.queries",
    "failure_history": "core.queries",
    "active_session_id": "commits.events",
    "open_commitments": "core.queries",
    "latest_commitments": "core.queries",
    "CLOSED_STATUSES": "core.queries",
    "by_time": "core.queries",
    "instant_of": "core.queries",
    "SessionEvents": "core.queries",
    "ParseError": "core.reader",
    "DEFAULT_SECRET_PATTERNS": "core.redact",
    "SecretPattern": "core.redact",
    "SchemaError": "core.schema",
    "builtin_schema": "core.schema",
    "Finding": "core.verify",
    "VerifyReport": "core.verify",
    "verify_file": "core.verify",
    "line_digest": "core.chain",
    "Redactor": "core.redact",
    "SchemaSet": "core.schema",
    "load_schemas": "core.schema",
    "ConfigError": "errors",
    "GitError": "errors",
    "SessionlogError": "errors",
    "StorageError": "errors",
    "UsageError": "errors",
}

__all__ = [
    "CLOSED_STATUSES",
    "DEFAULT_SECRET_PATTERNS",
    "AppendResult",
    "CleanupItem",
    "ConfigError",
    "DanglingReference",
    "Finding",
    "GitError",
    "LogManager",
    "ParseError",
    "Redactor",
    "SchemaError",
    "SchemaSet",
    "SecretPattern",
    "SessionEvents",
    "SessionLogger",
    "SessionlogError",
    "StorageError",
    "UsageError",
    "VerifyReport",
    "__version__",
    "active_session_id",
    "agent_error",
    "builtin_schema",
    "by_time",
    "failure_history",
    "instant_of",
    "latest_commitments",
    "line_digest",
    "load_schemas",
    "make_session_id",
    "new_event_id",
    "open_commitments",
    "verify_file",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sessionlog' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
