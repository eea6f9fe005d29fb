"""Real Claude Code and Codex transcripts imported event by event: counts derived here from the raw
files, re-imports adding nothing, the logs verifying clean."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from conftest import SHARED, shared

from sessionlog import SessionLogger

TRANSCRIPTS = SHARED / "fixtures" / "transcripts"
CLAUDE = sorted(TRANSCRIPTS.glob("claude-code-*/*.jsonl")) + sorted(TRANSCRIPTS.glob("spotter/*.jsonl"))
CODEX = sorted(TRANSCRIPTS.glob("codex-*/*.jsonl"))


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def claude_expected(paths: list[Path]) -> Counter[str]:  # noqa: PLR0912 - one branch per record kind, as the importer
    """Events a Claude Code transcript should give, counted from the raw records (unique per session)."""
    seen: set[tuple[object, str]] = set()
    counts: Counter[str] = Counter()
    for path in paths:
        prompt = None  # the user's prompt whose turn is open: it ends at the next one or at end_turn
        answered = False  # an assistant record came since: a turn nothing answered has no end
        for r in _records(path):
            session = r.get("sessionId") or path.stem
            message = r.get("message") if isinstance(r.get("message"), dict) else {}
            content = message.get("content")  # type: ignore[union-attr]
            keys: list[tuple[str, str]] = []
            side = bool(r.get("isSidechain"))
            if r.get("type") == "user" and isinstance(content, str):
                keys.append(("user_message", str(r.get("uuid"))))
                if not side:
                    if prompt is not None and answered:
                        keys.append(("state_change", prompt))
                    prompt, answered = str(r.get("uuid")), False
            if r.get("type") == "assistant" and prompt is not None:
                answered = True
            if r.get("type") == "assistant" and message.get("stop_reason") == "end_turn" and not side:  # type: ignore[union-attr]
                if prompt is not None:
                    keys.append(("state_change", prompt))
                prompt = None
            for item in content if isinstance(content, list) else []:
                if r.get("type") == "assistant" and item.get("type") == "tool_use":
                    keys.append(("tool_call", item["id"]))
                    todos = item["input"].get("todos") if item["name"] == "TodoWrite" else None
                    if todos or item["name"] in ("TaskCreate", "TaskUpdate"):
                        keys.append(("commitment", item["id"] + ":plan"))
                if r.get("type") == "user" and item.get("type") == "tool_result" and item.get("is_error"):
                    keys.append(("error", item["tool_use_id"]))
            for kind, key in keys:
                if (session, kind + key) not in seen:
                    seen.add((session, kind + key))
                    counts[kind] += 1
    return counts


def codex_expected(paths: list[Path]) -> Counter[str]:
    seen: set[tuple[str, str]] = set()
    counts: Counter[str] = Counter()
    for path in paths:
        session = path.stem
        for r in _records(path):
            p = r.get("payload") if isinstance(r.get("payload"), dict) else {}
            if r.get("type") == "session_meta":
                session = str(p["id"])  # type: ignore[index]
            kind, key = None, ""
            if r.get("type") == "event_msg" and p.get("type") == "user_message":  # type: ignore[union-attr]
                kind, key = (
                    "user_message",
                    str(r.get("timestamp")) + hashlib.sha256(str(p["message"]).encode()).hexdigest(),
                )  # type: ignore[index]
            elif p.get("type") in ("function_call", "custom_tool_call", "local_shell_call"):  # type: ignore[union-attr]
                kind, key = "tool_call", str(p["call_id"])  # type: ignore[index]
            elif p.get("type") == "web_search_call":  # type: ignore[union-attr]
                kind, key = "tool_call", str(p.get("id") or r.get("timestamp"))  # type: ignore[union-attr]
            elif r.get("type") == "event_msg" and p.get("type") == "task_complete":  # type: ignore[union-attr]
                kind, key = "state_change", str(p.get("turn_id"))  # type: ignore[union-attr]
            elif str(p.get("type")).endswith("_call_output"):  # type: ignore[union-attr]
                output = str(p.get("output"))  # type: ignore[union-attr]
                code = re.search(r"(?m)^(?:Process exited with code|Exit code:?) (-?\d+)", output[:2000])
                meta = re.search(r'"exit_code": ?(-?\d+)', output) if output.startswith("{") else None
                found = meta or code
                if found and found.group(1) != "0":
                    kind, key = "error", str(p["call_id"])  # type: ignore[index]
            if kind and (session, kind + key) not in seen:
                seen.add((session, kind + key))
                counts[kind] += 1
    return counts


def _import(tmp_path: Path, agent: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path), "import", agent, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def _written(out: str) -> Counter[str]:
    first = out.splitlines()[0]
    return Counter({k: int(v) for k, v in re.findall(r"(\w+) (\d+)", first.split("written", 1)[1])})


@pytest.mark.parametrize(
    ("agent", "files", "expected"), [("claude-code", CLAUDE, claude_expected), ("codex", CODEX, codex_expected)]
)
def test_every_transcript_imports_event_by_event(
    tmp_path: Path, agent: str, files: list[Path], expected: object
) -> None:
    shared("fixtures", "transcripts")
    proc = _import(tmp_path, agent, files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    want = expected(files)  # type: ignore[operator]
    assert _written(proc.stdout) == want
    assert sum(want.values()) > 10
    again = _import(tmp_path, agent, files)
    assert again.returncode == 0 and again.stdout.startswith("0 event(s) written")
    verify = subprocess.run(
        [sys.executable, "-m", "sessionlog", "verify", "--anchor", "", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout
    # failures carry a failure-ledger entry and depend on their tool call; timestamps are the transcript's
    logger = SessionLogger(tmp_path, segments=False)
    for session in logger.list_sessions():
        events = logger.read_session(session)
        ids = {e["event_id"]: e for e in events}
        for event in events:
            assert not str(event["timestamp"]).startswith("2026-11-30")  # not the import time
            if event["event_type"] == "error":
                assert event["failure_ledger"] and event["dependencies"]["depends_on"]
                assert ids[event["dependencies"]["depends_on"][0]]["event_type"] == "tool_call"


def test_todos_become_commitments_whose_latest_status_wins(tmp_path: Path) -> None:
    path = shared("fixtures", "transcripts", "claude-code-log", "todowrite_examples.jsonl")
    assert _import(tmp_path, "claude-code", [path]).returncode == 0
    logger = SessionLogger(tmp_path, segments=False)
    [session] = logger.list_sessions()
    last_todos = [
        item["input"]["todos"]
        for r in _records(path)
        for item in (r.get("message", {}).get("content") or [] if isinstance(r.get("message"), dict) else [])  # type: ignore[union-attr]
        if isinstance(item, dict) and item.get("name") == "TodoWrite"
    ][-1]
    still_open = {t["content"] for t in last_todos if t["status"] != "completed"}
    assert {c["commitment"] for c in logger.get_open_commitments(session)} == still_open


def test_a_grown_transcript_adds_only_what_is_new_and_bad_lines_are_reported(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    base = {"sessionId": "s-1", "timestamp": "2026-01-02T03:04:05Z", "parentUuid": None}
    first = [
        {**base, "type": "user", "uuid": "u1", "message": {"role": "user", "content": "fix the build"}},
        {
            **base,
            "type": "assistant",
            "uuid": "a1",
            "parentUuid": "u1",
            "message": {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "make"}}],
            },
        },
    ]
    transcript.write_text("".join(json.dumps(r) + "\n" for r in first) + "{not json\n")
    proc = _import(tmp_path / "s", "claude-code", [transcript])
    assert proc.returncode == 1 and "t.jsonl:3: not JSON, skipped" in proc.stdout
    # the transcript just changed: its open call is still running, left for a later import
    assert _written(proc.stdout) == Counter({"user_message": 1})
    assert "not logged: 1 tool call(s) still running: import again once they end" in proc.stdout
    grown = {
        **base,
        "type": "user",
        "uuid": "u2",
        "parentUuid": "a1",
        "message": {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "is_error": True,
                    "content": "make: *** [all] Error 2",
                }
            ],
        },
    }
    with open(transcript, "a") as out:
        out.write(json.dumps(grown) + "\n")
    proc = _import(tmp_path / "s", "claude-code", [transcript])
    assert _written(proc.stdout) == Counter({"tool_call": 1, "error": 1}) and "1 already logged" in proc.stdout
    logger = SessionLogger(tmp_path / "s", segments=False)
    events = logger.read_session("claude_code-s-1")
    assert [e["event_type"] for e in events] == ["user_message", "tool_call", "error"]
    assert events[1]["data"]["output"] == "make: *** [all] Error 2" and events[1]["data"]["duration_ms"] == 0
    assert events[1]["dependencies"]["depends_on"] == [events[0]["event_id"]]
    assert logger.get_failure_history("claude_code-s-1")[0]["attempt"] == "Bash: make"
    show = subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path / "s"), "show", "claude_code-s-1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "✗ failure" in show.splitlines()[2] and "user_message  user  fix the build" in show.splitlines()[0]


def _left_alone(path: Path) -> None:
    """*path* last changed an hour ago: an open call in it is not running any more."""
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))


def test_an_open_call_of_a_transcript_left_alone_is_logged_without_an_end(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    records = [
        {"type": "user", "uuid": "u1", "sessionId": "s-2", "timestamp": "2026-01-02T03:04:05Z",
         "message": {"role": "user", "content": "build it"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s-2", "timestamp": "2026-01-02T03:04:06Z",
         "message": {"content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "make"}}]}},
    ]  # fmt: skip
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    _left_alone(transcript)  # the agent died or moved on: the call will never end
    proc = _import(tmp_path / "s", "claude-code", [transcript])
    assert _written(proc.stdout) == Counter({"tool_call": 1, "user_message": 1}), proc.stdout
    [_, call] = SessionLogger(tmp_path / "s", segments=False).read_session("claude_code-s-2")
    assert "ended_at" not in call["data"] and "output" not in call["data"]


def test_a_huge_tool_output_is_cut_with_its_digest_never_refused(tmp_path: Path) -> None:
    transcript = tmp_path / "big.jsonl"
    blob = "x" * 3_000_000
    record = {
        "sessionId": "big",
        "timestamp": "2026-01-02T03:04:05Z",
        "type": "assistant",
        "uuid": "a1",
        "message": {"content": [{"type": "tool_use", "id": "t1", "name": "Write", "input": {"content": blob}}]},
    }
    transcript.write_text(json.dumps(record) + "\n")
    _left_alone(transcript)  # its call has no result: logged only once nothing runs any more
    proc = _import(tmp_path / "s", "claude-code", [transcript])
    assert proc.returncode == 0 and _written(proc.stdout) == Counter({"tool_call": 1})
    [event] = SessionLogger(tmp_path / "s", segments=False).read_session("claude_code-big")
    kept = event["data"]["input"]["content"]
    assert len(kept) < 20_000 and hashlib.sha256(blob.encode()).hexdigest() in kept


def test_a_record_nested_900_deep_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    import json as _json

    deep: object = "bottom"
    for _ in range(900):
        deep = {"a": deep}
    records = [
        {"type": "user", "uuid": "u1", "sessionId": "deep", "timestamp": "2025-09-03T10:00:00Z",
         "message": {"role": "user", "content": "first"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "deep", "timestamp": "2025-09-03T10:00:01Z",
         "message": {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_deep", "name": "Bash", "input": deep}]}},
        {"type": "user", "uuid": "u2", "sessionId": "deep", "timestamp": "2025-09-03T10:00:02Z",
         "message": {"role": "user", "content": "after the deep one"}},
    ]  # fmt: skip
    transcript = tmp_path / "deep.jsonl"
    transcript.write_text("".join(_json.dumps(r) + "\n" for r in records))
    _left_alone(transcript)
    proc = subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path / "s"), "import", "claude-code", str(transcript)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"{transcript}:2" in proc.stdout + proc.stderr  # the line that could not be logged is named
    texts = [
        e["data"].get("message") or e["data"].get("text")
        for e in SessionLogger(tmp_path / "s").read_session("claude_code-deep")
    ]
    assert "after the deep one" in texts  # and what follows it was imported


def _rollout(path: Path, records: list[tuple[str, str, dict[str, object]]]) -> None:
    path.write_text("".join(json.dumps({"timestamp": t, "type": k, "payload": p}) + "\n" for t, k, p in records))


def test_every_codex_call_is_one_event_with_its_instants_and_the_turn_its_model_and_usage(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout-x.jsonl"
    patch = "*** Begin Patch\n*** Update File: app.py\n@@\n-x = 1\n+x = 2\n*** End Patch\n"
    _rollout(
        rollout,
        [
            ("2026-03-01T10:00:00.000Z", "session_meta", {"id": "019f-abc"}),
            ("2026-03-01T10:00:00.000Z", "turn_context", {"turn_id": "t1", "model": "gpt-5-codex"}),
            ("2026-03-01T10:00:00.100Z", "event_msg", {"type": "user_message", "message": "bump x"}),
            ("2026-03-01T10:00:01.000Z", "response_item", {"type": "web_search_call", "status": "completed",
                                                          "action": {"type": "search", "query": "python x"}}),
            ("2026-03-01T10:00:02.000Z", "response_item", {"type": "custom_tool_call", "status": "completed",
                                                          "call_id": "call_p", "name": "apply_patch", "input": patch}),
            ("2026-03-01T10:00:02.750Z", "response_item", {"type": "custom_tool_call_output", "call_id": "call_p",
                                                          "output": json.dumps({"output": "Success. Updated: M app.py",
                                                                                "metadata": {"exit_code": 0}})}),
            ("2026-03-01T10:00:03.000Z", "response_item", {"type": "local_shell_call", "call_id": "call_s",
                                                          "status": "completed",
                                                          "action": {"type": "exec", "command": ["pytest", "-q"]}}),
            ("2026-03-01T10:00:05.500Z", "response_item", {"type": "local_shell_call_output", "call_id": "call_s",
                                                          "output": "Exit code: 1\nWall time: 2.5 seconds\n1 failed"}),
            ("2026-03-01T10:00:06.000Z", "response_item", {"type": "function_call", "call_id": "call_f",
                                                          "name": "exec_command", "arguments": '{"cmd": "git diff"}'}),
            ("2026-03-01T10:00:06.000Z", "event_msg", {"type": "token_count", "info": {
                "last_token_usage": {"input_tokens": 900, "cached_input_tokens": 800, "output_tokens": 40}}}),
            ("2026-03-01T10:00:06.200Z", "response_item", {"type": "function_call_output", "call_id": "call_f",
                                                          "output": "Process exited with code 0\nOutput:\n-x = 1"}),
            ("2026-03-01T10:00:07.000Z", "event_msg", {"type": "token_count", "info": {
                "last_token_usage": {"input_tokens": 1000, "cached_input_tokens": 900, "output_tokens": 60}}}),
            ("2026-03-01T10:00:07.100Z", "event_msg", {"type": "task_complete", "turn_id": "t1",
                                                      "last_agent_message": "x is 2 now; one test fails"}),
        ],
    )  # fmt: skip
    proc = _import(tmp_path / "s", "codex", [rollout])
    assert proc.returncode == 0, proc.stdout
    assert _written(proc.stdout) == Counter({"tool_call": 4, "user_message": 1, "error": 1, "state_change": 1})
    logger = SessionLogger(tmp_path / "s", segments=False)
    events = logger.read_session("codex-019f-abc")
    calls = {e["data"]["tool"]: e["data"] for e in events if e["event_type"] == "tool_call"}
    assert set(calls) == {"web_search", "apply_patch", "shell", "exec_command"}
    assert calls["apply_patch"]["input"] == patch and calls["apply_patch"]["duration_ms"] == 750
    assert calls["shell"]["input"]["command"] == ["pytest", "-q"] and calls["shell"]["duration_ms"] == 2500
    assert calls["exec_command"]["ended_at"] == "2026-03-01T10:00:06.200Z"
    assert calls["web_search"]["input"]["query"] == "python x" and "ended_at" not in calls["web_search"]
    assert {c.get("model") for c in calls.values()} == {"gpt-5-codex"}
    [failure] = logger.get_failure_history("codex-019f-abc")
    assert failure["attempt"] == "shell: pytest -q" and failure["error_code"] == "1"
    [end] = [e for e in events if e["event_type"] == "state_change"]
    assert end["data"]["model"] == "gpt-5-codex"
    assert end["data"]["usage"] == {"input_tokens": 1900, "cached_input_tokens": 1700, "output_tokens": 100}
    assert end["data"]["last_assistant_message"] == "x is 2 now; one test fails"
    again = _import(tmp_path / "s", "codex", [rollout])
    assert _written(again.stdout) == Counter() and "7 already logged" in again.stdout


@pytest.mark.parametrize("pattern", ["claude-code-*/*.jsonl", "spotter/*.jsonl", "codex-*/*.jsonl"])
def test_imported_calls_last_from_their_call_record_to_their_result_record(tmp_path: Path, pattern: str) -> None:
    shared("fixtures", "transcripts")
    files = sorted(TRANSCRIPTS.glob(pattern))
    if not files:
        pytest.skip(f"no {pattern} transcripts")
    started: dict[str, str] = {}
    ended: dict[str, str] = {}
    for path in files:
        for r in _records(path):
            stamp = str(r.get("timestamp"))
            message = r.get("message") if isinstance(r.get("message"), dict) else {}
            items = message.get("content") if isinstance(message.get("content"), list) else []  # type: ignore[union-attr]
            for item in items:  # type: ignore[union-attr]
                if item.get("type") == "tool_use":
                    started.setdefault(item["id"], stamp)
                elif item.get("type") == "tool_result":
                    ended.setdefault(item["tool_use_id"], stamp)
            p = r.get("payload") if isinstance(r.get("payload"), dict) else {}
            if str(p.get("type")) in ("function_call", "custom_tool_call", "local_shell_call"):  # type: ignore[union-attr]
                started.setdefault(str(p["call_id"]), stamp)  # type: ignore[index]
            elif str(p.get("type")).endswith("_call_output"):  # type: ignore[union-attr]
                ended.setdefault(str(p["call_id"]), stamp)  # type: ignore[index]
    agent = "codex" if pattern.startswith("codex") else "claude-code"
    assert _import(tmp_path / "s", agent, files).returncode == 0
    logger = SessionLogger(tmp_path / "s", segments=False)
    calls = [e for s in logger.list_sessions() for e in logger.read_session(s) if e["event_type"] == "tool_call"]
    timed = {e["data"]["source_id"]: e for e in calls if "ended_at" in e["data"]}
    assert set(timed) == {k for k in started if k in ended and ended[k] >= started[k]}
    assert timed
    for key, event in timed.items():
        begin = datetime.fromisoformat(started[key].replace("Z", "+00:00"))
        end = datetime.fromisoformat(ended[key].replace("Z", "+00:00"))
        assert event["data"]["duration_ms"] == pytest.approx((end - begin).total_seconds() * 1000)


def test_claude_code_turns_end_with_their_model_and_usage_each_model_call_counted_once(tmp_path: Path) -> None:
    path = shared("fixtures", "transcripts", "claude-code-viewer", "1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl")
    records = _records(path)
    assert _import(tmp_path / "s", "claude-code", [path]).returncode == 0
    logger = SessionLogger(tmp_path / "s", segments=False)
    [session] = logger.list_sessions()
    ends = [e for e in logger.read_session(session) if e["data"].get("kind") == "turn_end"]
    assert ends
    # derived here: a turn runs from a user's prompt to the next one (or to end_turn)
    usage: dict[str, dict[str, int]] = {}
    models: list[str] = []
    for r in records:
        message = r.get("message") if isinstance(r.get("message"), dict) else {}
        prompt = r.get("type") == "user" and isinstance(message.get("content"), str) and not r.get("isSidechain")  # type: ignore[union-attr]
        if prompt and ends[0]["data"]["source_id"] == f"{r['uuid']}:end":
            usage, models = {}, []
        if r.get("type") == "assistant" and isinstance(message.get("usage"), dict):  # type: ignore[union-attr]
            usage[str(message["id"])] = message["usage"]  # type: ignore[index]
            models.append(str(message["model"]))  # type: ignore[index]
        if r.get("type") == "assistant" and message.get("stop_reason") == "end_turn":  # type: ignore[union-attr]
            break
    want = Counter[str]()
    for u in usage.values():
        want.update({k: v for k, v in u.items() if isinstance(v, int)})
    assert ends[0]["data"]["usage"] == dict(want)
    assert ends[0]["data"]["model"] == models[-1]


def test_two_imports_taking_two_sessions_in_opposite_orders_both_finish(tmp_path: Path) -> None:
    """An import holds each session's key lock until its file is done; two files holding the same
    two sessions in opposite orders once made two concurrent imports wait for each other forever."""
    half = 1500

    def records(first: str, second: str, tag: str) -> str:
        lines = []
        for n, session in enumerate([first] * half + [second] * half):
            lines.append({"type": "user", "uuid": f"{tag}{n}", "sessionId": session,
                          "timestamp": f"2026-01-02T03:{n // 60 % 60:02d}:{n % 60:02d}Z",
                          "message": {"role": "user", "content": f"{tag} prompt {n}"}})  # fmt: skip
        return "".join(json.dumps(r) + "\n" for r in lines)

    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(records("A", "B", "x"))
    two.write_text(records("B", "A", "y"))
    argv = [sys.executable, "-m", "sessionlog", "--dir", str(tmp_path / "s"), "import", "claude-code"]
    procs = [subprocess.Popen([*argv, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in (one, two)]
    try:
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    logger = SessionLogger(tmp_path / "s")
    for session in ("claude_code-A", "claude_code-B"):
        events = logger.read_session(session)
        ids = [e["data"]["source_id"] for e in events]
        assert len(ids) == len(set(ids))  # nothing twice
        assert sum(e["event_type"] == "user_message" for e in events) == 2 * half  # nothing lost


def test_a_prompt_nothing_answered_has_no_turn_end(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    records = [
        {"type": "user", "uuid": "u1", "sessionId": "s-3", "timestamp": "2026-01-02T03:04:05Z",
         "message": {"role": "user", "content": "fix the build"}},
        {"type": "user", "uuid": "u2", "sessionId": "s-3", "timestamp": "2026-01-02T03:04:09Z",
         "message": {"role": "user", "content": "no wait, fix the tests"}},
        {"type": "assistant", "uuid": "a1", "parentUuid": "u2", "sessionId": "s-3", "timestamp": "2026-01-02T03:04:20Z",
         "message": {"id": "m1", "model": "claude-opus-4-5", "stop_reason": "end_turn",
                     "content": [{"type": "text", "text": "done"}]}},
    ]  # fmt: skip
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    _import(tmp_path / "s", "claude-code", [transcript])
    events = SessionLogger(tmp_path / "s", segments=False).read_session("claude_code-s-3")
    ends = [e for e in events if e["data"].get("kind") == "turn_end"]
    assert len(ends) == 1 and ends[0]["data"]["last_assistant_message"] == "done"
    assert ends[0]["dependencies"]["depends_on"] == [events[1]["event_id"]]  # the prompt it answered
