"""A repository written by a stranger: nothing it holds reaches the network, runs in more than
linear time, or sends a write outside the sessions folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import loopback_http
from gitrepo import Repo

from sessionlog import SchemaError, SessionLogger


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []

    def respond(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        requests.append(path)
        return b'{"secret": "instance-credentials"}'

    with loopback_http(respond) as url:
        yield url, requests


def _plant_schema(root: Path, schema: object) -> Path:
    path = root / ".ai-agents" / "session_context" / "SESSION_LOG_SCHEMA.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema))
    return path


@pytest.mark.parametrize("kind", ["http", "file", "nested"])
def test_a_repository_schema_never_fetches_references(tmp_path: Path, server: tuple[str, list[str]], kind: str) -> None:
    url, requests = server
    secret_file = tmp_path / "outside.json"
    secret_file.write_text('{"type": "object", "description": "outside-the-repository"}')
    ref = {"http": f"{url}/latest/meta-data/iam", "file": secret_file.as_uri(), "nested": f"{url}/x#/y"}[kind]
    schema = {"properties": {"data": {"$ref": ref}}} if kind == "nested" else {"$ref": ref}
    _plant_schema(tmp_path, schema)
    with pytest.raises(SchemaError, match="references outside the schema are refused") as caught:
        SessionLogger(tmp_path / ".ai-agents" / "sessions")
    assert "instance-credentials" not in str(caught.value) and "outside-the-repository" not in str(caught.value)
    assert requests == []


def test_ci_and_the_commit_hook_refuse_a_fetching_schema_without_fetching(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, requests = server
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "install-hooks")
    repo.log("s1", 1)
    repo.commit("clean")
    base = repo.head()
    repo.log("s1", 1)
    _plant_schema(repo.path, {"$ref": f"{url}/creds"})
    proc = repo.commit("schema from a stranger", check=False)
    assert proc.returncode == 1 and "references outside the schema are refused" in proc.stderr
    assert "Traceback" not in proc.stderr
    repo.git("commit", "-q", "--no-verify", "-m", "forced")
    proc = repo.run("sessionlog", "ci", "--base", base, "--head", "HEAD", check=False)
    assert proc.returncode != 0
    assert "instance-credentials" not in proc.stdout + proc.stderr
    assert requests == []


def test_a_repository_schema_pattern_runs_in_linear_time(tmp_path: Path) -> None:
    # Python's re would take hours on this; the compiled validator's regex engine is linear
    _plant_schema(tmp_path, {"properties": {"data": {"properties": {"note": {"pattern": "^(a+)+$"}}}}})
    logger = SessionLogger(tmp_path / ".ai-agents" / "sessions")
    result = logger.append_event("s", "tool_call", "codex", "x", data={"note": "a" * 5000 + "!"})
    assert not result.ok and "does not match" in (result.error or "")
    _plant_schema(tmp_path, {"properties": {"data": {"pattern": "^(?=a)a$"}}})
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        SessionLogger(tmp_path / ".ai-agents" / "sessions")


def test_readers_refuse_a_fifo_or_folder_at_a_session_path(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    sessions = tmp_path / ".ai-agents" / "sessions"
    sessions.mkdir(parents=True)
    os.mkfifo(sessions / "fifo.jsonl")
    (sessions / "dir.jsonl").mkdir()
    # in a child process, so a reader that blocks fails the test instead of hanging it
    probe = (
        "import sys; from sessionlog import SessionLogger; lg = SessionLogger(sys.argv[1]); out = []\n"
        "for sid in ('fifo', 'dir'):\n"
        "    for call in (lg.read_session, lg.get_open_commitments, lg.verify_session):\n"
        "        try: r = call(sid); out.append(getattr(r, 'findings', r))\n"
        "        except ValueError as e: out.append(str(e))\n"
        "    out.append(lg.log_handoff(sid, 'a', 'b').error)\n"
        "print('\\n'.join(map(str, out)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(sessions)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("is a FIFO, not a session file") == 4
    assert proc.stdout.count("is a folder") == 4
    proc = subprocess.run(
        [sys.executable, "-m", "sessionlog", "verify", str(sessions / "fifo.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "FIFO" in proc.stdout + proc.stderr


def test_a_symlinked_sessions_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / ".ai-agents").mkdir()
    (tmp_path / ".ai-agents" / "sessions").symlink_to(outside)
    logger = SessionLogger(tmp_path / ".ai-agents" / "sessions")
    result = logger.append_event("s", "tool_call", "codex", "x")
    assert not result.ok and "is a symlink; sessionlog never writes through a linked folder" in (result.error or "")
    assert list(outside.iterdir()) == []


def test_restore_never_writes_through_a_planted_temp_symlink(tmp_path: Path) -> None:
    import os

    from sessionlog import LogManager

    sessions = tmp_path / ".ai-agents" / "sessions"
    with SessionLogger(sessions) as logger:
        assert logger.append_event("s", "tool_call", "codex", "x").ok
    manager = LogManager(sessions)
    assert manager.cleanup_old_sessions(older_than_days=-1) == 1
    assert (sessions / "archive" / "s.jsonl.gz").is_file()
    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")
    # the names earlier versions used, for every likely pid
    for pid in range(max(os.getpid() - 50, 1), os.getpid() + 50):
        (sessions / f".s.jsonl.{pid}.tmp").symlink_to(victim)
        (sessions / "archive" / f".s.jsonl.gz.{pid}.tmp").symlink_to(victim)
    assert manager.restore_session("s")
    assert victim.read_text() == "precious\n"
    assert not (sessions / "s.jsonl").is_symlink() and (sessions / "s.jsonl").stat().st_size > 0


def test_a_gzip_bomb_archive_and_a_flood_of_bad_lines_stay_bounded(tmp_path: Path) -> None:
    import gzip

    repo = Repo(tmp_path / "repo")
    repo.log("s1", 1)
    repo.commit("clean")
    base = repo.head()
    archive = repo.sessions / "archive"
    archive.mkdir()
    # 2 million blank lines: a few KB compressed
    (archive / "bomb.jsonl.gz").write_bytes(gzip.compress(b"\n" * 2_000_000, compresslevel=9))
    (archive / "huge.jsonl.gz").write_bytes(gzip.compress(b"\n" * (300 << 20), compresslevel=9))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "bombs")
    proc = repo.run("sessionlog", "ci", "--base", base, "--head", "HEAD", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "bomb.jsonl.gz:50001" not in out and len(out) < 20_000  # not one finding per line
    assert "stopped after 50 problems in this file; 1999950 more line(s) not checked" in out
    huge = [line for line in out.splitlines() if "huge.jsonl.gz" in line]
    assert huge and "not a gzip file, or larger than 256 MiB" in huge[0], huge


def test_verify_reports_a_fifo_instead_of_raising(tmp_path: Path) -> None:
    import os

    from sessionlog import load_schemas, verify_file

    os.mkfifo(tmp_path / "s.jsonl")
    report = verify_file(tmp_path / "s.jsonl", load_schemas(None))
    assert not report.ok and "is a FIFO" in report.findings[0].message


def _rechain(lines: list[dict[str, object]]) -> bytes:
    """Re-number and re-link every line, as someone rewriting the file on purpose would."""
    import orjson

    from sessionlog import line_digest

    out, previous = [], None
    for seq, event in enumerate(lines, 1):
        body = {k: v for k, v in event.items() if k not in ("seq", "prev")}
        line = orjson.dumps({**body, "seq": seq, "prev": previous}) + b"\n"
        previous = line_digest(line)
        out.append(line)
    return b"".join(out)


@pytest.mark.parametrize("rewrite", ["edit", "drop", "truncate", "strip and edit"])
def test_verify_catches_rewrites_through_the_committed_anchor(tmp_path: Path, rewrite: str) -> None:
    repo = Repo(tmp_path / "repo")
    repo.log("s1", 4)
    repo.commit("logged")
    path = repo.file("s1")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    if rewrite == "edit":
        events[1]["data"] = {"i": 99}
        path.write_bytes(_rechain(events))
    elif rewrite == "drop":
        path.write_bytes(_rechain(events[:1] + events[2:]))
    elif rewrite == "truncate":
        path.write_bytes(_rechain(events[:2]))
    else:
        events[1]["data"] = {"i": 99}
        path.write_text(
            "".join(json.dumps({k: v for k, v in e.items() if k not in ("seq", "prev")}) + "\n" for e in events)
        )
    # the chain alone: a re-chained rewrite is internally consistent
    alone = repo.run("sessionlog", "verify", "--anchor", "", str(path), check=False)
    anchored = repo.run("sessionlog", "verify", str(path), check=False)
    assert anchored.returncode == 1
    if rewrite == "strip and edit":
        assert "though sessionlog wrote it: they were stripped" in alone.stdout and alone.returncode == 1
    else:
        assert alone.returncode == 0, alone.stdout
    line = {"edit": 2, "drop": 2, "truncate": 3, "strip and edit": 1}[rewrite]
    assert f"s1.jsonl:{line}: differs from the version committed at HEAD from this line on" in anchored.stdout


def test_init_never_writes_through_a_planted_gitattributes_link(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")
    (repo.path / ".gitattributes").symlink_to(victim)
    proc = repo.run("sessionlog", "init", check=False)
    assert proc.returncode != 0 and "not a regular file" in proc.stderr
    assert victim.read_text() == "precious\n"


def test_every_secret_rule_runs_on_the_linear_time_engine() -> None:
    from sessionlog.core.redact import _compiled, load_rule_set

    rules = load_rule_set().rules
    assert len(rules) > 200
    for rule in rules:
        assert type(_compiled(rule.regex)).__module__.startswith("re2"), rule.id


def test_the_size_limit_applies_before_redaction(tmp_path: Path) -> None:
    logger = SessionLogger(tmp_path / "s", max_event_bytes=10_000)
    result = logger.append_event("s", "tool_call", "codex", "x", data={"out": "-eyJ password= " * 2000})
    assert not result.ok and "bytes encoded; the limit is 10000" in (result.error or "")
