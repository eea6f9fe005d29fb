"""Gemini CLI: its chat recordings (legacy JSON and the JSONL replayed as the CLI replays it) and
its live hooks, on the shared real-shape fixtures and through the real ``sessionlog`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import shared
from gitrepo import Repo

from sessionlog import SessionLogger
from sessionlog.agents.gemini_cli import GeminiCliImporter

FIXTURES = ("entireio-attribution_session.json", "agentsview-tool_calls.json", "agentsview-system_messages.json")


def recording(name: str) -> dict[str, Any]:
    return json.loads(shared("fixtures", "transcripts", "gemini-cli", name).read_text())


def imported(logger: SessionLogger, *paths: Path) -> GeminiCliImporter:
    importer = GeminiCliImporter(logger)
    for path in paths:
        importer.import_file(path)
    return importer


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.mark.parametrize("name", FIXTURES)
def test_each_recording_imports_as_its_records_say_and_once(tmp_path: Path, name: str) -> None:
    doc = recording(name)
    messages = doc["messages"]
    calls = [(m, c) for m in messages if m["type"] == "gemini" for c in m.get("toolCalls", [])]
    prompts = [m for m in messages if m["type"] == "user" and m["content"]]
    failed = [c for _, c in calls if c.get("status") not in (None, "success")]
    notes = [m for m in messages if m["type"] in ("info", "warning")]
    errors = [m for m in messages if m["type"] == "error"]
    logger = SessionLogger(tmp_path / "s")
    first = imported(logger, shared("fixtures", "transcripts", "gemini-cli", name))
    assert first.report.problems == []
    session = f"gemini_cli-{doc['sessionId']}"
    events = logger.read_session(session)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["event_type"], []).append(event)
    assert len(by_type.get("user_message", [])) == len(prompts)
    assert len(by_type.get("tool_call", [])) == len(calls)
    assert len(by_type.get("error", [])) == len(errors) + len(failed)
    kinds = [e["data"]["kind"] for e in by_type.get("state_change", [])]
    assert kinds.count("info") + kinds.count("warning") == len(notes)
    # each call from its message's instant to its own, with its output
    for event, (message, call) in zip(by_type.get("tool_call", []), calls, strict=True):
        assert event["timestamp"] == message["timestamp"].replace("Z", ".000Z") or _moment(
            event["timestamp"]
        ) == _moment(message["timestamp"])
        assert event["data"]["tool"] == call["name"] and event["data"]["input"] == call["args"]
        if "timestamp" in call:
            ms = (_moment(call["timestamp"]) - _moment(message["timestamp"])).total_seconds() * 1000
            assert event["data"]["duration_ms"] == pytest.approx(ms)
            assert event["data"]["output"] == call["result"][0]["functionResponse"]["response"]["output"]
        else:
            assert "ended_at" not in event["data"]  # the record says no end: none is made up
    # a turn ends with its models and the tokens of its messages, summed
    for turn_end in (e for e in by_type.get("state_change", []) if e["data"]["kind"] == "turn_end"):
        prompt_id = turn_end["data"]["source_id"].removesuffix(":end")
        start = next(i for i, m in enumerate(messages) if m["id"] == prompt_id)
        stop = next((i for i, m in enumerate(messages) if i > start and m["type"] == "user"), len(messages))
        replies = [m for m in messages[start:stop] if m["type"] == "gemini"]
        tokens = [m["tokens"] for m in replies if "tokens" in m]
        usage = turn_end["data"].get("usage", {})
        assert usage.get("input_tokens", 0) == sum(t["input"] for t in tokens)
        assert usage.get("output_tokens", 0) == sum(t["output"] + t["thoughts"] for t in tokens)
        assert turn_end["data"]["model"] == replies[-1]["model"]
    again = imported(logger, shared("fixtures", "transcripts", "gemini-cli", name))
    assert sum(again.report.written.values()) == 0 and logger.read_session(session) == events
    assert logger.verify_session(session).findings == []


def _jsonl_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The legacy document as Gemini CLI (v0.39+) writes it live: the metadata line, each message
    first without its results and tokens, then again once they arrived, ``$set`` updates."""
    lines: list[dict[str, Any]] = [{k: doc[k] for k in ("sessionId", "projectHash", "startTime", "lastUpdated")}]
    for message in doc["messages"]:
        early = dict(message)
        early.pop("tokens", None)
        if "toolCalls" in early:
            early["toolCalls"] = [
                {k: v for k, v in c.items() if k not in ("result", "status", "timestamp", "resultDisplay")}
                for c in early["toolCalls"]
            ]
        lines += [early, message, {"$set": {"lastUpdated": message["timestamp"]}}]
    return lines


def test_a_live_jsonl_recording_replays_to_the_same_events_and_keeps_what_was_rewound(tmp_path: Path) -> None:
    doc = recording("entireio-attribution_session.json")
    legacy = SessionLogger(tmp_path / "legacy")
    imported(legacy, shared("fixtures", "transcripts", "gemini-cli", "entireio-attribution_session.json"))
    lines = _jsonl_of(doc)
    lines.append({"$rewindTo": "msg-user-4"})  # the user took the second prompt back...
    lines.append({"id": "msg-user-7", "timestamp": "2026-03-18T21:09:00.000Z", "type": "user", "content": "list them"})
    path = tmp_path / "session-2026-03-18T21-05-attr-ses.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "{ torn line\n")
    live = SessionLogger(tmp_path / "live")
    report = imported(live, path).report
    assert len(report.problems) == 1 and report.problems[0].startswith(f"{path}:{len(lines) + 1}: not JSON, skipped")
    session = "gemini_cli-attr-session-1"

    def essence(logger: SessionLogger) -> list[tuple[Any, ...]]:
        return [
            (e["event_type"], e["data"].get("source_id"), e["data"].get("duration_ms"), e["data"].get("usage"))
            for e in logger.read_session(session)
            if e["data"].get("kind") != "rewind"
        ]

    # ...its calls ran all the same: every event of the legacy import is there, then the new prompt
    assert essence(live)[: len(essence(legacy))] == essence(legacy)
    assert essence(live)[len(essence(legacy)) :] == [("user_message", "msg-user-7", None, None)]
    rewind = [e for e in live.read_session(session) if e["data"].get("kind") == "rewind"]
    assert len(rewind) == 1 and rewind[0]["data"]["to_message"] == "msg-user-4"
    assert sum(imported(live, path).report.written.values()) == 0


def test_a_recording_that_grows_adds_only_what_is_new_and_a_bad_record_stops_nothing(tmp_path: Path) -> None:
    doc = recording("entireio-attribution_session.json")
    lines = _jsonl_of(doc)
    deep: Any = "x"
    for _ in range(900):
        deep = {"a": deep}
    path = tmp_path / "session.jsonl"
    half = len(lines) // 2
    path.write_text("".join(json.dumps(line) + "\n" for line in lines[:half]))
    logger = SessionLogger(tmp_path / "s")
    imported(logger, path)
    bad = {"id": "msg-deep", "timestamp": "2026-03-18T21:08:40.000Z", "type": "gemini", "content": "",
           "toolCalls": [{"id": "deep-1", "name": "write_file", "args": deep, "status": "success",
                          "timestamp": "2026-03-18T21:08:41.000Z"}]}  # fmt: skip
    after = {"id": "msg-user-9", "timestamp": "2026-03-18T21:09:00.000Z", "type": "user", "content": "thanks"}
    path.write_text("".join(json.dumps(line) + "\n" for line in [*lines, bad, after]))
    report = imported(logger, path).report
    assert len(report.problems) == 1 and "RecursionError" in report.problems[0] and ":" in report.problems[0]
    fresh = SessionLogger(tmp_path / "fresh")
    imported(fresh, path)
    ids = [e["data"].get("source_id") for e in logger.read_session("gemini_cli-attr-session-1")]
    assert len(ids) == len(set(ids))  # nothing twice
    assert sorted(ids, key=str) == sorted(
        (e["data"].get("source_id") for e in fresh.read_session("gemini_cli-attr-session-1")), key=str
    )
    assert "msg-user-9" in ids


HOOK = [sys.executable, "-m", "sessionlog", "hook", "gemini-cli"]


def _hook(repo: Repo, event: str, **fields: Any) -> subprocess.CompletedProcess[bytes]:
    body = {"session_id": "g-1", "transcript_path": "/tmp/none.jsonl", "cwd": str(repo.path),
            "hook_event_name": event, "timestamp": datetime.now(UTC).isoformat(), **fields}  # fmt: skip
    return subprocess.run(HOOK, input=json.dumps(body).encode(), capture_output=True, cwd=repo.path, env=repo.env,
                          timeout=60, check=False)  # fmt: skip


def test_hooks_then_the_recording_log_each_call_once_with_its_instants(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init", "--gemini-cli")
    shell = {"command": "pytest -q", "description": "Run the tests"}
    bad = {"file_path": "missing.txt"}
    steps = [
        ("SessionStart", {"source": "startup"}),
        ("BeforeAgent", {"prompt": "run the tests"}),
        ("BeforeTool", {"tool_name": "run_shell_command", "tool_input": shell}),
        ("AfterTool", {"tool_name": "run_shell_command", "tool_input": shell,
                       "tool_response": {"llmContent": "3 passed", "returnDisplay": "3 passed"}}),
        ("BeforeTool", {"tool_name": "read_file", "tool_input": bad}),
        ("AfterTool", {"tool_name": "read_file", "tool_input": bad,
                       "tool_response": {"llmContent": "", "error": {"message": "File not found: missing.txt"}}}),
        ("AfterAgent", {"prompt": "run the tests", "prompt_response": "The tests pass.", "stop_hook_active": False}),
    ]  # fmt: skip
    begun = datetime.now(UTC)
    for event, fields in steps:
        proc = _hook(repo, event, **fields)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b""), event
    logger = SessionLogger(repo.sessions)
    session = "gemini_cli-g-1"
    hooked = logger.read_session(session)
    types = [e["event_type"] for e in hooked]
    assert types == ["state_change", "user_message", "tool_call", "tool_call", "error", "state_change"]
    call = hooked[2]
    assert call["data"]["output"] == "3 passed" and call["data"]["duration_ms"] >= 0
    assert call["dependencies"]["depends_on"] == [hooked[1]["event_id"]]
    assert hooked[4]["failure_ledger"][0] == {
        "attempt": "read_file: missing.txt",
        "failure_reason": "File not found: missing.txt",
    }
    # the recording Gemini CLI wrote meanwhile: the two calls (with their ids) and one more the hook missed
    stamp = (begun + timedelta(milliseconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    later = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def call_record(cid: str, name: str, args: dict[str, Any], status: str, out: str) -> dict[str, Any]:
        key = "error" if status == "error" else "output"
        return {"id": cid, "name": name, "args": args, "status": status, "timestamp": later,
                "result": [{"functionResponse": {"id": cid, "name": name, "response": {key: out}}}]}  # fmt: skip

    path = tmp_path / "session-g-1.jsonl"
    records = [
        {"sessionId": "g-1", "projectHash": "p", "startTime": stamp, "lastUpdated": later},
        {"id": "u1", "timestamp": stamp, "type": "user", "content": [{"text": "run the tests"}]},
        {"id": "m1", "timestamp": stamp, "type": "gemini", "content": "", "model": "gemini-2.5-pro",
         "toolCalls": [call_record("run_shell_command-1", "run_shell_command", shell, "success", "3 passed"),
                       call_record("read_file-2", "read_file", bad, "error", "File not found: missing.txt"),
                       call_record("glob-3", "glob", {"pattern": "*.py"}, "success", "a.py"),
                       call_record("run_shell_command-4", "run_shell_command", {"command": "sleep 600"}, "cancelled", "")]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    for _ in range(2):
        out = repo.run("sessionlog", "import", "gemini-cli", str(path)).stdout
    assert "0 event(s) written" in out
    events = logger.read_session(session)
    tools = [e["data"]["tool"] for e in events if e["event_type"] == "tool_call"]
    assert sorted(tools) == ["glob", "read_file", "run_shell_command", "run_shell_command"]  # hooked ones once
    failures = [e for e in events if e["event_type"] == "error"]
    assert len(failures) == 2 and failures[1]["data"]["interrupted"] is True  # the cancelled call
    assert failures[1]["failure_ledger"][0]["attempt"] == "run_shell_command: sleep 600"
    assert [e["event_type"] for e in events].count("user_message") == 1  # the hooked prompt, paired by its text


def test_init_registers_gemini_hooks_in_milliseconds_keeping_other_settings(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    settings = repo.path / ".gemini" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"model": {"name": "gemini-2.5-pro"}, "hooks": {"BeforeTool": [
        {"matcher": "write_file", "hooks": [{"type": "command", "command": "./guard.sh"}]}]}}))  # fmt: skip
    out = repo.run("sessionlog", "init", "--gemini-cli").stdout
    assert "sessionlog hook gemini-cli registered" in out
    doc = json.loads(settings.read_text())
    assert doc["model"] == {"name": "gemini-2.5-pro"}
    assert doc["hooks"]["BeforeTool"][0]["hooks"][0]["command"] == "./guard.sh"
    assert doc["hooks"]["AfterTool"] == [
        {"matcher": "*", "hooks": [{"type": "command", "command": "sessionlog hook gemini-cli", "timeout": 10000}]}
    ]
    assert "PreToolUse" not in doc["hooks"]  # Gemini CLI refuses Claude Code's names
    before = settings.read_text()
    assert "registered already" in repo.run("sessionlog", "init", "--gemini-cli").stdout
    assert settings.read_text() == before
