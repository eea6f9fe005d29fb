"""Finding the repository as git does: a stranger's `.git` in a parent folder is not this folder's
repository, and no symlink between the work tree top and a session file is followed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger
from sessionlog.git.discovery import work_tree_of

STRANGER = 54321


def planted_parent(tmp_path: Path) -> tuple[Path, Path]:
    """A parent folder with a real repository in it, and a plain folder below (not a repository)."""
    parent = tmp_path / "parent"
    subprocess.run(["git", "init", "-q", str(parent)], check=True)
    work = parent / "work"
    work.mkdir()
    return parent, work


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_parent_repository_owned_by_another_user_is_not_used(tmp_path: Path) -> None:
    parent, work = planted_parent(tmp_path)
    for path in [parent, *parent.rglob("*")]:
        if work not in (path, *path.parents):
            os.lchown(path, STRANGER, STRANGER)
    assert work_tree_of(str(work / ".ai-agents" / "sessions")) is None  # git says "dubious ownership" too
    git = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=work, capture_output=True, text=True, check=False)
    assert git.returncode != 0 and "dubious ownership" in git.stderr
    logger = SessionLogger(work / ".ai-agents" / "sessions")
    assert logger.append_event("s", "tool_call", "codex", "t").ok
    assert (work / ".ai-agents" / "sessions" / "s.jsonl").exists()  # written as outside git
    assert not (parent / ".git" / "sessionlog").exists()  # nothing went into the stranger's .git


def test_safe_directory_lets_a_repository_of_another_user_count(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    parent, work = planted_parent(tmp_path)
    os.chown(parent, STRANGER, STRANGER)
    os.chown(parent / ".git", STRANGER, STRANGER)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "config", "--global", "safe.directory", str(parent)], env={**os.environ, **env}, check=True)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert work_tree_of(str(work)) == (str(parent), str(parent / ".git"))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_a_dot_git_that_is_not_a_repository_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "fake" / ".git").mkdir(parents=True)  # an empty folder named .git
    (tmp_path / "fake" / ".git" / "sessionlog").mkdir()
    assert work_tree_of(str(tmp_path / "fake" / "inner")) is None
    logger = SessionLogger(tmp_path / "fake" / "inner" / "sessions")
    assert logger.append_event("s", "tool_call", "codex", "t").ok
    assert not (tmp_path / "fake" / ".git" / "sessionlog" / "segments").exists()


def test_git_ceiling_directories_stop_the_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent, work = planted_parent(tmp_path)
    assert work_tree_of(str(work)) == (str(parent), str(parent / ".git"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(parent))
    assert work_tree_of(str(work)) is None


def test_a_committed_ai_agents_symlink_is_refused_by_appends_and_the_commit_check(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.path / ".ai-agents").symlink_to(outside)
    proc = repo.commit("a stranger's pull request links .ai-agents away", check=False)
    assert proc.returncode == 1
    assert ".ai-agents: must be a folder, not a symlink" in proc.stdout + proc.stderr
    repo.run("git", "commit", "-q", "--no-verify", "-m", "committed anyway")
    result = SessionLogger(repo.sessions).append_event("s", "tool_call", "codex", "t")
    assert not result.ok and "symlink" in str(result.error)
    assert list(outside.rglob("*")) == []  # nothing written outside the repository
    ci = repo.run("sessionlog", "ci", check=False)
    assert ci.returncode == 1 and "not a symlink" in ci.stdout
