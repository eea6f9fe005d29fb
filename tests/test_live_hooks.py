"""`sessionlog hook claude-code|codex` driven as the agents drive it: real payload shapes on stdin,
separate processes at once, a pipe left open; it never prints on stdout and always exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from conftest import shared
from gitrepo import Repo

from sessionlog import SessionLogger

HOOK = [sys.executable, "-m", "sessionlog", "hook"]


def payload(event: str, **fields: object) -> dict[str, object]:
    return {
        "session_id": "sess-1",
        "transcript_path": "/tmp/x.jsonl",
        "cwd": "",
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


EVERY_EVENT = [
    payload("SessionStart", source="startup", model="claude-opus"),
    payload("UserPromptSubmit", prompt="run the tests", prompt_id="p1"),
    payload(
        "PostToolUse",
        tool_name="Bash",
        tool_input={"command": "npm test"},
        tool_use_id="toolu_1",
        tool_response={"stdout": "ok", "stderr": "", "interrupted": False},
    ),
    payload(
        "PostToolUseFailure",
        tool_name="Bash",
        tool_input={"command": "npm run lint"},
        tool_use_id="toolu_2",
        error="Exit code 1\nError: Cannot find module 'express'",
        is_interrupt=False,
        duration_ms=4187,
    ),
    payload(
        "PermissionDenied",
        tool_name="Bash",
        tool_input={"command": "rm -rf /"},
        tool_use_id="toolu_3",
        reason="auto mode classifier denied",
    ),
    payload(
        "PostToolUse",
        tool_name="TodoWrite",
        tool_use_id="toolu_4",
        tool_input={
            "todos": [
                {"content": "Fix gate", "status": "in_progress", "activeForm": "Fixing gate"},
                {"content": "Ship", "status": "pending", "activeForm": "Shipping"},
            ]
        },
        tool_response={},
    ),
    payload(
        "PostToolUse",
        tool_name="TaskCreate",
        tool_use_id="toolu_5",
        tool_input={"subject": "Write docs", "description": "README"},
        tool_response={"task": {"id": "7", "subject": "Write docs"}},
    ),
    payload(
        "PostToolUse",
        tool_name="TaskUpdate",
        tool_use_id="toolu_6",
        tool_input={"taskId": "7", "status": "in_progress", "addBlockedBy": ["3"]},
        tool_response={"success": True},
    ),
    payload("SubagentStart", agent_id="ag1", agent_type="Explore"),
    payload(
        "SubagentStop", agent_id="ag1", agent_type="Explore", last_assistant_message="found it", stop_hook_active=False
    ),
    payload("PreCompact", trigger="auto", custom_instructions=""),
    payload("StopFailure", error="rate_limit", last_assistant_message="API Error: 429"),
    payload("Notification", message="Claude needs your permission", notification_type="permission_prompt"),
    payload("Stop", stop_hook_active=False, last_assistant_message="done"),
    payload("SessionEnd", reason="prompt_input_exit"),
]


def run_hook(
    repo: Repo, body: dict[str, object] | bytes, agent: str = "claude-code", **env: str
) -> subprocess.CompletedProcess[bytes]:
    raw = body if isinstance(body, bytes) else json.dumps({**body, "cwd": str(repo.path)}).encode()
    return subprocess.run(
        [*HOOK, agent], input=raw, capture_output=True, cwd=repo.path, env={**repo.env, **env}, timeout=60, check=False
    )


def start_hook(repo: Repo) -> subprocess.Popen[bytes]:
    """The Claude Code hook as the agent starts it, its three pipes open."""
    return subprocess.Popen(
        [*HOOK, "claude-code"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=repo.path,
        env=repo.env,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    return repo


@pytest.mark.parametrize("hookd", ["1", "0"])  # through the warm daemon, and in-process
def test_every_event_type_is_logged_with_its_cause_and_nothing_on_stdout(repo: Repo, hookd: str) -> None:
    for body in EVERY_EVENT:
        proc = run_hook(repo, body, SESSIONLOG_HOOKD=hookd)
        assert proc.returncode == 0 and proc.stdout == b"", (body["hook_event_name"], proc.stderr)
        assert proc.stderr == b"", proc.stderr
    logger = SessionLogger(repo.sessions)
    events = logger.read_session("claude_code-sess-1")
    kinds = [e["event_type"] for e in events]
    assert kinds.count("tool_call") == 5 and kinds.count("error") == 2 and kinds.count("constraint_applied") == 1
    by_id = {e["event_id"]: e for e in events}
    prompt = next(e for e in events if e["event_type"] == "user_message")
    failure = next(e for e in events if e["event_type"] == "error" and e["data"].get("tool_use_id") == "toolu_2")
    assert by_id[failure["dependencies"]["depends_on"][0]]["data"]["tool_use_id"] == "toolu_2"
    assert failure["failure_ledger"][0]["attempt"] == "Bash: npm run lint"
    call = next(e for e in events if e["event_type"] == "tool_call")
    assert call["dependencies"]["depends_on"] == [prompt["event_id"]]
    stop = next(e for e in events if e["data"].get("kind") == "subagent_stop")
    assert by_id[stop["dependencies"]["depends_on"][0]]["data"]["kind"] == "subagent_start"
    open_ = {c["commitment"]: c for c in logger.get_open_commitments("claude_code-sess-1")}
    assert open_["Fix gate"]["status"] == "in_progress" and open_["Write docs"]["status"] == "in_progress"
    assert open_["Write docs"]["dependencies"] == ["3"]  # addBlockedBy
    assert logger.verify_session("claude_code-sess-1").ok
    # a hook repeated for the same tool use (a retry, a second registration) logs nothing twice
    assert run_hook(repo, EVERY_EVENT[2]).returncode == 0
    assert len(logger.read_session("claude_code-sess-1")) == len(events)


def test_parallel_tool_calls_in_separate_processes_land_in_one_chained_file(repo: Repo) -> None:
    procs = []
    for n in range(12):
        body = json.dumps(
            {
                **payload(
                    "PostToolUse",
                    tool_name="Read",
                    tool_input={"file_path": f"f{n}.py"},
                    tool_use_id=f"toolu_p{n}",
                    tool_response={"content": "x" * 5000},
                ),
                "cwd": str(repo.path),
            }
        ).encode()
        proc = start_hook(repo)
        procs.append((proc, body))
    for proc, body in procs:
        out, err = proc.communicate(body, timeout=120)
        assert proc.returncode == 0 and out == b"", err
    logger = SessionLogger(repo.sessions)
    events = logger.read_session("claude_code-sess-1")
    assert sorted(e["data"]["tool_use_id"] for e in events) == sorted(f"toolu_p{n}" for n in range(12))
    assert logger.verify_session("claude_code-sess-1").ok


def test_a_pipe_left_open_and_bad_payloads_never_hurt_the_agent(repo: Repo) -> None:
    started = time.monotonic()
    proc = start_hook(repo)
    assert proc.stdin is not None
    proc.stdin.write(b'{"session_id": "s", "hook_event_name": "UserPro')  # partial, and never closed
    proc.stdin.flush()
    proc.wait(timeout=60)  # stdin still open: the hook gives up reading after its deadline
    assert proc.returncode == 0 and time.monotonic() - started < 30
    assert proc.stdout is not None and proc.stdout.read() == b""
    assert proc.stderr is not None and b"not JSON" in proc.stderr.read()
    proc.stdin.close()
    proc.stdout.close()
    proc.stderr.close()
    for raw in (b"", b"[]", b"\xff\xfe", b'{"hook_event_name": "Nope"}'):
        result = run_hook(repo, raw)
        assert result.returncode == 0 and result.stdout == b""


def test_large_payloads_are_cut_and_secrets_redacted(repo: Repo) -> None:
    token = "ghp_" + "q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gsq7Xk2"
    body = payload(
        "PostToolUse",
        tool_name="Read",
        tool_input={"file_path": ".env"},
        tool_use_id="toolu_big",
        tool_response={"content": f"GITHUB_TOKEN={token}\n" + "y" * 5_000_000},
    )
    proc = run_hook(repo, body)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b"", proc.stderr
    raw = b"".join(p.read_bytes() for p in repo.path.joinpath(".git", "sessionlog").rglob("*.jsonl"))
    raw += b"".join(p.read_bytes() for p in repo.sessions.glob("*.jsonl")) if repo.sessions.is_dir() else b""
    assert token.encode() not in raw and len(raw) < 100_000 and b"cut by sessionlog" in raw


def test_hooked_and_imported_tool_calls_are_not_logged_twice(repo: Repo, tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    records = [
        {
            "type": "user",
            "uuid": "u1",
            "parentUuid": None,
            "sessionId": "sess-1",
            "timestamp": "2026-01-02T03:04:05Z",
            "message": {"role": "user", "content": "run the tests"},
        },
        {
            "type": "assistant",
            "uuid": "a1",
            "parentUuid": "u1",
            "sessionId": "sess-1",
            "timestamp": "2026-01-02T03:04:06Z",
            "message": {
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "npm test"}}]
            },
        },
    ]
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run_hook(repo, EVERY_EVENT[2]).returncode == 0
    imported = repo.run("sessionlog", "import", "claude-code", str(transcript)).stdout
    assert "1 already logged" in imported
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    assert [e["data"].get("tool_use_id") for e in events].count("toolu_1") == 1


def test_codex_payloads_are_logged_too(repo: Repo) -> None:
    body = {
        "session_id": "019e",
        "transcript_path": None,
        "cwd": "",
        "hook_event_name": "PostToolUse",
        "model": "gpt-5",
        "turn_id": "t1",
        "tool_name": "Bash",
        "tool_input": {"command": "cargo test"},
        "tool_use_id": "call_1",
        "tool_response": "test result: ok",
    }
    assert run_hook(repo, body, "codex").returncode == 0
    [event] = SessionLogger(repo.sessions).read_session("codex-019e")
    assert event["provenance"]["agent"] == "codex" and event["data"]["turn_id"] == "t1"


def test_tool_uses_of_real_transcripts_replayed_as_hooks(repo: Repo) -> None:
    path = shared("fixtures", "transcripts", "spotter", "tool_heavy.jsonl")
    uses = [
        item
        for line in path.read_text().splitlines()
        if line.strip()
        for item in (json.loads(line).get("message") or {}).get("content") or []
        if isinstance(item, dict) and item.get("type") == "tool_use"
    ]
    for item in uses:
        body = payload(
            "PostToolUse",
            tool_name=item["name"],
            tool_input=item["input"],
            tool_use_id=item["id"],
            tool_response={"stdout": ""},
        )
        assert run_hook(repo, body).returncode == 0
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    assert len([e for e in events if e["event_type"] == "tool_call"]) == len({u["id"] for u in uses}) > 3


def test_init_registers_the_agent_hooks_keeping_other_settings(repo: Repo) -> None:
    settings = repo.path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(
        json.dumps({"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}})
    )
    out = repo.run("sessionlog", "init", "--claude-code", "--codex").stdout
    assert "sessionlog hook claude-code registered" in out and "sessionlog hook codex registered" in out
    doc = json.loads(settings.read_text())
    assert doc["model"] == "opus" and doc["hooks"]["Stop"][0]["hooks"][0]["command"] == "say done"
    assert doc["hooks"]["PostToolUseFailure"][0] == {
        "matcher": "*",
        "hooks": [{"type": "command", "command": "sessionlog hook claude-code", "timeout": 10}],
    }
    before = settings.read_text()
    again = repo.run("sessionlog", "init", "--claude-code").stdout
    assert "registered already" in again and settings.read_text() == before
    assert "SessionStart" in json.loads((repo.path / ".codex" / "hooks.json").read_text())["hooks"]
    settings.write_text("{ not json")
    proc = repo.run("sessionlog", "init", "--claude-code", check=False)
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr and settings.read_text() == "{ not json"


def test_the_warm_daemon_serves_later_hooks_and_a_dead_one_is_replaced(repo: Repo) -> None:
    import signal

    sock = repo.path / ".git" / "sessionlog" / "warm.sock"
    first = payload(
        "PostToolUse", tool_name="Bash", tool_input={"command": "a"}, tool_use_id="toolu_a", tool_response={}
    )
    assert run_hook(repo, first).returncode == 0  # logged in-process; starts the daemon
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    assert sock.exists() and oct(sock.stat().st_mode & 0o777) == "0o700"
    second = payload(
        "PostToolUse", tool_name="Bash", tool_input={"command": "b"}, tool_use_id="toolu_b", tool_response={}
    )
    assert run_hook(repo, second).returncode == 0
    daemons = subprocess.run(["pgrep", "-f", f"sessionlog.warm {sock}"], capture_output=True, text=True, check=False)
    pids = [int(p) for p in daemons.stdout.split()]
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)  # dies, leaving its socket file behind
    time.sleep(0.2)
    third = payload(
        "PostToolUse", tool_name="Bash", tool_input={"command": "c"}, tool_use_id="toolu_c", tool_response={}
    )
    proc = run_hook(repo, third)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    assert [e["data"]["tool_use_id"] for e in events] == ["toolu_a", "toolu_b", "toolu_c"]


def test_a_subagents_tool_calls_depend_on_its_start_and_huge_payloads_fit(repo: Repo) -> None:
    assert run_hook(repo, payload("UserPromptSubmit", prompt="explore")).returncode == 0
    assert run_hook(repo, payload("SubagentStart", agent_id="ag9", agent_type="Explore")).returncode == 0
    many = {f"part{i}": "z" * 20_000 for i in range(100)}  # 2 MB spread over many strings
    body = payload(
        "PostToolUse",
        tool_name="Grep",
        tool_input={"pattern": "x"},
        tool_use_id="toolu_s1",
        tool_response=many,
        agent_id="ag9",
        agent_type="Explore",
    )
    proc = run_hook(repo, body)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    start = next(e for e in events if e["data"].get("kind") == "subagent_start")
    call = next(e for e in events if e["event_type"] == "tool_call")
    assert call["dependencies"]["depends_on"] == [start["event_id"]] and call["data"]["agent_id"] == "ag9"
    assert len(json.dumps(call)) < 300_000


@pytest.mark.parametrize(
    ("agent", "settings"),
    [("claude-code", ".claude/settings.json"), ("codex", ".codex/hooks.json"), ("gemini-cli", ".gemini/settings.json")],
)
def test_the_events_registered_are_exactly_the_events_handled(repo: Repo, agent: str, settings: str) -> None:
    from sessionlog.agents.live import _events_of

    repo.run("sessionlog", "init", f"--{agent}")
    registered = set(json.loads((repo.path / settings).read_text())["hooks"])
    handled = set(_events_of(agent.replace("-", "_")))
    assert registered == handled
    for event in sorted(handled):  # and each one registered is logged, not dropped as unknown
        body = payload(event, prompt="p", tool_name="Bash", tool_input={}, tool_use_id=f"t-{event}", tool_response={})
        proc = run_hook(repo, body, agent)
        assert proc.returncode == 0 and proc.stderr == b"", (event, proc.stderr)


def test_a_hook_looks_back_over_the_session_tail_only_and_still_finds_its_cause(repo: Repo) -> None:
    session = "claude_code-sess-1"
    assert run_hook(repo, payload("UserPromptSubmit", prompt="the old prompt")).returncode == 0
    filler = [{"event_type": "tool_call", "agent": "claude_code", "source": "t", "data": {"pad": "x" * 300}}] * 20_000
    with SessionLogger(repo.sessions) as logger:
        assert logger.append_events(session, filler).ok  # ~11 MB: the old prompt is out of the hook's view
        everything = list(logger.read_session(session))

        def prompt(e: dict[str, object]) -> bool:
            return e["event_type"] == "user_message"

        assert logger.latest_event(session, b'"user_message"', prompt) is None
        assert logger.latest_event(session, b'"user_message"', prompt, max_bytes=64 << 20) == everything[0]
        assert logger.latest_event(session, b'"pad"', lambda e: True) == everything[-1]
    assert run_hook(repo, payload("UserPromptSubmit", prompt="the new prompt")).returncode == 0
    tool = payload(
        "PostToolUse", tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="toolu_z", tool_response={}
    )
    assert run_hook(repo, tool).returncode == 0
    events = list(SessionLogger(repo.sessions).read_session(session))
    prompt = next(e for e in reversed(events) if e["event_type"] == "user_message")
    assert events[-1]["dependencies"]["depends_on"] == [prompt["event_id"]]


def test_a_long_output_is_redacted_before_it_is_cut_and_its_digest_holds_no_secret(repo: Repo) -> None:
    import hashlib

    token = "ghp_" + ("q7Xk2Lm9Pz4Rt8Vw3Ny6Bc1Hd5Jf0Gs" * 2)[:36]
    stdout = "x" * (16_384 - 10) + token + "\n" + "y" * 4000 + "\nDB_PASSWORD=hunter2-guessable\n"
    body = payload("PostToolUse", tool_name="Bash", tool_input={"command": "env"}, tool_use_id="toolu_long",
                   tool_response={"stdout": stdout, "stderr": ""})  # fmt: skip
    assert run_hook(repo, body).returncode == 0
    raw = next(repo.sessions.glob("claude_code-*.jsonl")).read_text()
    assert token[:10] not in raw  # not even the half before the cut
    assert "cut by sessionlog" in raw
    assert hashlib.sha256(stdout.encode()).hexdigest() not in raw  # a digest that would confirm a guess


def test_a_tool_call_hooked_before_and_after_is_logged_once_with_both_instants(repo: Repo) -> None:
    pre = payload("PreToolUse", tool_name="Bash", tool_input={"command": "sleep 0.3"}, tool_use_id="toolu_9")
    post = {**pre, "hook_event_name": "PostToolUse", "tool_response": {"stdout": ""}}
    assert run_hook(repo, pre).returncode == 0
    assert SessionLogger(repo.sessions).list_sessions() == []  # the start is kept aside, not logged
    time.sleep(0.3)
    assert run_hook(repo, post).returncode == 0
    [call] = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    begin = datetime.fromisoformat(call["timestamp"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(call["data"]["ended_at"].replace("Z", "+00:00"))
    assert call["data"]["duration_ms"] == pytest.approx((end - begin).total_seconds() * 1000)
    assert call["data"]["duration_ms"] >= 300
    assert not list((repo.path / ".git" / "sessionlog" / "started").rglob("toolu_9"))  # used once, removed


RACER = """
import json, sys
from sessionlog.agents import live
repo, start, stop, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(start, stop, step):
    body = {"session_id": "race", "cwd": repo, "hook_event_name": "PostToolUse", "tool_name": "Bash",
            "tool_input": {"command": f"step {i}"}, "tool_use_id": f"toolu_{i:03d}", "tool_response": "ok"}
    problems = live.run("claude_code", json.dumps(body).encode())
    assert not problems, problems
"""


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_hooks_and_an_import_racing_on_one_session_log_each_call_once(repo: Repo, tmp_path: Path, delay: float) -> None:
    calls = 120
    records = [{"type": "user", "uuid": "u0", "sessionId": "race", "timestamp": "2026-01-02T03:04:05Z",
                "message": {"role": "user", "content": "go"}}]  # fmt: skip
    for i in range(calls):
        use = f"toolu_{i:03d}"
        records += [
            {"type": "assistant", "uuid": f"a{i}", "parentUuid": "u0", "sessionId": "race",
             "timestamp": "2026-01-02T03:04:06Z",
             "message": {"content": [{"type": "tool_use", "id": use, "name": "Bash", "input": {"command": f"step {i}"}}]}},
            {"type": "user", "uuid": f"r{i}", "parentUuid": f"a{i}", "sessionId": "race",
             "timestamp": "2026-01-02T03:04:07Z",
             "message": {"content": [{"type": "tool_result", "tool_use_id": use, "content": "ok"}]}},
        ]  # fmt: skip
    transcript = tmp_path / "race.jsonl"
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    env = {**repo.env, "SESSIONLOG_HOOKD": "0"}
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, str(repo.path), str(k), str(calls), "2"], cwd=repo.path, env=env)
        for k in (0, 1)
    ]
    time.sleep(delay)
    imported = subprocess.run(
        [sys.executable, "-m", "sessionlog", "import", "claude-code", str(transcript)],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert all(p.wait(timeout=120) == 0 for p in racers)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    events = SessionLogger(repo.sessions).read_session("claude_code-race")
    logged = Counter(e["data"]["tool_use_id"] for e in events if e["event_type"] == "tool_call")
    assert logged == Counter({f"toolu_{i:03d}": 1 for i in range(calls)})


def _claude_transcript(path: Path, prompts: list[tuple[str, str]]) -> None:
    """A Claude Code transcript of *prompts* (instant, text), each answered by one tool call."""
    records: list[dict[str, object]] = []
    for i, (at, text) in enumerate(prompts):
        records += [
            {"type": "user", "uuid": f"u{i}", "parentUuid": None, "sessionId": "sess-1", "timestamp": at,
             "message": {"role": "user", "content": text}},
            {"type": "assistant", "uuid": f"a{i}", "parentUuid": f"u{i}", "sessionId": "sess-1", "timestamp": at,
             "message": {"content": [{"type": "tool_use", "id": f"toolu_p{i}", "name": "Bash",
                                      "input": {"command": f"step {i}"}}]}},
            {"type": "user", "uuid": f"r{i}", "parentUuid": f"a{i}", "sessionId": "sess-1", "timestamp": at,
             "message": {"content": [{"type": "tool_result", "tool_use_id": f"toolu_p{i}", "content": "ok"}]}},
        ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _instant(offset: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset).astimezone().isoformat()


@pytest.mark.parametrize("hookd", ["1", "0"])  # through the warm daemon, and in-process
def test_a_prompt_hooked_then_imported_is_logged_once_and_answered_by_the_import(
    repo: Repo, tmp_path: Path, hookd: str
) -> None:
    """Hook payloads carry no id of the transcript record: the prompt is paired with its record
    by its text and time, the same text asked twice pairs twice, and one asked long before the
    hook is a prompt of its own."""
    for text in ("run the tests", "yes", "yes"):
        assert run_hook(repo, payload("UserPromptSubmit", prompt=text), SESSIONLOG_HOOKD=hookd).returncode == 0
    transcript = tmp_path / "t.jsonl"
    prompts = [(_instant(), "run the tests"), (_instant(), "yes"), (_instant(1), "yes  \n"), (_instant(-3600), "yes")]
    _claude_transcript(transcript, prompts)
    first = repo.run("sessionlog", "import", "claude-code", str(transcript)).stdout
    again = repo.run("sessionlog", "import", "claude-code", str(transcript)).stdout
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    asked = [e for e in events if e["event_type"] == "user_message"]
    assert [e["data"]["message"] for e in asked] == ["run the tests", "yes", "yes", "yes"], first
    assert [bool(e["data"].get("hook_match")) for e in asked] == [True, True, True, False]
    calls = {e["data"]["tool_use_id"]: e for e in events if e["event_type"] == "tool_call"}
    for i, prompt in enumerate(asked):  # each call answers its own prompt, hooked or imported
        assert calls[f"toolu_p{i}"]["dependencies"]["depends_on"] == [prompt["event_id"]]
    assert "0 event(s) written" in again and len(
        SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    ) == len(events)


def test_a_prompt_imported_before_its_hook_fires_is_not_logged_again(repo: Repo, tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    _claude_transcript(transcript, [(_instant(), "deploy it to staging: AKIAZ7VRSQ4UKQTB2K5X")])
    repo.run("sessionlog", "import", "claude-code", str(transcript))
    hooked = payload("UserPromptSubmit", prompt="deploy it to staging: AKIAZ7VRSQ4UKQTB2K5X")
    assert run_hook(repo, hooked).returncode == 0
    assert run_hook(repo, payload("UserPromptSubmit", prompt="deploy it to production")).returncode == 0
    events = SessionLogger(repo.sessions).read_session("claude_code-sess-1")
    asked = [e["data"]["message"] for e in events if e["event_type"] == "user_message"]
    assert len(asked) == 2 and "AKIAZ7VRSQ4UKQTB2K5X" not in json.dumps(events)
    assert asked[1] == "deploy it to production"


@pytest.mark.parametrize("hookd", ["1", "0"])  # through the warm daemon, and in-process
def test_a_codex_turn_hooked_then_imported_holds_one_prompt_one_end_and_the_rollouts_tokens(
    repo: Repo, tmp_path: Path, hookd: str
) -> None:
    base = {"session_id": "019e-pair", "transcript_path": None, "model": "gpt-5-codex", "turn_id": "t1"}
    for event in ({"hook_event_name": "UserPromptSubmit", "prompt": "bump the version"},
                  {"hook_event_name": "Stop", "last_assistant_message": "bumped"}):  # fmt: skip
        assert run_hook(repo, {**base, **event}, "codex", SESSIONLOG_HOOKD=hookd).returncode == 0
    at = _instant()
    rollout = tmp_path / "rollout-2026-12-01T00-00-00-019e-pair.jsonl"
    records = [
        (at, "session_meta", {"id": "019e-pair"}),
        (at, "turn_context", {"turn_id": "t1", "model": "gpt-5-codex"}),
        (at, "event_msg", {"type": "user_message", "message": "bump the version"}),
        (at, "event_msg", {"type": "token_count", "info": {"last_token_usage": {"input_tokens": 800, "output_tokens": 20}}}),
        (at, "event_msg", {"type": "task_complete", "turn_id": "t1", "last_agent_message": "bumped"}),
    ]  # fmt: skip
    rollout.write_text("".join(json.dumps({"timestamp": t, "type": k, "payload": p}) + "\n" for t, k, p in records))
    for _ in range(2):
        repo.run("sessionlog", "import", "codex", str(rollout))
    events = SessionLogger(repo.sessions).read_session("codex-019e-pair")
    kinds = Counter(e["data"].get("kind") or e["event_type"] for e in events)
    assert kinds == Counter({"user_message": 1, "turn_end": 1, "turn_usage": 1}), kinds
    [usage] = [e for e in events if e["data"].get("kind") == "turn_usage"]
    assert usage["data"]["usage"] == {"input_tokens": 800, "output_tokens": 20}
    assert usage["data"]["model"] == "gpt-5-codex"
