"""The real pre-commit framework drives the hooks: try-repo and an installed post-commit hook."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import Repo

pytestmark = pytest.mark.skipif(
    shutil.which("pre-commit") is None and not (Path(__file__).parent.parent / ".venv/bin/pre-commit").exists(),
    reason="pre-commit not installed",
)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("pre-commit-home"))


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


def test_installed_post_commit_hook_logs_commits_without_failing(repo: Repo) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    config = (
        f"repos:\n- repo: {REPO}\n  rev: {head}\n  hooks:\n"
        "  - id: sessionlog-check\n  - id: sessionlog-log-commit\n  - id: sessionlog-prepare-commit-msg\n"
    )
    (repo.path / ".pre-commit-config.yaml").write_text(config)
    repo.run(
        "pre-commit",
        "install",
        "--hook-type",
        "pre-commit",
        "--hook-type",
        "post-commit",
        "--hook-type",
        "prepare-commit-msg",
    )
    (repo.path / "a.txt").write_text("a\n")
    first = repo.commit("first with hooks")
    assert "Failed" not in first.stdout + first.stderr
    sha = repo.head()
    assert repo.git("status", "--porcelain") == ""  # post-commit touched no tracked file
    (repo.path / "b.txt").write_text("b\n")
    second = repo.commit("second with hooks", extra=())
    assert "Failed" not in second.stdout + second.stderr
    logs = list(repo.sessions.glob("git-main-*.jsonl"))
    assert len(logs) == 1
    events = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert events[0]["data"]["sha"] == sha
    assert logs[0].name in repo.git("show", "--name-only", "--format=", "HEAD")
