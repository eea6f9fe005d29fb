"""Everyday git under the recommended setup (the real pre-commit framework): nothing logged is lost,
nothing is left behind in the work tree or index, and every commit is logged once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import Repo

from sessionlog import SessionLogger

HOOK_TYPES = ("pre-commit", "pre-merge-commit", "pre-push")

AGENT = """
import sys, time
from sessionlog import SessionLogger
base, count = sys.argv[1], int(sys.argv[2])
ok = 0
with SessionLogger(base) as logger:
    for i in range(count):
        result = logger.append_event("agent_s", "tool_call", "claude_code", "test", data={"i": i})
        ok += bool(result.ok)
        time.sleep(0.004)
print(ok)
"""


def _head_of_project() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, pre_commit_home: str) -> Repo:
    """A repository set up as the README says: the framework with sessionlog-check, then `sessionlog init`
    (which adds the trailer hook as a light shim)."""
    repo = Repo(tmp_path / "repo")
    repo.env["PRE_COMMIT_HOME"] = pre_commit_home
    (repo.path / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {REPO}\n  rev: {_head_of_project()}\n  hooks:\n  - id: sessionlog-check\n"
    )
    repo.run("pre-commit", "install", *[arg for t in HOOK_TYPES for arg in ("--hook-type", t)])
    repo.run("sessionlog", "init")
    (repo.path / "tracked.txt").write_text("v0\n")
    repo.commit("initial")
    return repo


def live_logger(repo: Repo) -> SessionLogger:
    """A logger as an agent has one: in a work tree it writes untracked segments."""
    return repo.logger(segments=None)


def clean(repo: Repo) -> bool:
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    assert status == "", status
    return True


def committed_lines(repo: Repo, session: str, rev: str = "HEAD") -> list[str]:
    """The lines of *session* that *rev* holds, over all its segments, in order."""
    names = repo.git("ls-tree", "--name-only", f"{rev}:.ai-agents/sessions").splitlines()
    ordered = sorted(
        (int(n[len(session) + 1 : -6]) if n != f"{session}.jsonl" else 1, n)
        for n in names
        if n == f"{session}.jsonl" or (n.startswith(f"{session}+") and n.endswith(".jsonl"))
    )
    lines: list[str] = []
    for _, name in ordered:
        lines += repo.git("show", f"{rev}:.ai-agents/sessions/{name}").splitlines()
    return lines


def repo_log_events(repo: Repo) -> list[dict[str, object]]:
    events = []
    for path in sorted(repo.sessions.glob("git-*.jsonl")):
        events += [json.loads(line) for line in path.read_text().splitlines()]
    return events


@pytest.mark.slow
def test_agent_appending_while_commits_stash_and_merge_loses_nothing(repo: Repo) -> None:
    with live_logger(repo) as logger:
        assert logger.append_event("agent_s", "user_message", "user", "test", data={"i": -1}).ok
    (repo.path / "start.txt").write_text("start\n")
    repo.commit("the session is tracked from here on")
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(repo.sessions), "600"], stdout=subprocess.PIPE, text=True, env=repo.env
    )
    try:
        for n in range(4):
            (repo.path / "tracked.txt").write_text(f"unstaged {n}\n")  # the framework stashes this
            (repo.path / f"f{n}.txt").write_text(f"{n}\n")
            repo.git("add", f"f{n}.txt")
            proc = repo.run("git", "commit", "-q", "-m", f"commit {n}")
            assert "Failed" not in proc.stdout + proc.stderr
            repo.git("stash")
            repo.git("stash", "pop")
        repo.git("checkout", "-q", "-b", "side")
        (repo.path / "side.txt").write_text("side\n")
        repo.git("add", "side.txt")
        repo.run("git", "commit", "-q", "-m", "side work")
        repo.git("checkout", "-q", "main")
        repo.git("merge", "-q", "--no-ff", "side", "-m", "merge side")
        repo.git("checkout", "-q", "--", "tracked.txt")
        repo.git("switch", "-q", "-c", "topic")  # switch and rebase while the agent appends
        (repo.path / "topic.txt").write_text("topic\n")
        repo.git("add", "topic.txt")
        repo.run("git", "commit", "-q", "-m", "on topic")
        repo.git("switch", "-q", "main")
        (repo.path / "main.txt").write_text("main\n")
        repo.git("add", "main.txt")
        repo.run("git", "commit", "-q", "-m", "main moves on")
        repo.git("switch", "-q", "topic")
        repo.git("rebase", "-q", "main")
        repo.git("switch", "-q", "main")
        repo.git("merge", "-q", "--ff-only", "topic")
    finally:
        out, _ = agent.communicate(timeout=120)
    assert agent.returncode == 0
    written = int(out.strip())
    assert written == 600
    repo.git("checkout", "-q", "--", "tracked.txt")
    (repo.path / "last.txt").write_text("last\n")
    repo.git("add", "last.txt")
    repo.run("git", "commit", "-q", "-m", "last")
    assert clean(repo)
    logger = live_logger(repo)
    events = logger.read_session("agent_s")
    assert events.errors == []
    assert [e["data"]["i"] for e in events] == list(range(-1, written))  # every ok is there, once, in order
    assert logger.verify_session("agent_s").ok
    committed = committed_lines(repo, "agent_s")
    assert [json.loads(line)["data"]["i"] for line in committed] == list(
        range(-1, written)
    )  # the last commit holds all
    check = repo.run("sessionlog", "ci", "--base", repo.git("rev-list", "--max-parents=0", "HEAD"), "--head", "HEAD",
                     "--each-commit", check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_handoff_between_commits_is_kept_and_the_framework_does_not_crash(repo: Repo) -> None:
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("a")
    proc = repo.run("sessionlog", "handoff", "--from", "alice", "--to", "bob", "--summary", "over to you")
    (repo.path / "b.txt").write_text("b\n")
    repo.git("add", "b.txt")
    commit = repo.run("git", "commit", "-q", "-m", "b", check=False)
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert clean(repo)
    event_id = proc.stdout.split(": ")[-1].strip()
    assert event_id in [e["event_id"] for e in repo_log_events(repo)]


def test_merge_leaves_nothing_staged_and_is_logged_with_its_branch_last_commit(repo: Repo) -> None:
    repo.run("sessionlog", "activate", "claude_20251210_1400", "--agent", "claude_code")
    repo.git("checkout", "-q", "-b", "feature")
    (repo.path / "feat.txt").write_text("feat\n")
    repo.commit("feature work")
    feature_tip = repo.head()
    repo.git("checkout", "-q", "main")
    repo.run("git", "merge", "-q", "--no-ff", "feature")
    assert clean(repo)  # nothing the pre-merge-commit hook staged is left behind
    merge = repo.head()
    message = repo.git("log", "-1", "--format=%(trailers:key=Sessionlog-Session,valueonly)")
    assert message == "claude_20251210_1400"  # a trailer block, not glued to the subject
    repo.git("branch", "-D", "feature")
    repo.git("checkout", "-q", "-b", "elsewhere")
    repo.git("checkout", "-q", "main")  # the next branch switch succeeds
    (repo.path / "next.txt").write_text("next\n")
    repo.commit("next")
    logged = [e["data"]["sha"] for e in repo_log_events(repo) if e["data"].get("kind") in ("commit", "merge")]  # type: ignore[union-attr]
    assert feature_tip in logged and merge in logged
    assert len(logged) == len(set(logged))  # none twice
    assert clean(repo)


def test_every_pushed_branch_is_checked_under_the_framework(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.log("s1", 2)
    repo.commit("log")
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "ok-branch")
    (repo.path / "ok.txt").write_text("ok\n")
    repo.commit("ok")
    repo.git("checkout", "-q", "-b", "evil-branch", "main")
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":7', 1)
    repo.file("s1").write_bytes(raw)
    repo.commit("forged", extra=("--no-verify",))
    push = repo.run("git", "push", "origin", "ok-branch", "evil-branch", check=False)
    assert push.returncode != 0
    assert "committed line 1 was changed" in push.stdout + push.stderr
    remote_refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=remote, capture_output=True,
                                 text=True, check=True).stdout  # fmt: skip
    assert "evil-branch" not in remote_refs


def test_run_all_files_verifies_whole_logs(repo: Repo) -> None:
    repo.log("s1", 3)
    repo.commit("log")
    lines = repo.file("s1").read_bytes().splitlines(keepends=True)
    repo.file("s1").write_bytes(lines[0] + lines[1].replace(b'"i":1', b'"i":9') + lines[2])
    repo.commit("re-chained by hand", extra=("--no-verify",))
    proc = repo.run("pre-commit", "run", "--all-files", check=False)
    assert proc.returncode == 1
    assert "s1.jsonl:3: prev does not match" in proc.stdout


def test_bad_agent_names_are_refused_where_they_enter_and_never_block_commits(repo: Repo) -> None:
    bad = repo.run("sessionlog", "activate", "s1", "--agent", "Renée", check=False)
    assert bad.returncode != 0 and "agent name 'Renée' is not accepted" in bad.stderr
    (repo.path / "a.txt").write_text("a\n")
    repo.git("add", "a.txt")
    env_bad = repo.run("git", "commit", "-q", "-m", "a", env={"SESSIONLOG_AGENT": "bot[1]"}, check=False)
    assert env_bad.returncode == 0
    assert "Sessionlog-Agent" not in repo.git("log", "-1", "--format=%B")
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("b\n\nSessionlog-Agent: Renée")
    for n in range(2):
        (repo.path / f"c{n}.txt").write_text("c\n")
        repo.commit(f"c{n}")  # later commits are not poisoned
    commits = [e for e in repo_log_events(repo) if e["data"].get("subject") == "b"]  # type: ignore[union-attr]
    assert len(commits) == 1
    assert commits[0]["provenance"]["agent"] == "user"  # type: ignore[index]
    assert commits[0]["data"]["agent_trailer"] == "Renée"  # type: ignore[index]


def test_branch_names_that_look_alike_get_their_own_logs_and_merge_cleanly(repo: Repo) -> None:
    from sessionlog.commits.events import branch_slug

    names = ["feature/x", "feature-x", "feature_x", "ä", "ö", "a" * 90 + "1", "a" * 90 + "2"]
    assert len({branch_slug(n) for n in names}) == len(names)
    for name in names[:3]:
        repo.git("checkout", "-q", "-b", name, "main")
        for n in range(2):
            (repo.path / f"{name.replace('/', '_')}{n}.txt").write_text("x\n")
            repo.commit(f"{name} {n}")
    repo.git("checkout", "-q", "main")
    for name in names[:3]:
        repo.run("git", "merge", "-q", "--no-edit", name)
    assert clean(repo)


def test_the_active_session_follows_the_branch(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.run("sessionlog", "activate", "feature_session", "--agent", "codex")
    repo.git("checkout", "-q", "main")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("on main")
    assert "Sessionlog-Session" not in repo.git("log", "-1", "--format=%B")


def test_pending_lines_are_an_untracked_segment_that_the_next_commit_takes(repo: Repo) -> None:
    live = live_logger(repo)
    assert live.append_event("s9", "tool_call", "codex", "x").ok
    assert repo.git("status", "--porcelain", "-uall") == "?? .ai-agents/sessions/s9.jsonl"  # git sees it, untracked
    assert [e["event_type"] for e in live.read_session("s9")] == ["tool_call"]
    (repo.path / "a.txt").write_text("a\n")
    repo.git("add", "a.txt")
    repo.run("git", "commit", "-q", "-m", "a commit of another file takes s9 along")
    assert repo.git("show", "HEAD:.ai-agents/sessions/s9.jsonl").count("\n") == 0  # one line
    assert clean(repo)
    second = live.append_event("s9", "tool_call", "codex", "x")
    assert second.seq == 2  # chained on, in a new segment: the committed file is never written again
    assert repo.git("status", "--porcelain", "-uall") == "?? .ai-agents/sessions/s9+2.jsonl"
    assert live.verify_session("s9").ok


def test_init_beside_the_framework_adds_only_the_light_trailer_shim(repo: Repo) -> None:
    hooks = repo.path / ".git" / "hooks"
    assert "sessionlog hook shim" in (hooks / "prepare-commit-msg").read_text()
    for stage in HOOK_TYPES:  # the framework's own hooks are left as they were
        assert "File generated by pre-commit" in (hooks / stage).read_text()
    repo.run("sessionlog", "activate", "claude_20251210_1400", "--agent", "claude_code")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("with trailers")
    assert repo.git("log", "-1", "--format=%(trailers:key=Sessionlog-Agent,valueonly)") == "claude_code"


@pytest.mark.slow
def test_trailers_through_the_framework_stage_when_it_owns_prepare_commit_msg(
    tmp_path: Path, pre_commit_home: str
) -> None:
    repo = Repo(tmp_path / "fw")
    repo.env["PRE_COMMIT_HOME"] = pre_commit_home
    (repo.path / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {REPO}\n  rev: {_head_of_project()}\n  hooks:\n"
        "  - id: sessionlog-check\n  - id: sessionlog-prepare-commit-msg\n"
    )
    repo.run("pre-commit", "install", *[a for t in (*HOOK_TYPES, "prepare-commit-msg") for a in ("--hook-type", t)])
    framework_hook = (repo.path / ".git" / "hooks" / "prepare-commit-msg").read_text()
    out = repo.run("sessionlog", "init").stdout
    assert "list sessionlog-prepare-commit-msg" in out
    assert (repo.path / ".git" / "hooks" / "prepare-commit-msg").read_text() == framework_hook
    repo.run("sessionlog", "activate", "s_fw", "--agent", "codex")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("with trailers")
    assert repo.git("log", "-1", "--format=%(trailers:key=Sessionlog-Session,valueonly)") == "s_fw"


@pytest.mark.slow
def test_init_merges_sessionlog_into_an_existing_framework_config(tmp_path: Path, pre_commit_home: str) -> None:
    repo = Repo(tmp_path / "fw")
    repo.env["PRE_COMMIT_HOME"] = pre_commit_home
    config = repo.path / ".pre-commit-config.yaml"
    original = (
        "# our hooks\n"
        "repos:\n"
        "  - repo: local  # keep this comment\n"
        "    hooks:\n"
        "      - id: trivial\n"
        "        name: trivial\n"
        "        entry: python3 -c pass\n"
        "        language: system\n"
        "        pass_filenames: false\n"
    )
    config.write_text(original)
    asked = repo.run("sessionlog", "init", check=False)
    assert asked.returncode == 2 and "- id: sessionlog-check" in asked.stderr
    assert config.read_text() == original  # nothing changed until told where the hooks live
    out = repo.run("sessionlog", "init", "--repo", str(REPO), "--rev", _head_of_project()).stdout
    assert "added sessionlog-check" in out and "framework hooks installed" in out
    merged = config.read_text()
    assert merged.startswith(original) and "  - repo: " + str(REPO) in merged  # same indent, comments kept
    again = repo.run("sessionlog", "init", "--repo", str(REPO), "--rev", _head_of_project()).stdout
    assert "lists sessionlog-check already" in again and config.read_text() == merged
    for stage in HOOK_TYPES:
        assert "File generated by pre-commit" in (repo.path / ".git" / "hooks" / stage).read_text()
    repo.run("sessionlog", "activate", "s_merged", "--agent", "codex")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("first")
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("second")  # logs the first through the merged hook
    assert any(e["data"].get("subject") == "first" for e in repo_log_events(repo))  # type: ignore[union-attr]
    assert repo.git("log", "-1", "--format=%(trailers:key=Sessionlog-Session,valueonly)") == "s_merged"


def test_init_names_the_entry_when_repos_is_not_the_last_key(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "fw")
    config = repo.path / ".pre-commit-config.yaml"
    original = "repos: []\ndefault_stages: [pre-commit]\n"
    config.write_text(original)
    proc = repo.run("sessionlog", "init", "--repo", "https://example.com/x", "--rev", "v1", check=False)
    assert proc.returncode == 2 and "`repos:` is not its last key" in proc.stderr
    assert config.read_text() == original
