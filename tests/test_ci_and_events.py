"""The CI range check, force-pushes, merges, and the repository's own events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "install-hooks")
    repo.log("s1", 3)
    repo.commit("initial")
    return repo


def ci(repo: Repo, *args: str) -> tuple[int, str]:
    proc = repo.run("sessionlog", "ci", *args, check=False, env={"GITHUB_ACTIONS": ""})
    return proc.returncode, proc.stdout + proc.stderr


def repo_log(repo: Repo) -> list[dict[str, object]]:
    files = sorted(repo.sessions.glob("git-*.jsonl"))
    assert len(files) == 1, files
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def test_no_verify_commit_is_named_by_ci(repo: Repo) -> None:
    base = repo.head()
    repo.log("s1", 1)
    repo.commit("fine")
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":5', 1)
    repo.file("s1").write_bytes(raw)
    repo.commit("sneaky", extra=("--no-verify",))
    sneaky = repo.head()
    repo.log("s2", 1)
    repo.commit("later")
    code, out = ci(repo, "--base", base, "--head", "HEAD", "--each-commit")
    assert code == 1
    assert f".ai-agents/sessions/s1.jsonl:1: commit {sneaky[:12]}: committed line 1 was changed or removed" in out
    assert ci(repo, "--base", repo.git("rev-parse", "HEAD~2"), "--head", "HEAD~2")[0] == 0


def test_whole_history_and_clean_range_pass(repo: Repo) -> None:
    repo.log("s1", 2)
    repo.commit("more")
    assert ci(repo, "--each-commit") == (0, "sessionlog ci: session logs intact\n")
    assert ci(repo, "--base", "0" * 40, "--head", "HEAD", "--each-commit")[0] == 0


def test_force_push_rewrite_is_reported(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    repo.run("git", "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.log("s1", 1)
    repo.commit("second")
    repo.git("push", "-q", "origin", "main")
    before = repo.head()
    # rewrite: drop the last commit's line and commit something else instead
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.log("s9", 1)
    repo.commit("rewritten")
    push = repo.run("git", "push", "-q", "--force", "origin", "main", check=False)
    assert push.returncode != 0  # the pre-push shim refuses the rewrite
    assert "is not an ancestor of" in push.stdout + push.stderr
    code, out = ci(repo, "--base", before, "--head", "HEAD", "--each-commit")
    assert code == 1
    assert f"{before[:12]} is not an ancestor of" in out
    assert "s1.jsonl:4: " in out and "committed line 4 was removed (file truncated)" in out


def test_pre_push_refuses_a_bad_no_verify_commit(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    repo.run("git", "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.file("s1").write_bytes(b"".join(repo.file("s1").read_bytes().splitlines(keepends=True)[1:]))
    repo.commit("drop first line", extra=("--no-verify",))
    push = repo.run("git", "push", "-q", "origin", "main", check=False)
    assert push.returncode != 0
    assert "s1.jsonl:1: commit" in push.stdout + push.stderr


def test_commit_events_land_with_the_next_commit(repo: Repo) -> None:
    first = repo.head()
    assert not list(repo.sessions.glob("git-*.jsonl"))  # nothing in the work tree after a commit
    assert repo.git("status", "--porcelain") == ""
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("add a")
    second = repo.head()
    events = repo_log(repo)
    assert [e["data"]["sha"] for e in events] == [first]  # type: ignore[index]
    assert repo.git("show", "--stat", "--format=", "HEAD").count("git-main-") == 1  # committed in the next commit
    assert repo.git("status", "--porcelain") == ""
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("add b")
    events = repo_log(repo)
    assert [e["data"]["sha"] for e in events] == [first, second]  # type: ignore[index]
    assert events[1]["data"]["subject"] == "add a"  # type: ignore[index]
    assert events[1]["data"]["files"][-1] == "a.txt"  # type: ignore[index]
    assert SessionLogger(repo.sessions).verify_session(events[0]["session_id"]).ok  # type: ignore[arg-type]


def test_agent_change_logs_a_handoff_with_open_commitments(repo: Repo) -> None:
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("human work")
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("agent work\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    (repo.path / "c.txt").write_text("c\n")
    repo.commit("flush")
    events = repo_log(repo)
    kinds = [(e["data"]["kind"], e["provenance"]["agent"]) for e in events]  # type: ignore[index]
    assert kinds == [("commit", "user"), ("commit", "user"), ("commit", "claude_code"), ("handoff", "user")]
    handoff = events[3]["data"]
    assert (handoff["from_agent"], handoff["to_agent"]) == ("user", "claude_code")  # type: ignore[index]


def test_session_trailer_links_commit_and_session(repo: Repo) -> None:
    repo.run("sessionlog", "activate", "claude_20251210_1400", "--agent", "claude_code")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("agent commit")
    message = repo.git("log", "-1", "--format=%B")
    assert "Sessionlog-Session: claude_20251210_1400" in message
    assert "Sessionlog-Agent: claude_code" in message
    repo.run("sessionlog", "activate")
    (repo.path / "b.txt").write_text("b\n")
    repo.commit("human commit")
    assert "Sessionlog" not in repo.git("log", "-1", "--format=%B")
    commits = repo.run("sessionlog", "commits", "claude_20251210_1400").stdout.splitlines()
    assert commits == [f"{repo.git('rev-parse', 'HEAD~1')} agent commit"]  # and back: session -> commits
    agent_commit = repo_log(repo)[1]
    assert agent_commit["data"]["session"] == "claude_20251210_1400"  # type: ignore[index]
    assert agent_commit["provenance"]["agent"] == "claude_code"  # type: ignore[index]


def test_two_branches_with_commit_events_merge_cleanly(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    for name in ("f1", "f2"):
        (repo.path / name).write_text(name)
        repo.commit(name)
    repo.git("checkout", "-q", "main")
    for name in ("m1", "m2"):
        (repo.path / name).write_text(name)
        repo.commit(name)
    base = repo.git("rev-list", "--max-parents=0", "HEAD")
    merged = repo.run("git", "merge", "-q", "--no-edit", "feature", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    logs = sorted(p.name.rsplit("-", 1)[0] for p in repo.sessions.glob("git-*.jsonl"))
    assert logs == ["git-feature", "git-main"]
    subjects = []
    for path in repo.sessions.glob("git-*.jsonl"):
        subjects += [json.loads(line)["data"]["subject"] for line in path.read_text().splitlines()]
    assert {"f1", "m1", "initial"} <= set(subjects)  # nothing lost in the merge
    assert ci(repo, "--base", base, "--head", "HEAD", "--each-commit")[0] == 0


def test_handoff_cli_carries_commitments_and_failures(repo: Repo) -> None:
    with repo.logger() as logger:
        logger.append_event(
            "s1",
            "error",
            "claude_code",
            "x",
            failure_ledger=[{"attempt": "deploy", "failure_reason": "403"}],
            open_commitments=[{"commitment": "Deploy", "status": "blocked"}],
        )
    proc = repo.run(
        "sessionlog",
        "handoff",
        "--from",
        "claude_code",
        "--to",
        "codex",
        "--session",
        "s2",
        "--from-session",
        "s1",
        "--summary",
        "taking over the deploy",
    )
    assert proc.stdout.startswith("s2: evt_")
    logger = SessionLogger(repo.sessions)
    assert [c["commitment"] for c in logger.get_open_commitments("s2")] == ["Deploy"]
    assert [f["attempt"] for f in logger.get_failure_history("s2")] == ["deploy"]
    event = logger.read_session("s2")[0]
    assert event["data"]["to_agent"] == "codex" and event["data"]["summary"] == "taking over the deploy"


def test_ci_formats_for_github_and_machines(repo: Repo) -> None:
    base = repo.head()
    repo.file("s1").write_bytes(repo.file("s1").read_bytes()[:-10] + b"\n")
    repo.commit("bad", extra=("--no-verify",))
    proc = repo.run("sessionlog", "ci", "--base", base, check=False, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=.ai-agents/sessions/s1.jsonl,line=3,title=sessionlog::")
    proc = repo.run("sessionlog", "ci", "--base", base, "-o", "json", check=False)
    report = json.loads(proc.stdout)
    assert report["ok"] is False and report["findings"][0]["line"] == 3


def test_partial_commit_leaves_queued_events_for_the_next_full_commit(repo: Repo) -> None:
    (repo.path / "a.txt").write_text("a\n")
    (repo.path / "b.txt").write_text("b\n")
    repo.git("add", "a.txt", "b.txt")
    repo.git("commit", "-q", "-m", "both")
    (repo.path / "a.txt").write_text("a2\n")
    (repo.path / "b.txt").write_text("b2\n")
    repo.git("commit", "-q", "-m", "only a", "--", "a.txt")  # git builds a temporary index
    assert repo.git("show", "--name-only", "--format=", "HEAD") == "a.txt"  # no events staged into it
    assert repo.git("status", "--porcelain") == "M b.txt"
    repo.commit("the rest")
    assert [e["data"]["subject"] for e in repo_log(repo)] == ["initial", "both", "only a"]  # type: ignore[index]
    assert repo.git("status", "--porcelain") == ""


def test_unknown_base_is_a_finding_not_a_pass(repo: Repo) -> None:
    code, out = ci(repo, "--base", "1234567890abcdef1234567890abcdef12345678", "--head", "HEAD")
    assert code == 1
    assert "base is not a commit here" in out


def test_rebase_that_keeps_every_byte_passes_with_a_notice(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    repo.run("git", "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.log("s1", 2)
    repo.commit("feature log")
    repo.git("push", "-q", "origin", "feature")
    before = repo.head()
    repo.git("checkout", "-q", "main")
    (repo.path / "m.txt").write_text("m\n")
    repo.log("s2", 1)
    repo.commit("main moved on")
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")
    push = repo.run("git", "push", "-q", "--force", "origin", "feature", check=False)
    assert push.returncode == 0, push.stdout + push.stderr
    assert "notice: " in push.stderr and "history was rewritten" in push.stderr
    code, out = ci(repo, "--base", before, "--head", "HEAD", "--each-commit")
    assert code == 0, out
    assert "notice:" in out


def test_revert_keeps_the_log_and_a_plain_revert_is_named_with_the_fix(repo: Repo) -> None:
    (repo.path / "code.txt").write_text("v1\n")
    repo.log("s1", 1)
    repo.commit("code and log")
    repo.log("s1", 1)
    repo.commit("more log")
    base = repo.git("rev-list", "--max-parents=0", "HEAD")
    repo.run("sessionlog", "revert", "HEAD~1")
    assert not (repo.path / "code.txt").exists()
    assert len(lines_of(repo)) == 5
    code, out = ci(repo, "--base", base, "--head", "HEAD", "--each-commit")
    assert code == 0, out
    repo.git("revert", "--no-edit", "HEAD")  # plain git: drops the log lines that commit carried
    code, out = ci(repo, "--base", base, "--head", "HEAD", "--each-commit")
    assert code == 1 and "sessionlog revert <commit>" in out


def lines_of(repo: Repo, session: str = "s1") -> list[str]:
    return repo.file(session).read_text().splitlines()


@pytest.mark.parametrize("depth", ["1", "2"])
@pytest.mark.parametrize("base", [None, "0" * 40])
def test_shallow_clone_fails_closed(repo: Repo, tmp_path: Path, depth: str, base: str | None) -> None:
    for n in range(3):
        repo.log("s1", 1)
        repo.commit(f"c{n}")
    lines = repo.file("s1").read_bytes().splitlines(keepends=True)
    forged = [lines[0].replace(b'"i":0', b'"i":8'), *lines[1:]]
    repo.file("s1").write_bytes(b"".join(forged))
    repo.commit("forged, re-chained nothing", extra=("--no-verify",))
    for n in range(2):
        (repo.path / f"x{n}").write_text("x\n")
        repo.commit(f"later {n}")
    clone = Repo.__new__(Repo)
    clone.path, clone.env = tmp_path / "clone", repo.env
    subprocess.run(["git", "clone", "-q", "--depth", depth, f"file://{repo.path}", str(clone.path)], check=True)
    args = ("--head", "HEAD", "--each-commit") if base is None else ("--base", base, "--head", "HEAD", "--each-commit")
    code, out = ci(clone, *args)
    assert code == 1
    assert "shallow clone" in out and "intact" not in out


def test_github_template_checks_a_pull_request_from_its_merge_base(repo: Repo) -> None:
    import yaml
    from conftest import REPO

    steps = yaml.safe_load((REPO / "ci" / "github-actions.yml").read_text())["jobs"]["session-logs"]["steps"]
    repo.git("checkout", "-q", "-b", "feature")
    repo.log("s1", 1)
    repo.commit("feature")
    head = repo.head()
    repo.git("checkout", "-q", "main")
    repo.log("s2", 2)  # main moves on after the branch was cut: the normal case
    repo.commit("main moved on")
    env = {"BASE": repo.head(), "HEAD": head, "EVENT": "pull_request", "GITHUB_ACTIONS": ""}
    proc = repo.run("bash", "-c", steps[-1]["run"], env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain = repo.run("sessionlog", "ci", "--base", env["BASE"], "--head", head, "--each-commit", check=False)
    assert plain.returncode == 1  # what the old template did: main's newer log looks deleted


def test_templates_install_the_revision_the_hook_config_pins(repo: Repo) -> None:
    import re

    from conftest import REPO

    (repo.path / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks: []\n- repo: https://example.invalid/sessionlog\n  rev: v9.9.9\n"
        "  hooks:\n  - id: sessionlog-check\n"
    )
    github = (REPO / "ci" / "github-actions.yml").read_text()
    snippet = re.search(r"<<'PY'\n(.*?)\n\s*PY\n", github, re.S)
    assert snippet is not None
    code = "\n".join(line.removeprefix("          ") for line in snippet.group(1).splitlines())
    out = repo.run(sys.executable, "-c", code).stdout.strip()
    assert out == "git+https://example.invalid/sessionlog@v9.9.9"
    for template in ("github-actions.yml", "gitlab-ci.yml"):
        text = (REPO / "ci" / template).read_text()
        assert "pip install sessionlog" not in text  # another project owns that name on the index


def test_ci_takes_secret_rules_from_the_base_never_from_the_range(repo: Repo) -> None:
    """A pull request that adds a rules file turning the bundled rules off, together with a log line
    holding a token, is checked with the base's rules: the token is found and the change is named."""
    base = repo.head()
    repo.git("checkout", "-q", "-b", "pr")
    rules = repo.path / ".ai-agents" / "session_context" / "secret-rules.toml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text('[extend]\ndisabledRules = ["github-pat", "generic-api-key", "vendor-prefix-token"]\n')
    token = "ghp_" + ("q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gs" * 2)[:36]
    with repo.logger() as logger:
        assert logger.append_event("s9", "tool_call", "codex", "x", data={"note": "placeholder"}).ok
    path = repo.file("s9")
    path.write_bytes(path.read_bytes().replace(b"placeholder", token.encode()))
    repo.commit("turn the rules off and sneak a token in", extra=("--no-verify",))
    code, out = ci(repo, "--base", base, "--head", "HEAD")
    assert code == 1
    assert "unredacted secret: github-pat" in out
    assert "secret-rules.toml changes between" in out
    # in the work tree (the pull request's own rules) the same file looks clean
    assert repo.run("sessionlog", "verify", "--anchor", "", str(path), check=False).returncode == 0


def test_the_templates_install_what_the_base_pins(repo: Repo) -> None:
    import re

    from conftest import REPO

    github = (REPO / "ci" / "github-actions.yml").read_text()
    assert 'git show "$TRUSTED:.pre-commit-config.yaml"' in github
    gitlab = (REPO / "ci" / "gitlab-ci.yml").read_text()
    assert 'git show "$TRUSTED:.pre-commit-config.yaml"' in gitlab
    snippet = re.search(r"<<'PY'\n(.*?)\n\s*PY\n", github, re.S)
    assert snippet is not None
    code = "\n".join(line.removeprefix("          ") for line in snippet.group(1).splitlines())
    trusted = repo.path / "trusted.yaml"
    trusted.write_text(
        "repos:\n- repo: https://example.invalid/sessionlog\n  rev: v1.0.0\n  hooks:\n  - id: sessionlog-check\n"
    )
    (repo.path / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: https://evil.invalid/sessionlog\n  rev: bad\n  hooks:\n  - id: sessionlog-check\n"
    )
    out = repo.run(sys.executable, "-c", code, env={"CONFIG": str(trusted)}).stdout.strip()
    assert out == "git+https://example.invalid/sessionlog@v1.0.0"
