from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sessionlog import SessionLogger

REPO = Path(__file__).resolve().parents[1]
# hook daemons started by the tests go away seconds after their last payload
os.environ.setdefault("SESSIONLOG_HOOKD_IDLE", "5")
SHARED = Path(os.environ.get("SESSIONLOG_SHARED", REPO.parent / "shared"))


_MISSING = (
    f"uses the shared folder {SHARED} (the usage guide's examples, real agent transcripts), which this "
    "checkout does not have (set SESSIONLOG_SHARED to it)"
)


def shared(*parts: str) -> Path:
    """A file of the shared reference folder; a test that needs one is skipped, with one reason
    for all of them (pytest -ra folds identical reasons into one line), when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(_MISSING)
    return path


def _write_original_format(folder: Path) -> None:
    """Files in the original implementation's format, written here from the facts of its format
    (reference/original-format/SOURCE.md): ids evt_ + 8 hex digits, naive UTC timestamps with a
    Z, a confidence in provenance, no session id and no chain fields; a draft-07 schema whose
    event_id pattern and closed agent list are the original's. Used where ../shared is absent."""
    import gzip
    import json

    events = [
        ("evt_0a1b2c3d", "user_message", "user", "terminal", {"message": "Run the migration"}),
        ("evt_4e5f6a7b", "tool_call", "claude_code", "./scripts/migrate.sh", {"command": "./scripts/migrate.sh"}),
        ("evt_8c9d0e1f", "error", "claude_code", "postgres", {"error_code": "57P01", "message": "terminated"}),
    ]
    lines = [
        json.dumps(
            {
                "event_id": event_id,
                "timestamp": f"2025-12-10T17:18:17.9{i}2595Z",
                "event_type": kind,
                "provenance": {"source": source, "agent": agent, "confidence": 1.0},
                "data": data,
            }
        )
        + "\n"
        for i, (event_id, kind, agent, source, data) in enumerate(events)
    ]
    raw = "".join(lines).encode()
    (folder / "test_session_001.jsonl").write_bytes(raw)
    (folder / "test_session_001.jsonl.gz").write_bytes(gzip.compress(raw))
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "MCP Session Log Schema",
        "type": "object",
        "$ref": "#/definitions/event",
        "definitions": {
            "event": {
                "type": "object",
                "required": ["event_id", "timestamp", "event_type", "provenance"],
                "properties": {
                    "event_id": {"type": "string", "pattern": "^evt_[0-9a-f]{8}$"},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "provenance": {
                        "type": "object",
                        "required": ["source", "agent"],
                        "properties": {
                            "source": {"type": "string"},
                            "agent": {"type": "string", "enum": ["claude_code", "gemini", "codex", "user"]},
                            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
            }
        },
    }
    (folder / "SESSION_LOG_SCHEMA.json").write_text(json.dumps(schema, indent=2))


_GENERATED: list[Path] = []  # where this run wrote its original-format files, once


def original(name: str) -> Path:
    """A file of the original implementation's format: the real one from ../shared when this
    checkout has it, else one written in the same format (so a plain clone runs these tests)."""
    real = SHARED / "reference" / "original-format" / name
    if real.exists():
        return real
    if not _GENERATED:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="sessionlog-original-format-"))
        _write_original_format(folder)
        _GENERATED.append(folder)
    return _GENERATED[0] / name


@contextlib.contextmanager
def loopback_http(
    respond: Callable[[str, str, dict[str, str], bytes], bytes | tuple[int, dict[str, str], bytes]],
) -> Iterator[str]:
    """A real HTTP server on a loopback port for the duration; *respond(method, path, headers, body)*
    gives each request's answer: a body (status 200), or ``(status, headers, body)``. Yields the
    server's base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answer = respond(self.command, self.path, dict(self.headers), self.rfile.read(length) if length else b"")
            status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sessions_dir(tmp_path: Path) -> Path:
    return tmp_path / ".ai-agents" / "sessions"


@pytest.fixture
def logger(sessions_dir: Path) -> Iterator[SessionLogger]:
    with SessionLogger(sessions_dir) as lg:
        yield lg


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One PRE_COMMIT_HOME for the run: the framework builds each hook environment once."""
    if shutil.which("pre-commit") is None and not (Path(sys.executable).parent / "pre-commit").exists():
        pytest.skip("the pre-commit framework is not installed")
    return str(tmp_path_factory.mktemp("pre-commit-home"))
