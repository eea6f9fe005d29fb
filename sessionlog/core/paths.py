"""Where sessions live."""

from __future__ import annotations

import os
from pathlib import Path

from sessionlog.git import exe as _git

# The layout, in one place: <top>/.ai-agents/sessions/<id>.jsonl, archived as
# archive/<id>.jsonl.gz (or a plain archive/<id>.jsonl, as the original wrote them),
# torn tails saved in .recovered/, the repository's own rules in session_context/.
ENV_DIR = "SESSIONLOG_DIR"
SESSIONS_DIR = Path(".ai-agents", "sessions")
SUFFIX = ".jsonl"
ARCHIVE_DIR = "archive"
ARCHIVE_SUFFIX = ".jsonl.gz"
RECOVERED_DIR = ".recovered"


def default_sessions_dir() -> Path:
    """``$SESSIONLOG_DIR`` if set, else ``<git top-level or cwd>/.ai-agents/sessions``."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    root = _git.toplevel() or Path.cwd()
    return root / SESSIONS_DIR


def repo_schema_for(sessions_dir: Path) -> Path:
    """The repository's own schema for a sessions folder at ``<top>/.ai-agents/sessions``."""
    return sessions_dir.parent / "session_context" / "SESSION_LOG_SCHEMA.json"


def repo_rules_for(sessions_dir: Path) -> Path:
    """The repository's own secret rules (gitleaks format: ``[[rules]]`` add rules,
    ``[extend] disabledRules`` turns rules off) beside its schema."""
    return sessions_dir.parent / "session_context" / "secret-rules.toml"
