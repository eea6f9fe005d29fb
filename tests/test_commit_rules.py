"""Every way to break committed history is refused by a real `git commit`; every legitimate one passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import Repo

from sessionlog import LogManager

TOKEN = b"ghp_q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gsq7Xk2"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "install-hooks")
    (repo.path / "README").write_text("hi\n")
    repo.log("s1", 3)
    repo.commit("initial")
    return repo


def refused(repo: Repo, *needles: str) -> str:
    proc = repo.commit("tamper", check=False)
    assert proc.returncode != 0, "the commit should have been refused"
    out = proc.stdout + proc.stderr
    for needle in needles:
        assert needle in out, out
    return out


def lines(repo: Repo, session: str = "s1") -> list[bytes]:
    return repo.file(session).read_bytes().splitlines(keepends=True)


def write(repo: Repo, parts: list[bytes], session: str = "s1") -> None:
    repo.file(session).write_bytes(b"".join(parts))


def test_append_and_new_session_pass(repo: Repo) -> None:
    repo.log("s1", 2)
    repo.log("s2", 1)
    repo.commit("more")
    assert repo.git("log", "--format=%s", "-1") == "more"


def test_edit_of_a_committed_line_is_refused(repo: Repo) -> None:
    old = lines(repo)
    write(repo, [old[0], old[1].replace(b'"i":1', b'"i":7'), old[2]])
    refused(repo, ".ai-agents/sessions/s1.jsonl:2: committed line 2 was changed or removed")


def test_deleting_a_line_is_refused(repo: Repo) -> None:
    old = lines(repo)
    write(repo, [old[0], old[2]])
    refused(repo, "s1.jsonl:2: committed line 2 was")


def test_reordering_is_refused(repo: Repo) -> None:
    old = lines(repo)
    write(repo, [old[0], old[2], old[1]])
    refused(repo, "s1.jsonl:2: committed line 2 was moved")


def test_truncation_is_refused(repo: Repo) -> None:
    write(repo, lines(repo)[:1])
    refused(repo, "s1.jsonl:2: committed lines 2-3 were removed (file truncated)")


def test_insert_in_the_middle_is_refused(repo: Repo) -> None:
    old = lines(repo)
    write(repo, [old[0], old[1], old[1], old[2]])
    refused(repo, "s1.jsonl:3: committed line 3 was moved")


def test_deleting_the_file_is_refused(repo: Repo) -> None:
    repo.file("s1").unlink()
    refused(repo, "s1.jsonl: committed session log deleted")


def test_renaming_the_file_is_refused(repo: Repo) -> None:
    repo.git("mv", str(repo.file("s1")), str(repo.sessions / "renamed.jsonl"))
    refused(repo, "s1.jsonl: committed session log deleted (or renamed)")


def test_replacing_with_a_symlink_is_refused(repo: Repo) -> None:
    target = repo.path / "elsewhere.jsonl"
    target.write_bytes(repo.file("s1").read_bytes())
    repo.file("s1").unlink()
    os.symlink("../../elsewhere.jsonl", repo.file("s1"))
    refused(repo, "s1.jsonl: session log turned into a symlink")


def test_invalid_appended_line_is_refused(repo: Repo) -> None:
    with repo.file("s1").open("ab") as out:
        out.write(
            b'{"event_id":"evt_0123abcd","timestamp":"noon","event_type":"tool_call","provenance":{"source":"s","agent":"a"}}\n'
        )
    out = refused(repo, "s1.jsonl:4: $.timestamp: 'noon' is not a 'date-time'")
    assert "s1.jsonl:4: event has no chain fields" in out


def test_unredacted_secret_appended_by_hand_is_refused(repo: Repo) -> None:
    with repo.logger() as logger:
        logger.append_event("s1", "tool_call", "codex", "x", data={"note": "placeholder"})
    raw = repo.file("s1").read_bytes().replace(b"placeholder", TOKEN)
    # keep the chain intact so only the secret is wrong
    repo.file("s1").write_bytes(raw)
    refused(repo, "s1.jsonl:4: unredacted secret: github-pat at $.data.note")


@pytest.mark.parametrize(
    "spelled",
    [b"\\u0067" + TOKEN[1:], TOKEN[:4] + b"\\u0051" + TOKEN[5:], b"\\u002d----BEGIN RSA PRIVATE KEY-----\\nMIIE"],
)
def test_a_secret_spelled_with_json_escapes_is_refused(repo: Repo, spelled: bytes) -> None:
    with repo.logger() as logger:
        logger.append_event("s1", "tool_call", "codex", "x", data={"note": "placeholder"})
    repo.file("s1").write_bytes(repo.file("s1").read_bytes().replace(b"placeholder", spelled))
    out = refused(repo, "s1.jsonl:4: unredacted secret: ")
    assert "at $.data.note" in out
    proc = repo.run("sessionlog", "verify", str(repo.file("s1")), check=False)
    assert proc.returncode == 1 and "unredacted secret" in proc.stdout


def test_archive_and_restore_pass(repo: Repo) -> None:
    with repo.logger() as logger:
        logger.append_event("old", "tool_call", "codex", "x", timestamp="2020-01-01T00:00:00Z")
    repo.commit("old session")
    assert LogManager(repo.sessions).cleanup_old_sessions(older_than_days=30) == 1
    repo.commit("archive")
    assert (repo.sessions / "archive" / "old.jsonl.gz").exists()
    assert LogManager(repo.sessions).restore_session("old")
    repo.log("old", 1)
    repo.commit("restore and continue")


def test_archive_with_different_content_is_refused(repo: Repo) -> None:
    import gzip

    (repo.sessions / "archive").mkdir()
    (repo.sessions / "archive" / "s1.jsonl.gz").write_bytes(gzip.compress(b"".join(lines(repo)[:2])))
    repo.file("s1").unlink()
    refused(repo, "archive/s1.jsonl.gz: does not decompress to exactly the removed")


def test_error_output_names_file_and_line_for_an_editor(repo: Repo) -> None:
    old = lines(repo)
    write(repo, [old[0].replace(b"claude_code", b"claude_codX"), *old[1:]])
    out = refused(repo)
    assert any(line.startswith(".ai-agents/sessions/s1.jsonl:1: ") for line in out.splitlines())


def test_legacy_log_committed_then_appended_passes(repo: Repo) -> None:
    from conftest import original

    legacy = original("test_session_001.jsonl").read_bytes()
    repo.file("test_session_001").write_bytes(legacy)
    repo.commit("import the original implementation's log")
    repo.log("test_session_001", 2)
    repo.commit("continue it")
    assert repo.file("test_session_001").read_bytes().startswith(legacy)


def test_partially_staged_log_is_checked_as_staged(repo: Repo) -> None:
    repo.log("s1", 1)
    repo.git("add", "-A")
    repo.log("s1", 1)  # appended after staging: the work tree no longer matches the index
    proc = repo.commit("partial", all_files=False)
    assert proc.returncode == 0
    repo.git("add", "-A")
    old = lines(repo)
    write(repo, [old[0], old[1].replace(b'"i":1', b'"i":8'), *old[2:]])  # a staged edit, hidden by a clean work tree?
    repo.git("add", "-A")
    write(repo, old)
    proc = repo.commit("sneaky staged edit", all_files=False, check=False)
    assert proc.returncode != 0
    assert "s1.jsonl:2: committed line 2 was changed" in proc.stdout + proc.stderr


def test_mode_change_is_refused(repo: Repo) -> None:
    repo.file("s1").chmod(0o755)
    refused(repo, "s1.jsonl: mode changed from 100644 to 100755")


def test_rebased_branch_with_its_own_session_passes(repo: Repo) -> None:
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.log("feature_session", 2, agent="codex")
    repo.commit("feature work")
    repo.log("feature_session", 1, agent="codex")
    repo.commit("more feature work")
    repo.git("checkout", "-q", "main")
    repo.log("s1", 1)
    repo.commit("main work")
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")
    proc = repo.run("sessionlog", "ci", "--base", base, "--head", "feature", "--each-commit", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(repo.logger().read_session("feature_session")) == 3


def test_session_archived_while_its_writer_kept_going_passes(repo: Repo) -> None:
    import gzip

    with repo.logger() as writer:
        assert writer.append_event("busy", "tool_call", "codex", "x", timestamp="2020-01-01T00:00:00Z").ok
        repo.commit("busy session")
        assert writer.append_event("busy", "tool_call", "codex", "x", timestamp="2020-01-01T00:01:00Z").ok
        assert LogManager(repo.sessions).cleanup_old_sessions(older_than_days=30) == 1
        assert writer.append_event("busy", "tool_call", "codex", "x").ok  # reopens: a fresh file, seq 1
    repo.commit("archived, and the session went on")
    archived = gzip.decompress((repo.sessions / "archive" / "busy.jsonl.gz").read_bytes())
    assert len(archived.splitlines()) == 2 and len(lines(repo, "busy")) == 1


def test_restart_without_an_archive_of_the_committed_bytes_is_refused(repo: Repo) -> None:
    import gzip

    (repo.sessions / "archive").mkdir()
    (repo.sessions / "archive" / "s1.jsonl.gz").write_bytes(gzip.compress(lines(repo)[0]))  # only line 1
    repo.file("s1").unlink()
    repo.log("s1", 1)
    refused(repo, "s1.jsonl:1: committed line 1 was changed or removed")


def test_autocrlf_work_tree_neither_blocks_appends_nor_lets_a_change_through(repo: Repo) -> None:
    repo.git("rm", "-q", "--cached", ".gitattributes")
    (repo.path / ".gitattributes").unlink()
    repo.commit("no attributes")
    repo.git("config", "core.autocrlf", "true")
    repo.file("s1").unlink()
    repo.git("checkout", "--", ".ai-agents")  # checked out again, now with CRLF endings
    assert b"\r\n" in repo.file("s1").read_bytes()
    repo.log("s1", 2)
    proc = repo.commit("append after a CRLF checkout", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":4', 1)
    repo.file("s1").write_bytes(raw)
    refused(repo, "s1.jsonl:1: committed line 1 was changed")


def test_shims_run_without_the_environment_on_path(repo: Repo) -> None:
    repo.log("s1", 1)
    repo.git("add", "-A")
    proc = repo.run("git", "commit", "-q", "-m", "from an IDE", env={"PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":4', 1)
    repo.file("s1").write_bytes(raw)
    repo.git("add", "-A")
    proc = repo.run("git", "commit", "-q", "-m", "tamper", env={"PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 1 and "committed line 1 was changed" in proc.stdout + proc.stderr


def test_install_hooks_beside_the_framework_changes_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "fw")
    hooks = repo.path / ".git" / "hooks"
    framework = "#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n"
    (hooks / "pre-commit").write_text(framework)
    before = sorted(p.name for p in hooks.iterdir())
    proc = repo.run("sessionlog", "install-hooks", check=False)
    assert proc.returncode == 1
    assert "nothing installed" in proc.stdout and "pre-commit install --hook-type" in proc.stdout
    assert sorted(p.name for p in hooks.iterdir()) == before
    assert (hooks / "pre-commit").read_text() == framework


def _trailer(repo: Repo, key: str = "Sessionlog-Session") -> str:
    return repo.git("log", "-1", f"--format=%(trailers:key={key},valueonly)")


def test_trailer_shim_adds_what_the_commit_hook_left_and_nothing_stale(repo: Repo) -> None:
    repo.run("sessionlog", "activate", "s_trail", "--agent", "claude_code")
    (repo.path / "a.txt").write_text("a\n")
    repo.commit("first")
    assert _trailer(repo) == "s_trail" and _trailer(repo, "Sessionlog-Agent") == "claude_code"
    left = repo.path / ".git" / "sessionlog" / "trailers"
    assert not left.exists()  # used once
    # a refused commit leaves no trailers behind
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":4', 1)
    repo.file("s1").write_bytes(raw)
    refused(repo, "committed line 1 was changed")
    assert not left.exists()
    repo.git("checkout", "--", ".ai-agents")
    # trailers left at another HEAD (a commit aborted after the commit hook) are not lent:
    # without the commit hook (--no-verify) the trailer hook works them out itself
    left.write_text("0" * 40 + "\nSessionlog-Session: stale\n")
    (repo.path / "b.txt").write_text("b\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "no commit hook")
    assert _trailer(repo) == "s_trail" and not left.exists()
    repo.run("sessionlog", "activate")  # nothing active: no trailers
    (repo.path / "c.txt").write_text("c\n")
    repo.commit("nothing active")
    assert _trailer(repo) == "" and not left.exists()


def test_trailer_shim_handles_values_with_spaces_and_merge_messages(repo: Repo) -> None:
    repo.run("sessionlog", "activate", "s_merge", "--agent", "Claude Code (opus)")
    repo.git("checkout", "-q", "-b", "side")
    (repo.path / "side.txt").write_text("s\n")
    repo.commit("side work")
    repo.git("checkout", "-q", "main")
    repo.run("sessionlog", "activate", "s_merge", "--agent", "Claude Code (opus)")
    repo.git("merge", "-q", "--no-ff", "side")
    assert _trailer(repo, "Sessionlog-Agent") == "Claude Code (opus)"
    assert repo.git("log", "-1", "--format=%s").startswith("Merge branch 'side'")


def test_the_commit_check_applies_the_repositorys_own_secret_rules(repo: Repo) -> None:
    rules = repo.path / ".ai-agents" / "session_context" / "secret-rules.toml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text("[[rules]]\nid = \"internal-ticket-key\"\nregex = '''TKT-[0-9]{6}'''\nkeywords = [\"tkt-\"]\n")
    with repo.logger() as logger:
        logger.append_event("s1", "tool_call", "codex", "x", data={"note": "placeholder"})
    repo.file("s1").write_bytes(repo.file("s1").read_bytes().replace(b"placeholder", b"TKT-123456"))
    refused(repo, "s1.jsonl:4: unredacted secret: internal-ticket-key at $.data.note")


def test_the_warm_checker_answers_later_commits_and_a_dead_or_stale_one_is_replaced(repo: Repo) -> None:
    import json
    import signal
    import subprocess
    import time

    from sessionlog import warm as _warm

    sock = repo.path / ".git" / "sessionlog" / "warm.sock"
    for _ in range(100):  # the fixture's commit started it
        if sock.exists():
            break
        time.sleep(0.05)
    assert sock.exists() and oct(sock.stat().st_mode & 0o777) == "0o700"
    raw = repo.file("s1").read_bytes().replace(b'"i":0', b'"i":7', 1)
    repo.file("s1").write_bytes(raw)
    refused(repo, "committed line 1 was changed")  # answered by the warm checker
    repo.git("checkout", "HEAD", "--", ".ai-agents")
    found = subprocess.run(["pgrep", "-f", f"sessionlog.warm {sock}"], capture_output=True, text=True, check=False)
    for pid in found.stdout.split():
        os.kill(int(pid), signal.SIGKILL)  # dies, leaving its socket behind
    repo.log("s1", 1)
    repo.commit("after the checker died")  # checked in-process, a new checker started
    repo.file("s1").write_bytes(repo.file("s1").read_bytes().replace(b'"i":0', b'"i":8', 1))
    refused(repo, "committed line 1 was changed")
    # a helper whose installed code changed does not take the request (the client runs it itself)
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    stale = {"stamp": "older code", "entry": "check", "argv": [], "cwd": "/", "env": {}, "stdin": ""}
    assert _warm.ask(str(sock), json.dumps(stale).encode()) is None
