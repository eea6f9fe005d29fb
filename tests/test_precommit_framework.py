"""The real pre-commit framework drives the hooks through try-repo (installed hooks: test_everyday_git)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import Repo


@pytest.fixture
def repo(tmp_path: Path, pre_commit_home: str) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.env["PRE_COMMIT_HOME"] = pre_commit_home
    repo.log("s1", 3)
    repo.commit("initial")
    return repo


def test_try_repo_refuses_a_reordered_log_and_passes_an_append(repo: Repo) -> None:
    lines = repo.file("s1").read_bytes().splitlines(keepends=True)
    repo.file("s1").write_bytes(lines[0] + lines[2] + lines[1])
    repo.git("add", "-A")
    proc = repo.run("pre-commit", "try-repo", str(REPO), "sessionlog-check", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ".ai-agents/sessions/s1.jsonl:2: committed line 2 was moved" in proc.stdout
    repo.git("checkout", "HEAD", "--", ".ai-agents")
    repo.log("s1", 2)
    repo.git("add", "-A")
    proc = repo.run("pre-commit", "try-repo", str(REPO), "sessionlog-check", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
