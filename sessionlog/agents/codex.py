"""OpenAI Codex: its rollout transcripts (``~/.codex/sessions/.../rollout-*.jsonl``) as session
events.

A rollout is one JSON record per line, ``{"timestamp", "type", "payload"}``:
``session_meta`` (the session id), ``event_msg`` (``user_message``, ``agent_message``,
token counts...) and ``response_item`` (``function_call``, ``function_call_output``,
``message``, ``reasoning``). They become:

- a ``user_message`` -> ``user_message``, starting a turn;
- a ``function_call`` -> ``tool_call`` (its parsed arguments; the call id keys it),
  depending on the turn's prompt; ``update_plan`` -> also a ``commitment`` event with
  the plan's steps, latest status winning;
- a ``function_call_output`` that reports a non-zero exit (Codex has no failure flag:
  ``Process exited with code N``) -> ``error`` with a failure-ledger entry, depending on
  its ``tool_call``.

Reasoning (encrypted), token counts and the agent's messages are counted, not logged.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import orjson

from sessionlog.agents._shared import Importer, attempt_of, session_id_for, text_of

AGENT = "codex"
_EXIT = re.compile(r"Process exited with code (-?\d+)")
_PLAN_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed"}


class CodexImporter(Importer):
    agent = AGENT

    def import_file(self, path: Path) -> None:
        session = self.forced_session or session_id_for(AGENT, path.stem.removeprefix("rollout-"))
        turn = ""  # the event of the prompt that started the current turn
        calls: dict[str, tuple[str, str, Any]] = {}  # call id -> (its event, tool name, arguments)
        for number, record in self.read_lines(path):
            where = f"{path}:{number}"
            kind = record.get("type")
            payload: dict[str, Any] = record["payload"] if isinstance(record.get("payload"), dict) else {}
            inner = payload.get("type")
            stamp = record.get("timestamp")
            if kind == "session_meta" and isinstance(payload.get("id"), str) and not self.forced_session:
                session = session_id_for(AGENT, payload["id"])
                self.report.skipped["session_meta record(s) (they name the session)"] += 1
            elif kind == "event_msg" and inner == "user_message":
                text = text_of(payload.get("message"))
                key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
                turn = (
                    self.log(
                        session,
                        f"user:{stamp}:{key}",
                        "user_message",
                        "prompt",
                        {"message": text},
                        timestamp=stamp,
                        causes=[],
                        where=where,
                    )
                    or turn
                )
            elif kind == "response_item" and inner == "function_call":
                call_id, name = str(payload.get("call_id")), str(payload.get("name") or "tool")
                arguments = _arguments(payload.get("arguments"))
                event_id = (
                    self.log(
                        session,
                        call_id,
                        "tool_call",
                        name,
                        {"tool": name, "call_id": call_id, "input": arguments},
                        timestamp=stamp,
                        causes=[turn],
                        where=where,
                    )
                    or ""
                )
                calls[call_id] = (event_id, name, arguments)
                steps = _plan(name, arguments)
                if steps:
                    self.log(
                        session,
                        f"{call_id}:plan",
                        "commitment",
                        name,
                        {"kind": "plan", "call_id": call_id},
                        timestamp=stamp,
                        causes=[event_id],
                        where=where,
                        open_commitments=steps,
                    )
            elif kind == "response_item" and inner == "function_call_output":
                call_id = str(payload.get("call_id"))
                output = text_of(payload.get("output"))
                code = _exit_code(output)
                if code:
                    event_id, name, arguments = calls.get(call_id, ("", "tool", None))
                    reason = f"exited with code {code}"
                    self.log(
                        session,
                        f"{call_id}:error",
                        "error",
                        name,
                        {"tool": name, "call_id": call_id, "exit_code": code, "output": output},
                        timestamp=stamp,
                        causes=[event_id],
                        where=where,
                        failure_ledger=[
                            {"attempt": attempt_of(name, arguments), "failure_reason": reason, "error_code": str(code)}
                        ],
                    )
            else:
                self.report.skipped[f"{kind}:{inner} record(s)" if inner else f"{kind} record(s)"] += 1


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


def _exit_code(output: str) -> int:
    found = _EXIT.search(output[:2000])
    return int(found.group(1)) if found else 0


def _plan(name: str, arguments: Any) -> list[dict[str, Any]]:
    if name != "update_plan" or not isinstance(arguments, dict) or not isinstance(arguments.get("plan"), list):
        return []
    steps = []
    for item in arguments["plan"]:
        if isinstance(item, dict) and isinstance(item.get("step"), str):
            status = _PLAN_STATUS.get(str(item.get("status")), "pending")
            steps.append({"id": item["step"], "commitment": item["step"], "status": status})
    return steps


# The hook events Codex sends that sessionlog logs: one list, for registering the hook
# (``sessionlog init --codex``) and for handling it (``live``). Codex has no
# PostToolUseFailure, PermissionDenied or StopFailure: its failures come from the rollout
# (``sessionlog import codex``).
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)


def hook_events() -> tuple[str, ...]:
    """The hook events this agent sends that sessionlog logs."""
    return HOOK_EVENTS
