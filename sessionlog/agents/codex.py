"""OpenAI Codex: its rollout transcripts (``~/.codex/sessions/.../rollout-*.jsonl``) as session
events.

A rollout is one JSON record per line, ``{"timestamp", "type", "payload"}``:
``session_meta`` (the session id), ``turn_context`` (the model), ``event_msg`` (``user_message``,
``token_count``, ``task_complete``...) and ``response_item`` (the calls and their outputs,
messages, reasoning). They become:

- a ``user_message`` -> ``user_message``, starting a turn;
- every call the model made -> one ``tool_call``, logged when its output is read, with both
  instants (``data.ended_at``, ``data.duration_ms``) and the output: ``function_call`` (its
  parsed arguments), ``custom_tool_call`` (``apply_patch``: the patch is the input),
  ``local_shell_call`` (its ``action``), each keyed on its ``call_id``; ``web_search_call``
  (its ``action``; it has no output record) at once. ``update_plan`` -> also a ``commitment``
  event with the plan's steps, latest status winning;
- an output that reports a non-zero exit (Codex has no failure flag: ``Process exited with
  code N``, or ``metadata.exit_code`` of a custom tool's output) -> ``error`` with a
  failure-ledger entry, depending on its ``tool_call``;
- ``task_complete`` -> a ``turn_end`` state change with the turn's model, token usage (the
  sum of its ``token_count`` records' ``last_token_usage``) and last message.

Reasoning (encrypted) and the agent's messages are counted, not logged.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import orjson

from sessionlog.agents._shared import Call, Importer, add_usage, attempt_of, session_id_for, text_of

AGENT = "codex"
_EXIT = re.compile(r"(?m)^(?:Process exited with code|Exit code:?) (-?\d+)")
_PLAN_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed"}
_CALLS = {"function_call", "custom_tool_call", "local_shell_call"}
_OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output"}


class CodexImporter(Importer):
    agent = AGENT

    def read_file(self, path: Path) -> None:
        state = _Rollout(self.forced_session or session_id_for(AGENT, path.stem.removeprefix("rollout-")))
        for number, record in self.read_lines(path):
            kind = record.get("type")
            payload: dict[str, Any] = record["payload"] if isinstance(record.get("payload"), dict) else {}
            inner = payload.get("type")
            stamp = record.get("timestamp")
            where = f"{path}:{number}"
            if kind == "session_meta" and isinstance(payload.get("id"), str) and not self.forced_session:
                state.session = session_id_for(AGENT, payload["id"])
                self.report.skipped["session_meta record(s) (they name the session)"] += 1
            elif kind == "turn_context":
                state.model = str(payload.get("model") or state.model)
                self.report.skipped["turn_context record(s) (they name the model)"] += 1
            elif kind == "event_msg" and inner in ("user_message", "token_count", "task_complete"):
                self._turn_record(state, str(inner), payload, stamp, where)
            elif kind == "response_item" and inner in _CALLS:
                self._call(state, str(inner), payload, stamp, where)
            elif kind == "response_item" and inner in _OUTPUTS:
                self._output(state, payload, stamp, where)
            elif kind == "response_item" and inner == "web_search_call":
                action = payload.get("action")
                digest = hashlib.sha256(orjson.dumps(action, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
                key = str(payload.get("id") or f"web_search:{stamp}:{digest}")
                data = {"tool": "web_search", "call_id": key, "input": action, "status": payload.get("status")}
                if state.model:
                    data["model"] = state.model
                self.call_started(Call(state.session, key, "web_search", data, stamp, [state.turn], where))
                self.call_ended(key, None, None, where=where)  # it has no output record
            else:
                self.report.skipped[f"{kind}:{inner} record(s)" if inner else f"{kind} record(s)"] += 1

    def _turn_record(self, state: _Rollout, inner: str, payload: dict[str, Any], stamp: Any, where: str) -> None:
        """A prompt starts a turn; token counts add up in it; ``task_complete`` ends it."""
        if inner == "token_count":
            info = payload.get("info")
            add_usage(state.usage, info.get("last_token_usage") if isinstance(info, dict) else None)
            return
        if inner == "user_message":
            text = text_of(payload.get("message"))
            key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            state.usage = {}
            state.turn = (
                self.log(
                    state.session,
                    f"user:{stamp}:{key}",
                    "user_message",
                    "prompt",
                    {"message": text},
                    timestamp=stamp,
                    causes=[],
                    where=where,
                )
                or state.turn
            )
            return
        data: dict[str, Any] = {
            "kind": "turn_end",
            "last_assistant_message": text_of(payload.get("last_agent_message")),
            **({"model": state.model} if state.model else {}),
            **({"usage": state.usage} if state.usage else {}),
            **({"turn_id": payload["turn_id"]} if isinstance(payload.get("turn_id"), str) else {}),
        }
        if isinstance(payload.get("duration_ms"), (int, float)):
            data["duration_ms"] = payload["duration_ms"]
        key = f"turn:{payload.get('turn_id') or stamp}:end"
        self.log(state.session, key, "state_change", "Stop", data, timestamp=stamp, causes=[state.turn], where=where)
        state.usage = {}

    def _call(self, state: _Rollout, inner: str, payload: dict[str, Any], stamp: Any, where: str) -> None:
        """A call the model made: logged when its output is read."""
        call_id = str(payload.get("call_id") or payload.get("id"))
        name = str(payload.get("name") or ("shell" if inner == "local_shell_call" else "tool"))
        if inner == "custom_tool_call":
            arguments = payload.get("input")  # apply_patch: the patch text
        elif inner == "local_shell_call":
            arguments = payload.get("action")
        else:
            arguments = _arguments(payload.get("arguments"))
        data = {"tool": name, "call_id": call_id, "input": arguments, **({"model": state.model} if state.model else {})}
        self.call_started(Call(state.session, call_id, name, data, stamp, [state.turn], where))

    def _output(self, state: _Rollout, payload: dict[str, Any], stamp: Any, where: str) -> None:
        """A call's output: the call logged with both instants; an error when it exited non-zero."""
        call_id = str(payload.get("call_id"))
        output, code = _output_of(payload.get("output"))
        event_id, call = self.call_ended(call_id, stamp if isinstance(stamp, str) else None, output, where=where)
        if not code:
            return
        name = call.name if call is not None else "tool"
        tool_input = call.data.get("input") if call is not None else None
        self.log(
            call.session if call is not None else state.session,
            f"{call_id}:error",
            "error",
            name,
            {"tool": name, "call_id": call_id, "exit_code": code, "output": output},
            timestamp=stamp,
            causes=[event_id or ""],
            where=where,
            failure_ledger=[
                {
                    "attempt": attempt_of(name, tool_input),
                    "failure_reason": f"exited with code {code}",
                    "error_code": str(code),
                }
            ],
        )

    def call_logged(self, call: Call, event_id: str, result: Any, where: str) -> None:
        steps = _plan(call.name, call.data.get("input"))
        if steps:
            self.log(
                call.session,
                f"{call.key}:plan",
                "commitment",
                call.name,
                {"kind": "plan", "call_id": call.key},
                timestamp=call.started,
                causes=[event_id],
                where=where,
                open_commitments=steps,
            )


class _Rollout:
    """Where a rollout is: its session, the current turn's prompt event, model and token usage."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.turn = ""
        self.model = ""
        self.usage: dict[str, int] = {}


def _output_of(raw: Any) -> tuple[str, int]:
    """A call output's text and exit code: a string (``Process exited with code N`` in it), or a
    custom tool's JSON ``{"output": ..., "metadata": {"exit_code": N}}``."""
    text = text_of(raw)
    parsed = _arguments(text) if text.startswith("{") else None
    if isinstance(parsed, dict) and isinstance(parsed.get("metadata"), dict):
        code = parsed["metadata"].get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return text_of(parsed.get("output")) or text, code
    return text, _exit_code(text)


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
    "PreToolUse",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)
