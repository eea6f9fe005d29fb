"""Every commit form in every setup the README offers, on real git and the real pre-commit framework.

After each form `git status --porcelain` is empty (where a form leaves session lines for the next
commit, they are untracked files, never staged and never lost), every append that returned ok is
committed exactly once, and `sessionlog verify` and `sessionlog ci` over the whole history pass.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import Repo

from sessionlog import SessionLogger

HOOK_TYPES = ("pre-commit", "pre-merge-commit", "pre-push")
# shims-cold: the same hooks with the warm checker turned off, which must give the same answers
SETUPS = ("framework", "framework+init", "shims", "shims-cold", "foreign-hook")


def _project_head() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def set_up(repo: Repo, setup: str, pre_commit_home: str) -> None:
    repo.env["PRE_COMMIT_HOME"] = pre_commit_home
    if setup.startswith("framework"):
        (repo.path / ".pre-commit-config.yaml").write_text(
            f"repos:\n- repo: {REPO}\n  rev: {_project_head()}\n  hooks:\n  - id: sessionlog-check\n"
        )
        repo.run("pre-commit", "install", *[arg for t in HOOK_TYPES for arg in ("--hook-type", t)])
    if setup == "shims-cold":
        repo.env["SESSIONLOG_HOOKD"] = "0"
    if setup in {"framework+init", "shims", "shims-cold"}:
        repo.run("sessionlog", "init")
    if setup == "foreign-hook":
        hook = repo.path / ".git" / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\n# another tool's hook\nexit 0\n")
        hook.chmod(0o755)
        proc = repo.run("sessionlog", "init", check=False)
        assert proc.returncode == 1 and "nothing installed" in proc.stdout  # said up front, nothing changed
        assert "git add -A" in proc.stdout  # ...and what to run instead
    (repo.path / "code.txt").write_text("v0\n")
    (repo.path / "other.txt").write_text("v0\n")
    repo.commit("initial")


class Agent:
    """An agent logging into one session: a long-lived logger, and now and then a fresh one (as
    each agent hook is a new process). Remembers every event id an append returned ok for."""

    def __init__(self, sessions: Path, session: str = "agent_s") -> None:
        self.sessions = sessions
        self.session = session
        self.logger = SessionLogger(sessions)
        self.ok: list[str] = []

    def log(self, n: int = 2) -> None:
        for i in range(n):
            logger = self.logger if i % 2 == 0 else SessionLogger(self.sessions)
            result = logger.append_event(self.session, "tool_call", "claude_code", "test", data={"n": len(self.ok)})
            assert result.ok, result.error
            assert result.event_id is not None
            self.ok.append(result.event_id)


def committed_ids(repo: Repo, session: str, rev: str = "HEAD") -> Counter[str]:
    """How often each event id of *session* is in the files *rev* holds."""
    names = repo.git("ls-tree", "--name-only", f"{rev}:.ai-agents/sessions").splitlines()
    found: Counter[str] = Counter()
    for name in names:
        if name == f"{session}.jsonl" or name.startswith(f"{session}+"):
            for line in repo.git("show", f"{rev}:.ai-agents/sessions/{name}").splitlines():
                found[json.loads(line)["event_id"]] += 1
    return found


def porcelain(repo: Repo) -> list[str]:
    return repo.run("git", "status", "--porcelain", "--untracked-files=all").stdout.splitlines()


def only_pending_segments(repo: Repo) -> bool:
    """Nothing but untracked session files: lines waiting for the next commit, never staged."""
    return all(line.startswith("?? .ai-agents/sessions/") and line.endswith(".jsonl") for line in porcelain(repo))


def assert_committed(repo: Repo, agent: Agent, *, rev: str = "HEAD") -> None:
    counts = committed_ids(repo, agent.session, rev)
    assert [i for i in agent.ok if counts[i] != 1] == [], "appends not committed exactly once"
    assert set(counts) <= set(agent.ok)


def settle(repo: Repo, agent: Agent, hooked: bool, form: str) -> None:
    """After *form*: clean where a hook staged the lines; otherwise only pending segments, which
    `git add -A && git commit` then takes."""
    if hooked:
        assert porcelain(repo) == [], f"{form}: {porcelain(repo)}"
    else:
        assert only_pending_segments(repo), f"{form}: {porcelain(repo)}"
        repo.commit(f"take the lines left after {form}")
        assert porcelain(repo) == []
    assert_committed(repo, agent)


@pytest.mark.slow
@pytest.mark.parametrize("setup", SETUPS)
def test_every_commit_form_leaves_a_clean_tree_and_commits_each_line_once(
    tmp_path: Path, pre_commit_home: str, setup: str
) -> None:
    repo = Repo(tmp_path / "repo")
    set_up(repo, setup, pre_commit_home)
    hooked = setup != "foreign-hook"
    agent = Agent(repo.sessions)

    # git add -A && git commit, with a new file
    agent.log()
    (repo.path / "new.txt").write_text("new\n")
    repo.git("add", "-A")
    repo.run("git", "commit", "-q", "-m", "add -A")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # git commit -a, with a modified tracked file
    agent.log()
    (repo.path / "code.txt").write_text("v1\n")
    repo.run("git", "commit", "-q", "-a", "-m", "commit -a")
    settle(repo, agent, hooked, "commit -a")

    # git commit <paths>: the session lines may stay pending, never staged
    agent.log()
    (repo.path / "code.txt").write_text("v2\n")
    (repo.path / "other.txt").write_text("v2\n")
    repo.run("git", "commit", "-q", "-m", "commit paths", "--", "code.txt")
    assert repo.git("diff", "--cached", "--name-only") == ""
    assert " M other.txt" in porcelain(repo)
    assert all(line.startswith("??") for line in porcelain(repo) if "sessions" in line)
    repo.run("git", "commit", "-q", "-a", "-m", "the rest")
    settle(repo, agent, hooked, "commit -a after commit <paths>")

    # a commit of session lines only
    agent.log()
    repo.git("add", "-A")
    repo.run("git", "commit", "-q", "-m", "session lines only")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # git commit --amend, with nothing but pending lines
    agent.log()
    repo.run("git", "commit", "-q", "--amend", "-m", "amended")
    settle(repo, agent, hooked, "commit --amend")

    # a commit of another file while session lines are pending
    agent.log()
    (repo.path / "third.txt").write_text("third\n")
    repo.git("add", "third.txt")
    repo.run("git", "commit", "-q", "-m", "other files")
    settle(repo, agent, hooked, "commit of other files")

    # git stash / pop with lines pending (and lines logged while stashed)
    agent.log()
    (repo.path / "code.txt").write_text("v3\n")
    repo.git("stash")
    agent.log()
    repo.git("stash", "pop")
    agent.log()
    repo.commit("after stash pop")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # git switch with lines pending; the same session logs on two branches, which then merge
    agent.log()
    repo.git("switch", "-q", "-c", "feature")
    agent.log()
    (repo.path / "feature.txt").write_text("f\n")
    repo.commit("on feature")
    agent.log()  # pending while switching back
    repo.git("switch", "-q", "main")
    agent.log()
    (repo.path / "main.txt").write_text("m\n")
    repo.commit("on main")
    assert porcelain(repo) == []
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # fast-forward merge
    repo.git("switch", "-q", "-c", "ff")
    agent.log()
    (repo.path / "ff.txt").write_text("ff\n")
    repo.commit("on ff")
    repo.git("switch", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "ff")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # a merge with a conflict in another file, resolved, lines pending meanwhile
    repo.git("switch", "-q", "-c", "clash")
    (repo.path / "code.txt").write_text("clash\n")
    agent.log()
    repo.commit("clash side")
    repo.git("switch", "-q", "main")
    (repo.path / "code.txt").write_text("main side\n")
    agent.log()
    repo.commit("main side")
    merge = repo.run("git", "merge", "-q", "clash", "-m", "merge clash", check=False)
    assert merge.returncode != 0 and "code.txt" in merge.stdout + merge.stderr
    agent.log()
    (repo.path / "code.txt").write_text("resolved\n")
    repo.git("add", "code.txt")
    repo.run("git", "commit", "-q", "--no-edit")
    settle(repo, agent, hooked, "resolved merge")

    # rebase a branch with lines pending
    repo.git("switch", "-q", "-c", "topic")
    agent.log()
    (repo.path / "topic.txt").write_text("t\n")
    repo.commit("on topic")
    repo.git("switch", "-q", "main")
    agent.log()
    (repo.path / "main2.txt").write_text("m2\n")
    repo.commit("main moves on")
    repo.git("switch", "-q", "topic")
    agent.log()  # pending during the rebase
    repo.git("rebase", "-q", "main")
    repo.commit("after the rebase")
    assert porcelain(repo) == []
    assert_committed(repo, agent)
    repo.git("switch", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "topic")

    # cherry-pick a commit that carries session lines, then merge its branch too
    repo.git("switch", "-q", "-c", "pick")
    agent.log()
    (repo.path / "pick.txt").write_text("p\n")
    repo.commit("to be picked")
    repo.git("switch", "-q", "main")
    repo.git("cherry-pick", "pick")
    assert porcelain(repo) == []
    repo.git("merge", "-q", "--no-ff", "pick", "-m", "merge pick")
    assert porcelain(repo) == []
    assert_committed(repo, agent)

    # revert a commit (with lines pending): git revert would take its session lines out too
    # (every commit made through the hook carries some), so sessionlog revert reverts the code
    (repo.path / "code.txt").write_text("to revert\n")
    agent.log()
    repo.commit("code and lines")
    agent.log()
    repo.run("sessionlog", "revert", "HEAD")
    assert (repo.path / "code.txt").read_text() == "resolved\n"
    settle(repo, agent, hooked, "sessionlog revert")

    # a linked worktree logs and commits on its own branch
    worktree = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(worktree), "-b", "wt")
    elsewhere = Agent(worktree / ".ai-agents" / "sessions", session="wt_s")
    elsewhere.log()
    (worktree / "wt.txt").write_text("wt\n")
    repo.run("git", "-C", str(worktree), "add", "-A")
    repo.run("git", "-C", str(worktree), "commit", "-q", "-m", "in the worktree")
    assert repo.git("-C", str(worktree), "status", "--porcelain", "--untracked-files=all") == ""
    assert_committed(repo, elsewhere, rev="wt")

    assert_committed(repo, agent)
    verify = repo.run("sessionlog", "verify", ".ai-agents/sessions", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    ci = repo.run("sessionlog", "ci", check=False)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    events = SessionLogger(repo.sessions).read_session(agent.session)
    assert [e["event_id"] for e in events] == agent.ok  # readers agree: every line, in order
    listed = {s["session_id"]: s for s in json.loads(repo.run("sessionlog", "sessions", "-o", "json").stdout)}
    assert listed[agent.session]["events"] == len(agent.ok)
    assert len(repo.run("sessionlog", "show", agent.session).stdout.splitlines()) == len(agent.ok)
