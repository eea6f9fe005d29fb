"""The one warm runner: every command that can go warm gives the same stdout, stderr, exit code and
bytes on disk warm and in-process, and a stopped, stalled or garbage-sending peer never costs an
event or holds a hook past its deadline."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gitrepo import Repo
from test_live_hooks import EVERY_EVENT, payload

from sessionlog import SessionLogger

HOOK = [sys.executable, "-m", "sessionlog", "hook"]
CHECK = [sys.executable, "-m", "sessionlog.hooks.fast", "check"]


def make_repo(path: Path) -> Repo:
    repo = Repo(path)
    repo.run("sessionlog", "init")
    with SessionLogger(repo.sessions, segments=False) as logger:
        for i in range(3):
            assert logger.append_event("s1", "tool_call", "codex", "t", data={"i": i}).ok
    repo.commit("initial", extra=("--no-verify",))
    return repo


def sock_of(repo: Repo) -> Path:
    return repo.path / ".git" / "sessionlog" / "warm.sock"


def warm_up(repo: Repo) -> int:
    """Start the repository's helper and wait until it serves; its pid."""
    subprocess.run([*CHECK, "--bogus-flag-to-start-it"], cwd=repo.path, env=repo.env, capture_output=True, check=False)
    for _ in range(200):
        found = subprocess.run(
            ["pgrep", "-f", f"sessionlog.warm {sock_of(repo)}"], capture_output=True, text=True, check=False
        ).stdout.split()
        if found and sock_of(repo).exists():
            return int(found[0])
        time.sleep(0.05)
    raise AssertionError("no helper started")


def normalized(repo: Repo) -> list[tuple[str, list[dict[str, object]]]]:
    """The sessions folder's files and events, with what is random each run (ids, times, digests)
    taken out."""
    out = []
    for path in sorted(repo.sessions.glob("*.jsonl")):
        events = []
        for line in path.read_text().splitlines():
            event = json.loads(line)
            for key in ("event_id", "timestamp", "prev"):
                event.pop(key, None)
            text = re.sub(
                r"evt_[0-9a-f]{32}|\b[0-9a-f]{40}\b|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", "X", json.dumps(event)
            )
            events.append(json.loads(re.sub(r"git-main-[0-9a-f]{8}", "git-main-CLONE", text)))
        name = re.sub(r"-[0-9a-f]{8}\.jsonl$", "-CLONE.jsonl", path.name)
        out.append((name, events))
    return out


def scenario(repo: Repo, env: dict[str, str]) -> list[tuple[int, bytes, bytes]]:
    """Every command that can go warm, on the same steps; what each printed and returned."""
    results = []
    hook_env = {**repo.env, **env}
    for body in [*EVERY_EVENT, b"{ not json", b"", payload("NoSuchEvent")]:
        raw = body if isinstance(body, bytes) else json.dumps({**body, "cwd": str(repo.path)}).encode()
        for agent in ("claude-code", "codex"):
            proc = subprocess.run(
                [*HOOK, agent], input=raw, capture_output=True, cwd=repo.path, env=hook_env, timeout=60, check=False
            )
            results.append((proc.returncode, proc.stdout, proc.stderr))
    index = {**hook_env, "GIT_INDEX_FILE": str(repo.path / ".git" / "index")}
    steps: list[tuple[list[str], dict[str, str], bytes]] = [
        ([], hook_env, b""),  # the whole-file check, as `pre-commit run --all-files` runs it
        (["--bogus"], hook_env, b""),  # a usage error
        (["-o", "json"], index, b""),  # at commit time, the staged change checked
        (["--pre-push"], hook_env, b"refs/heads/main HEAD refs/heads/main 0000000000000000000000000000000000000000\n"),
    ]
    tampered = repo.file("s1").read_bytes().replace(b'"i":1', b'"i":9')
    for argv, step_env, stdin in steps:
        proc = subprocess.run(
            [*CHECK, *argv], input=stdin, capture_output=True, cwd=repo.path, env=step_env, check=False
        )
        results.append((proc.returncode, proc.stdout, proc.stderr))
    repo.file("s1").write_bytes(tampered)
    repo.git("add", "-A")
    proc = subprocess.run([*CHECK], capture_output=True, cwd=repo.path, env=index, check=False)
    results.append((proc.returncode, proc.stdout, proc.stderr))
    return [
        (code, out.replace(bytes(repo.path), b"REPO"), err.replace(bytes(repo.path), b"REPO"))
        for code, out, err in results
    ]


def test_every_warm_command_answers_warm_exactly_as_in_process(tmp_path: Path) -> None:
    cold = make_repo(tmp_path / "cold")
    warm = make_repo(tmp_path / "warm")
    cold_results = scenario(cold, {"SESSIONLOG_HOOKD": "0"})
    warm_up(warm)
    warm_results = scenario(warm, {})
    assert not sock_of(cold).exists()  # the cold run never started a helper
    assert [r[0] for r in warm_results] == [r[0] for r in cold_results]  # exit codes
    assert [r[1] for r in warm_results] == [r[1] for r in cold_results]  # stdout
    assert [r[2] for r in warm_results] == [r[2] for r in cold_results]  # stderr
    assert {code for code, _, _ in cold_results} == {0, 1, 2}  # clean, findings and a usage error all seen
    assert normalized(warm) == normalized(cold)  # bytes on disk


def test_the_callers_environment_and_folder_apply_to_each_request(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    warm_up(repo)
    elsewhere = tmp_path / "elsewhere"
    body = json.dumps(payload("UserPromptSubmit", prompt="hello", cwd=str(repo.path))).encode()
    proc = subprocess.run(
        [*HOOK, "claude-code"], input=body, capture_output=True, cwd=repo.path,
        env={**repo.env, "SESSIONLOG_DIR": str(elsewhere)}, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == b""
    assert [p.name for p in elsewhere.glob("*.jsonl")] == ["claude_code-sess-1.jsonl"]  # this request's variable
    second = json.dumps(payload("UserPromptSubmit", prompt="again", cwd=str(repo.path))).encode()
    subprocess.run([*HOOK, "claude-code"], input=second, capture_output=True, cwd=repo.path, env=repo.env, check=True)
    assert SessionLogger(repo.sessions).read_session("claude_code-sess-1")  # ...and not the next one's


def _hook_timed(repo: Repo, tool_use_id: str) -> float:
    body = payload("PostToolUse", tool_name="Bash", tool_input={"command": "x"}, tool_use_id=tool_use_id,
                   tool_response={}, cwd=str(repo.path))  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(
        [*HOOK, "claude-code"], input=json.dumps(body).encode(), capture_output=True, cwd=repo.path,
        env=repo.env, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    return time.monotonic() - start


def tool_ids(repo: Repo) -> list[str]:
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    return [e["data"]["tool_use_id"] for e in events if "tool_use_id" in e.get("data", {})]


@pytest.mark.slow
def test_a_stopped_helper_is_bypassed_and_the_event_is_logged_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    pid = warm_up(repo)
    os.kill(pid, signal.SIGSTOP)
    try:
        elapsed = _hook_timed(repo, "toolu_stopped")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert elapsed < 8  # the agent's own timeout is 10 s; the helper was given at most 1 s
    assert tool_ids(repo) == ["toolu_stopped"]
    time.sleep(1.5)  # the helper wakes, finds its client gone, and drops the request
    assert tool_ids(repo) == ["toolu_stopped"]
    _hook_timed(repo, "toolu_after")
    assert tool_ids(repo) == ["toolu_stopped", "toolu_after"]


@pytest.mark.slow
def test_a_garbage_request_gets_an_error_and_the_helper_serves_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    pid = warm_up(repo)
    for garbage in (b"garbage", b'{"stamp": 1}', b"[]"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(sock_of(repo)))
            conn.sendall(garbage)
            conn.shutdown(socket.SHUT_WR)
            reply = conn.recv(1 << 16)
        assert reply.startswith(b"E") and b"not a request" in reply
    _hook_timed(repo, "toolu_after_garbage")
    assert tool_ids(repo) == ["toolu_after_garbage"]
    os.kill(pid, 0)  # the same helper is alive


@pytest.mark.slow
def test_a_trickling_client_never_holds_up_a_hook(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    pid = warm_up(repo)
    stop = threading.Event()

    def trickle() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(sock_of(repo)))
            while not stop.is_set():
                conn.sendall(b"{")
                time.sleep(0.3)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        elapsed = _hook_timed(repo, "toolu_beside_a_trickle")
    finally:
        stop.set()
        thread.join(timeout=5)
    assert elapsed < 3
    assert tool_ids(repo) == ["toolu_beside_a_trickle"]
    os.kill(pid, 0)
