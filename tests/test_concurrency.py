"""Many real processes and threads appending to one session."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sessionlog import SessionLogger

WRITER = """
import sys, time
from sessionlog import SessionLogger
base, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0  # seconds between appends, as an agent works
logger = SessionLogger(base)
for i in range(count):
    time.sleep(pause)
    ok, error = logger.append_event("shared", "tool_call", f"agent-{worker}", "test",
                                    data={"worker": worker, "i": i, "pad": "x" * 300})
    if not ok:
        sys.exit(f"append failed: {error}")
"""


@pytest.mark.slow
def test_processes_lose_nothing_and_keep_the_chain(sessions_dir: Path) -> None:
    workers, count = 4, 1500
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(sessions_dir), str(w), str(count)]) for w in range(workers)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0] * workers
    logger = SessionLogger(sessions_dir)
    events = logger.read_session("shared")
    assert events.errors == []
    assert len(events) == workers * count
    for w in range(workers):
        mine = [e["data"]["i"] for e in events if e["data"]["worker"] == str(w)]
        assert mine == list(range(count))  # each writer's events, complete and in its order
    report = logger.verify_session("shared")
    assert report.ok, report.findings[:5]


def test_threads_share_one_logger_safely(logger: SessionLogger) -> None:
    def work(n: int) -> None:
        for i in range(300):
            assert logger.append_event("t", "tool_call", "claude_code", "x", data={"t": n, "i": i}).ok

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(logger.read_session("t")) == 1800
    assert logger.verify_session("t").ok


def test_two_loggers_in_one_process_interleave_safely(sessions_dir: Path) -> None:
    a, b = SessionLogger(sessions_dir), SessionLogger(sessions_dir)
    for i in range(200):
        assert (a if i % 3 else b).append_event("s", "tool_call", "claude_code", "x", data={"i": i}).ok
    assert [e["data"]["i"] for e in a.read_session("s")] == list(range(200))
    assert a.verify_session("s").ok


def _fork_worker(logger: SessionLogger, worker: int, count: int) -> None:
    for i in range(count):
        assert logger.append_event("forked", "tool_call", "claude_code", "x", data={"w": worker, "i": i}).ok


@pytest.mark.slow
def test_a_logger_inherited_through_fork_still_excludes(sessions_dir: Path) -> None:
    import multiprocessing

    logger = SessionLogger(sessions_dir)
    assert logger.append_event("forked", "user_message", "user", "x").ok  # the file is open before the fork
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_fork_worker, args=(logger, w, 800)) for w in range(4)]
    for p in procs:
        p.start()
    _fork_worker(logger, 99, 800)
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * 4
    events = logger.read_session("forked")
    assert events.errors == [] and len(events) == 1 + 5 * 800
    report = logger.verify_session("forked")
    assert report.ok, report.findings[:3]


@pytest.mark.slow
def test_processes_appending_in_a_work_tree_while_it_commits_lose_nothing(tmp_path: Path) -> None:
    """Inside a git work tree, appends go to segments that a commit closes and stages: four writers
    and a stream of commits, and every line is in exactly one file, once, in one chain."""
    import json

    from gitrepo import Repo

    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    (repo.path / "a.txt").write_text("0\n")
    repo.commit("initial")
    workers, count = 4, 300
    # paced (5 ms between appends, 1.5 s in all), so that commits land while they write however
    # fast the machine: unpaced, a fast one finished all 1,200 appends within two commits
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(repo.sessions), str(w), str(count), "0.005"], env=repo.env)
        for w in range(workers)
    ]
    commits = 0
    while any(p.poll() is None for p in procs):
        (repo.path / "a.txt").write_text(f"change {commits}\n")
        repo.git("add", "a.txt")
        repo.run("git", "commit", "-q", "-m", f"commit {commits}")
        commits += 1
    assert [p.wait(timeout=300) for p in procs] == [0] * workers
    if repo.run("git", "status", "--porcelain", "--untracked-files=all").stdout:
        repo.commit("the rest")  # what was appended after the last commit of the loop, if anything
    assert repo.run("git", "status", "--porcelain", "--untracked-files=all").stdout == ""
    logger = SessionLogger(repo.sessions)
    events = logger.read_session("shared")
    assert events.errors == [] and len(events) == workers * count
    assert [e["seq"] for e in events] == list(range(1, workers * count + 1))  # one chain, no seq twice
    for w in range(workers):
        assert [e["data"]["i"] for e in events if e["data"]["worker"] == str(w)] == list(range(count))
    assert logger.verify_session("shared").ok
    committed = []
    for name in repo.git("ls-tree", "--name-only", "HEAD:.ai-agents/sessions").splitlines():
        if name.startswith("shared"):
            committed += repo.git("show", f"HEAD:.ai-agents/sessions/{name}").splitlines()
    assert sorted(json.loads(line)["event_id"] for line in committed) == sorted(e["event_id"] for e in events)
    assert commits > 1 and len(logger.segment_paths("shared")) > 1
