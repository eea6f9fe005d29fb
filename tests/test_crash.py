"""Real kill -9 of writers; the next append recovers a torn tail and keeps its bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sessionlog import SessionLogger

TEAR = """
import os, signal, sys
path, data = sys.argv[1], sys.argv[2].encode()
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
os.write(fd, data)  # half a line, then die as a crash would
os.kill(os.getpid(), signal.SIGKILL)
"""

LOOP = """
import sys
from sessionlog import SessionLogger
logger = SessionLogger(sys.argv[1])
i = 0
while True:
    result = logger.append_event("crash", "tool_call", "claude_code", "loop", data={"i": i, "pad": "y" * 20000})
    assert result.ok, result.error
    print(result.event_id, flush=True)
    i += 1
"""


def test_torn_tail_after_kill_is_preserved_and_recorded(logger: SessionLogger) -> None:
    first = logger.append_event("s", "user_message", "user", "terminal", data={"message": "go"})
    path = logger.session_path("s")
    intact = path.read_bytes()
    torn = b'{"event_id":"evt_0123456789abcdef0123456789abcdef","timestamp":"2026-'
    proc = subprocess.run([sys.executable, "-c", TEAR, str(path), torn.decode()], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == intact + torn

    result = logger.append_event("s", "tool_call", "claude_code", "x", dependencies={"depends_on": [first.event_id]})
    assert result.ok, result.error
    assert result.seq == 3  # the recovery event took line 2
    raw = path.read_bytes()
    assert raw.startswith(intact)
    events = [json.loads(line) for line in raw.splitlines()]
    recovery = events[1]
    assert recovery["event_type"] == "error"
    assert recovery["provenance"]["agent"] == "sessionlog"
    assert recovery["data"]["offset"] == len(intact)
    assert recovery["data"]["length"] == len(torn)
    saved = logger.base_dir / recovery["data"]["saved_to"]
    assert saved.read_bytes() == torn  # never silently deleted
    assert logger.verify_session("s").ok


def test_file_with_only_a_torn_line_recovers(logger: SessionLogger) -> None:
    logger.base_dir.mkdir(parents=True)
    path = logger.session_path("s")
    path.write_bytes(b'{"half')
    assert logger.append_event("s", "tool_call", "claude_code", "x").ok
    events = logger.read_session("s")
    assert [e["event_type"] for e in events] == ["error", "tool_call"]
    assert logger.verify_session("s").ok


@pytest.mark.slow
def test_writers_killed_at_random_moments_lose_no_acknowledged_event(sessions_dir: Path) -> None:
    acknowledged: list[str] = []
    for round_ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", LOOP, str(sessions_dir)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        acknowledged.append(proc.stdout.readline().strip())  # at least one append done
        time.sleep(0.01 + 0.013 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        acknowledged.extend(line for line in rest.split() if line)
    logger = SessionLogger(sessions_dir)
    assert logger.append_event("crash", "decision", "claude_code", "after").ok
    events = logger.read_session("crash")
    assert events.errors == []
    ids = {e["event_id"] for e in events}
    assert set(acknowledged) <= ids
    report = logger.verify_session("crash")
    assert report.ok, report.findings[:3]


FULL_DISK = """
import os, resource, signal, sys
from sessionlog import SessionLogger
path = sys.argv[1]
logger = SessionLogger(path)
assert logger.append_event("s", "user_message", "user", "terminal").ok
size = os.path.getsize(os.path.join(path, "s.jsonl"))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 300, resource.RLIM_INFINITY))
ok, error = logger.append_event("s", "tool_call", "claude_code", "x", data={"pad": "z" * 2000})
print(ok, error)
print(os.path.getsize(os.path.join(path, "s.jsonl")) == size)
"""


def test_a_write_cut_short_by_a_full_disk_leaves_no_partial_line(sessions_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(sessions_dir)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    refused, same_size = proc.stdout.splitlines()
    assert refused.startswith("False cannot write to ") and "File too large" in refused
    assert same_size == "True"  # the 300 bytes that did get written were truncated away
    logger = SessionLogger(sessions_dir)
    assert logger.append_event("s", "decision", "claude_code", "x").ok
    assert logger.verify_session("s").ok


@pytest.mark.parametrize("dies", ["before the record is written", "after the record, before the cut"])
def test_torn_tail_recovery_leaves_a_record_wherever_it_is_killed(tmp_path: Path, dies: str) -> None:
    sessions = tmp_path / "sessions"
    with SessionLogger(sessions, segments=False) as logger:
        assert logger.append_event("s", "tool_call", "codex", "x").ok
    path = sessions / "s.jsonl"
    with open(path, "ab") as out:  # a writer died mid-line: longer than a recovery event
        out.write(b'{"event_id":"evt_torn","data":{"blob":"' + b"y" * 3000)
    # The child recovers the torn tail and is killed at that point (os._exit: no clean-up runs).
    kill = (
        "st._replace_tail = lambda *a: os._exit(9)"
        if dies.startswith("before")
        else "os.ftruncate = lambda *a: os._exit(9)"
    )
    child = (
        "import os, sys\nimport sessionlog.core.store as st\n"
        f"{kill}\n"
        "from sessionlog import SessionLogger\n"
        "SessionLogger(sys.argv[1], segments=False).append_event('s', 'tool_call', 'codex', 'after')\n"
    )
    proc = subprocess.run([sys.executable, "-c", child, str(sessions)], capture_output=True, check=False)
    assert proc.returncode == 9, proc.stderr
    with SessionLogger(sessions, segments=False) as logger:
        assert logger.append_event("s", "tool_call", "codex", "later").ok
        events = logger.read_session("s")
        assert logger.verify_session("s").ok
    recovered = [e for e in events if e["event_type"] == "error" and "incomplete" in e["data"]["message"]]
    assert recovered and recovered[0]["data"]["length"] >= 3000 - 500  # the torn bytes are accounted for
    assert [e["provenance"]["source"] for e in events if e["event_type"] == "tool_call"] == ["x", "later"]
    assert list((sessions / ".recovered").iterdir())


def test_a_torn_open_segment_is_recovered_and_the_chain_goes_on(tmp_path: Path) -> None:
    """In a work tree, appends go to an untracked segment; a writer that died mid-line there
    leaves a torn tail that the next writer saves aside and records, as in a plain file."""
    from gitrepo import Repo

    repo = Repo(tmp_path / "repo")
    with SessionLogger(repo.sessions) as logger:
        for i in range(2):
            assert logger.append_event("t", "tool_call", "codex", "x", data={"i": i}).ok
    repo.commit("first segment committed")
    with SessionLogger(repo.sessions) as logger:
        assert logger.append_event("t", "tool_call", "codex", "x", data={"i": 2}).ok  # opens t+3.jsonl
    segment = repo.sessions / "t+3.jsonl"
    with open(segment, "ab") as out:
        out.write(b'{"event_id":"evt_torn","timest')  # a writer killed mid-line
    with SessionLogger(repo.sessions) as logger:
        assert logger.append_event("t", "tool_call", "codex", "x", data={"i": 3}).ok
        events = logger.read_session("t")
        assert events.errors == []
        assert [e["event_type"] for e in events] == ["tool_call"] * 3 + ["error", "tool_call"]
        assert events[3]["data"]["length"] == len(b'{"event_id":"evt_torn","timest')
        assert logger.verify_session("t").ok
    assert list((repo.sessions / ".recovered").iterdir())
