"""`sessionlog explain`: a hooked Claude Code session edits two files, fails once, decides and
commits in a real repository with the git hooks installed; a plain clone explains the commit, a
file and a line from the committed logs, and a commit made by hand is not explained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger

HOOK = [sys.executable, "-m", "sessionlog", "hook", "claude-code"]


def _hook(repo: Repo, event: str, **fields: object) -> None:
    body = {"session_id": "s-42", "cwd": str(repo.path), "hook_event_name": event, **fields}
    proc = subprocess.run(
        HOOK, input=json.dumps(body).encode(), cwd=repo.path, env=repo.env, capture_output=True, check=False
    )
    assert proc.returncode == 0 and not proc.stdout, proc.stderr


def _tool(repo: Repo, use_id: str, name: str, tool_input: dict[str, object], response: object) -> None:
    common = {"tool_name": name, "tool_input": tool_input, "tool_use_id": use_id}
    _hook(repo, "PreToolUse", **common)
    _hook(repo, "PostToolUse", **common, tool_response=response)


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, Repo, dict[str, str]]:
    """The agent's repository, a plain clone of it, and the commits by name."""
    repo = Repo(tmp_path_factory.mktemp("explain") / "repo")
    repo.run("sessionlog", "init", "--shims")
    (repo.path / "app.py").write_text("def login(user):\n    return True\n")
    (repo.path / "README.md").write_text("# demo\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "start")
    by_hand_start = repo.git("rev-parse", "HEAD")
    app, readme = repo.path / "app.py", repo.path / "README.md"
    _hook(repo, "UserPromptSubmit", prompt="make login check the password hash", prompt_id="p1")
    new = "def login(user, password):\n    return verify_hash(user.hash, password)\n"
    _tool(repo, "toolu_w", "Write", {"file_path": str(app), "content": new}, {"type": "update"})
    app.write_text(new)
    _tool(repo, "toolu_e", "Edit",
          {"file_path": str(readme), "old_string": "# demo\n", "new_string": "# demo\n\nLogin checks a hash.\n"},
          {"filePath": str(readme)})  # fmt: skip
    readme.write_text("# demo\n\nLogin checks a hash.\n")
    common = {"tool_name": "Bash", "tool_input": {"command": "pytest -q app.py"}, "tool_use_id": "toolu_t"}
    _hook(repo, "PreToolUse", **common)
    _hook(repo, "PostToolUseFailure", **common, error="Exit code 1\nNameError: verify_hash")
    repo.run("sessionlog", "append", "--session", "claude_code-s-42", "--type", "decision", "--agent", "claude_code",
             "--source", "plan",
             "--data", json.dumps({"decision": "import verify_hash from passlib", "rationale": "no own crypto"}))  # fmt: skip
    made = repo.run("git", "commit", "-am", "Check the password hash").stdout
    _tool(repo, "toolu_c", "Bash", {"command": "git commit -am 'Check the password hash'"},
          {"stdout": made, "stderr": "", "interrupted": False})  # fmt: skip
    agent_commit = repo.git("rev-parse", "HEAD")
    (repo.path / "notes.txt").write_text("by hand\n")
    repo.git("add", "-A")  # the session's last lines go with this commit too
    repo.git("commit", "-qm", "Notes by hand")
    where = tmp_path_factory.mktemp("explain") / "clone"
    repo.git("clone", "-q", str(repo.path), str(where))
    clone = Repo(where)  # a plain clone: no hooks, no git-directory state, only what was committed
    return repo, clone, {"agent": agent_commit, "hand": repo.git("rev-parse", "HEAD"), "start": by_hand_start}


def _explain(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.run(sys.executable, "-m", "sessionlog", "explain", *args, check=False)


def test_a_commit_is_explained_by_its_prompt_decision_failure_and_edits(
    worked: tuple[Repo, Repo, dict[str, str]],
) -> None:
    repo, clone, commits = worked
    logged = {e["data"].get("source_id"): e for e in SessionLogger(clone.sessions).read_session("claude_code-s-42")}
    proc = _explain(clone, commits["agent"][:10], "-o", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["commit"]["sha"] == commits["agent"] and sorted(out["files"]) == ["README.md", "app.py"]
    [part] = out["sessions"]
    assert part["session"] == "claude_code-s-42" and part["agents"] == ["claude_code"]
    assert any("made it" in why for why in part["why"])
    assert [p["text"] for p in part["prompts"]] == ["make login check the password hash"]
    assert [d["text"] for d in part["decisions"]] == ["import verify_hash from passlib (because: no own crypto)"]
    assert [f["event"] for f in part["failures"]] == [logged["toolu_t:error"]["event_id"]]
    assert [(c["tool"], c["how"], c["event_id"]) for c in out["calls"]["app.py"]] == [
        ("Write", "edit", logged["toolu_w"]["event_id"]),
        ("Bash", "shell", logged["toolu_t"]["event_id"]),
    ]
    assert out["calls"]["app.py"][1]["failed"] is True
    assert [c["event_id"] for c in out["calls"]["README.md"]] == [logged["toolu_e"]["event_id"]]
    text = _explain(clone, commits["agent"]).stdout
    assert "asked   " in text and "make login check the password hash" in text and "✗ failed" in text
    # the same answer in the agent's own repository
    assert json.loads(_explain(repo, commits["agent"][:10], "-o", "json").stdout) == out


def test_a_line_is_explained_by_the_edit_that_wrote_it(worked: tuple[Repo, Repo, dict[str, str]]) -> None:
    _, clone, commits = worked
    logged = {e["data"].get("source_id"): e for e in SessionLogger(clone.sessions).read_session("claude_code-s-42")}
    out = json.loads(_explain(clone, "app.py:2", "-o", "json").stdout)
    assert out["commit"]["sha"] == commits["agent"]
    assert out["line"]["text"] == "    return verify_hash(user.hash, password)"
    assert out["line"]["written_by"]["event_id"] == logged["toolu_w"]["event_id"]
    text = _explain(clone, "README.md:3").stdout
    assert f"written by Edit {logged['toolu_e']['event_id']}" in text
    # a whole file: its last commit, that file's calls only
    assert "Write" in _explain(clone, "app.py").stdout


def test_a_commit_made_by_hand_is_not_explained(worked: tuple[Repo, Repo, dict[str, str]]) -> None:
    _, clone, commits = worked
    for rev in (commits["hand"], commits["start"]):
        proc = _explain(clone, rev)
        assert proc.returncode == 1 and "not explained" in proc.stdout
    assert json.loads(_explain(clone, "notes.txt:1", "-o", "json").stdout)["explained"] is False
    bad = _explain(clone, "no-such-thing")
    assert bad.returncode == 2 and "neither a commit nor a file" in bad.stderr


def test_a_stranger_trailer_naming_no_session_explains_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    (repo.path / "x").write_text("x\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "x\n\nSessionlog-Session: ../../etc/passwd")
    assert _explain(repo, "HEAD").returncode == 1
