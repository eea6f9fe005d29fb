"""Committing the logs: one test per way it used to go wrong (see also test_commit_matrix.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A repository set up with `sessionlog init` (the plain-git shims)."""
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    (repo.path / "code.txt").write_text("v0\n")
    repo.commit("initial")
    return repo


def porcelain(repo: Repo) -> list[str]:
    return repo.run("git", "status", "--porcelain", "--untracked-files=all").stdout.splitlines()


def log(repo: Repo, session: str = "agent_s", n: int = 2, folder: Path | None = None) -> list[str]:
    ids = []
    with SessionLogger(folder or repo.sessions) as logger:
        for i in range(n):
            result = logger.append_event(session, "tool_call", "claude_code", "test", data={"i": i})
            assert result.ok, result.error
            ids.append(str(result.event_id))
    return ids


def tree_ids(repo: Repo, rev: str = "HEAD", session: str = "agent_s") -> list[str]:
    """Event ids in every file of *session* that *rev* holds."""
    ids = []
    for name in repo.git("ls-tree", "--name-only", f"{rev}:.ai-agents/sessions").splitlines():
        if name == f"{session}.jsonl" or name.startswith(f"{session}+"):
            ids += [
                json.loads(x)["event_id"] for x in repo.git("show", f"{rev}:.ai-agents/sessions/{name}").splitlines()
            ]
    return ids


def test_commit_a_with_only_session_lines_is_refused_by_git_and_leaves_nothing_staged(repo: Repo) -> None:
    ids = log(repo)
    proc = repo.run("git", "commit", "-a", "-m", "logs", check=False)
    assert proc.returncode == 1
    assert 'use "git add" to track' in proc.stdout  # git says what to run
    assert all(line.startswith("??") for line in porcelain(repo))  # nothing half-staged
    repo.git("add", "-A")
    repo.run("git", "commit", "-q", "-m", "logs")
    assert porcelain(repo) == []
    assert set(ids) <= set(tree_ids(repo))


def test_flush_stages_the_lines_for_a_plain_commit(repo: Repo) -> None:
    ids = log(repo)
    flushed = repo.run("sessionlog", "flush")
    assert ".ai-agents/sessions/agent_s.jsonl" in flushed.stdout
    repo.run("git", "commit", "-q", "-m", "logs")
    assert porcelain(repo) == []
    assert set(ids) <= set(tree_ids(repo))


def test_verify_sees_the_logs_right_after_init_and_appends(repo: Repo) -> None:
    log(repo)
    log(repo, "second")
    proc = repo.run("sessionlog", "verify", ".ai-agents/sessions", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 file(s), 4 event(s): no problems" in proc.stderr
    listed = repo.run("sessionlog", "sessions", "-o", "json").stdout
    assert {s["session_id"] for s in json.loads(listed)} >= {"agent_s", "second"}


def test_flushed_lines_switch_with_the_branch_and_the_merge_is_clean(repo: Repo) -> None:
    repo.git("switch", "-q", "-c", "feature")
    (repo.path / "f.txt").write_text("f\n")
    repo.commit("on feature")
    log(repo)
    repo.run("sessionlog", "flush")
    repo.git("switch", "-q", "main")  # the staged new files go along: they are committed here
    (repo.path / "m.txt").write_text("m\n")
    repo.commit("on main")
    log(repo)
    (repo.path / "f2.txt").write_text("f2\n")
    repo.git("switch", "-q", "feature")
    repo.commit("feature again")
    repo.git("switch", "-q", "main")
    merge = repo.run("git", "merge", "-q", "--no-ff", "feature", "-m", "merge", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert porcelain(repo) == []
    (repo.path / "after.txt").write_text("a\n")
    repo.commit("after the merge")  # logs the merge and feature's last commit
    events = [e for s in SessionLogger(repo.sessions).list_sessions() if s.startswith("git-main") for e in
              SessionLogger(repo.sessions).read_session(s)]  # fmt: skip
    made_on = {
        e["data"]["subject"]: e["data"]["branch"] for e in events if e["data"].get("kind") in ("commit", "merge")
    }
    assert made_on["feature again"] == "feature"  # the branch it was made on, not the log's
    assert made_on["on main"] == "main"


def test_a_session_logging_on_two_branches_merges_without_conflict(repo: Repo) -> None:
    first = log(repo)
    repo.commit("session starts on main")
    repo.git("switch", "-q", "-c", "side")
    side = log(repo)
    repo.commit("side logs")
    repo.git("switch", "-q", "main")
    main = log(repo)
    repo.commit("main logs")
    merge = repo.run("git", "merge", "-q", "--no-ff", "side", "-m", "merge side", check=False)
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert porcelain(repo) == []
    assert sorted(tree_ids(repo)) == sorted(first + side + main)  # each once
    logger = SessionLogger(repo.sessions)
    assert [e["event_id"] for e in logger.read_session("agent_s")] == first + side + main
    assert logger.verify_session("agent_s").ok
    proc = repo.run("sessionlog", "verify", ".ai-agents/sessions", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repo.run("sessionlog", "ci", check=False).returncode == 0


def test_a_file_name_that_is_not_utf8_never_breaks_a_commit(repo: Repo) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    (repo.path / name).write_text("x\n")
    repo.commit("a latin-1 file name")
    for n in range(2):
        (repo.path / f"next{n}.txt").write_text("y\n")
        proc = repo.commit(f"next {n}", check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [
        e for s in SessionLogger(repo.sessions).list_sessions() for e in SessionLogger(repo.sessions).read_session(s)
    ]
    files = [f for e in events for f in e.get("data", {}).get("files", [])]
    assert "caf\\xe9.txt" in files  # the byte kept, as text JSON can hold


def test_a_clone_id_is_never_left_empty_by_a_full_disk(repo: Repo) -> None:
    clone_file = repo.path / ".git" / "sessionlog" / "clone-id"
    clone_file.unlink(missing_ok=True)
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from sessionlog.commits.events import clone_id\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        "try:\n    clone_id(Path(sys.argv[1]))\nexcept OSError as exc:\n    print('refused:', exc.errno)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(repo.path)], capture_output=True, text=True, env=repo.env, check=False
    )
    assert "refused" in proc.stdout, proc.stdout + proc.stderr
    assert not clone_file.exists()  # no empty id left behind
    clone_file.write_text("")  # as an older version left it
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("a")
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("b")
    value = clone_file.read_text().strip()
    assert len(value) == 8 and int(value, 16) >= 0
    assert not list(repo.sessions.glob("git-main-.jsonl"))


def test_lines_an_older_version_spooled_are_moved_into_a_segment_whole(repo: Repo) -> None:
    log(repo, n=1)
    repo.commit("tracked")
    # what an older version left in the git directory: lines chained on from the tracked file
    folder = repo.path / ".git" / "sessionlog" / "spool" / ".ai-agents%2Fsessions"
    folder.mkdir(parents=True)
    elsewhere = SessionLogger(repo.path.parent / "elsewhere", segments=False)
    (repo.path.parent / "elsewhere").mkdir()
    (repo.path.parent / "elsewhere" / "agent_s.jsonl").write_bytes(repo.file("agent_s").read_bytes())
    ids = [str(elsewhere.append_event("agent_s", "tool_call", "codex", "t", data={"k": "v" * 3000}).event_id)
           for _ in range(300)]  # fmt: skip
    spooled = b"".join((repo.path.parent / "elsewhere" / "agent_s.jsonl").read_bytes().splitlines(keepends=True)[1:])
    (folder / "agent_s.jsonl").write_bytes(spooled)
    (repo.path / "c.txt").write_text("c\n")
    repo.commit("moves them")
    assert not (folder / "agent_s.jsonl").exists()
    assert porcelain(repo) == []
    assert (repo.sessions / "agent_s+2.jsonl").read_bytes() == spooled
    logger = SessionLogger(repo.sessions)
    assert [e["event_id"] for e in logger.read_session("agent_s")][1:] == ids
    assert logger.verify_session("agent_s").ok


def test_ci_without_a_range_checks_every_commit(repo: Repo) -> None:
    log(repo, n=3)
    repo.commit("lines")
    assert repo.run("sessionlog", "ci", check=False).returncode == 0
    # a --no-verify commit that deletes the last committed line, then a later one putting it back
    path = repo.file("agent_s")
    original = path.read_bytes()
    path.write_bytes(b"".join(original.splitlines(keepends=True)[:-1]))
    repo.git("add", "-A")
    repo.run("git", "commit", "-q", "--no-verify", "-m", "drop the last line")
    path.write_bytes(original)
    repo.git("add", "-A")
    repo.run("git", "commit", "-q", "--no-verify", "-m", "put it back")
    proc = repo.run("sessionlog", "ci", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "committed line 3 was removed" in proc.stdout


def test_ci_without_a_range_sees_a_merge_that_drops_the_other_side(repo: Repo) -> None:
    repo.git("switch", "-q", "-c", "side")
    log(repo, "side_s")
    repo.commit("side logs")
    repo.git("switch", "-q", "main")
    repo.run("git", "merge", "-q", "-s", "ours", "--no-verify", "side", "-m", "ours")
    proc = repo.run("sessionlog", "ci", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "side_s.jsonl" in proc.stdout and "deleted" in proc.stdout


def test_verify_with_an_unknown_anchor_is_a_usage_error(repo: Repo) -> None:
    log(repo)
    proc = repo.run("sessionlog", "verify", "--anchor", "nosuchrev", ".ai-agents/sessions", check=False)
    assert proc.returncode == 2
    assert "nosuchrev" in proc.stderr


def test_stash_u_takes_the_open_segment_and_pop_brings_it_back(repo: Repo) -> None:
    before = log(repo)
    (repo.path / "code.txt").write_text("v1\n")
    repo.git("stash", "-u")
    assert not repo.file("agent_s").exists()
    during = log(repo)  # a new segment: the stashed one is never made again under its name
    repo.git("stash", "pop")
    repo.commit("after pop")
    assert porcelain(repo) == []
    assert sorted(tree_ids(repo)) == sorted(before + during)
    logger = SessionLogger(repo.sessions)
    assert [e["event_id"] for e in logger.read_session("agent_s")] == before + during
    assert logger.verify_session("agent_s").ok


def test_archiving_a_session_of_several_segments_commits_cleanly(repo: Repo) -> None:
    first = log(repo)
    repo.commit("first segment")
    second = log(repo)
    repo.commit("second segment")
    third = log(repo)  # pending when archived
    assert len(SessionLogger(repo.sessions).segment_paths("agent_s")) == 3
    proc = repo.run("sessionlog", "archive", "agent_s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert SessionLogger(repo.sessions).segment_paths("agent_s") == []
    repo.commit("archive it")
    assert porcelain(repo) == []
    restored = repo.run("sessionlog", "restore", "agent_s")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    repo.commit("restore it")
    logger = SessionLogger(repo.sessions)
    assert [e["event_id"] for e in logger.read_session("agent_s")] == first + second + third
    later = log(repo)  # goes on from the restored line
    assert [e["event_id"] for e in logger.read_session("agent_s")] == first + second + third + later
    assert logger.verify_session("agent_s").ok
    repo.commit("more")
    assert repo.run("sessionlog", "ci", check=False).returncode == 0


def test_the_whole_file_check_takes_a_segment_from_the_line_it_starts_at(repo: Repo) -> None:
    log(repo)
    repo.commit("first")
    log(repo)
    repo.commit("second segment")
    assert (repo.sessions / "agent_s+3.jsonl").exists()
    proc = repo.run("sessionlog-check", check=False)  # as `pre-commit run --all-files` runs it
    assert proc.returncode == 0, proc.stdout + proc.stderr
