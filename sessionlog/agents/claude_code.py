"""Claude Code: its session transcripts (``~/.claude/projects/<project>/<session>.jsonl``) as
session events.

A transcript is one JSON record per line. ``user`` records carry a prompt (string
content) or tool results (``tool_result`` items, ``is_error`` on failures); ``assistant``
records carry text and ``tool_use`` items; ``parentUuid`` links each record to the one it
answers, and subagent records are marked ``isSidechain``. They become:

- a prompt -> ``user_message``;
- a ``tool_use`` -> ``tool_call`` (its input; the tool use id keys it);
- a ``tool_result`` with ``is_error`` -> ``error`` with a failure-ledger entry, depending
  on its ``tool_call``;
- a ``TodoWrite`` (or ``TaskCreate``/``TaskUpdate``) -> also a ``commitment`` event whose
  ``open_commitments`` are the todos, by id, latest status winning;
- ``parentUuid`` -> ``dependencies.depends_on`` (through records that became no event).

Other records (summaries, progress, snapshots, system notes) are counted, not logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sessionlog.agents._shared import Importer, attempt_of, session_id_for, text_of

AGENT = "claude_code"
_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed", "deleted": "cancelled"}


class ClaudeCodeImporter(Importer):
    agent = AGENT

    def import_file(self, path: Path) -> None:
        tool_events: dict[str, str] = {}  # tool use id -> its tool_call event
        tool_names: dict[str, tuple[str, Any]] = {}
        for number, record in self.read_lines(path):
            kind = record.get("type")
            where = f"{path}:{number}"
            native = record.get("sessionId") or path.stem
            session = self.forced_session or session_id_for(AGENT, str(native))
            uuid = str(record.get("uuid") or f"{path.name}:{number}")
            parent = record.get("parentUuid")
            causes = [self._event_of.get(str(parent), "")] if parent else []
            stamp = record.get("timestamp")
            message: dict[str, Any] = record["message"] if isinstance(record.get("message"), dict) else {}
            content = message.get("content")
            made: str | None = None
            if kind == "user" and isinstance(content, str):
                made = self.log(
                    session,
                    uuid,
                    "user_message",
                    "prompt",
                    {"message": content},
                    timestamp=stamp,
                    causes=causes,
                    where=where,
                )
            elif kind == "user" and isinstance(content, list):
                for item in content:
                    if not isinstance(item, dict) or item.get("type") != "tool_result":
                        continue
                    use_id = str(item.get("tool_use_id"))
                    if not item.get("is_error"):
                        continue
                    name, tool_input = tool_names.get(use_id, ("tool", None))
                    reason = text_of(item.get("content")) or "the tool reported an error"
                    made = self.log(
                        session,
                        f"{use_id}:error",
                        "error",
                        name,
                        {"tool": name, "tool_use_id": use_id, "message": reason},
                        timestamp=stamp,
                        causes=[tool_events.get(use_id, ""), *causes],
                        where=where,
                        failure_ledger=[
                            {
                                "attempt": attempt_of(name, tool_input),
                                "failure_reason": reason,
                                **({"timestamp": stamp} if isinstance(stamp, str) else {}),
                            }
                        ],
                    )
            elif kind == "assistant" and isinstance(content, list):
                for item in content:
                    if not isinstance(item, dict) or item.get("type") != "tool_use":
                        continue
                    use_id, name = str(item.get("id")), str(item.get("name") or "tool")
                    tool_input = item.get("input")
                    tool_names[use_id] = (name, tool_input)
                    event_id = self.log(
                        session,
                        use_id,
                        "tool_call",
                        name,
                        {
                            "tool": name,
                            "tool_use_id": use_id,
                            "input": tool_input,
                            **({"sidechain": True} if record.get("isSidechain") else {}),
                        },
                        timestamp=stamp,
                        causes=causes,
                        where=where,
                    )
                    if event_id:
                        tool_events[use_id] = event_id
                        made = event_id
                    todos = todos_of(name, tool_input)
                    if todos:
                        made = (
                            self.log(
                                session,
                                f"{use_id}:plan",
                                "commitment",
                                name,
                                {"kind": "plan", "tool_use_id": use_id},
                                timestamp=stamp,
                                causes=[event_id or ""],
                                where=where,
                                open_commitments=todos,
                            )
                            or made
                        )
            else:
                self.report.skipped[f"{kind or 'untyped'} record(s)"] += 1
            # a record that became no event passes its cause on to the records that answer it
            self._event_of[uuid] = made or (causes[0] if causes else "")


def todos_of(name: str, tool_input: Any, tool_response: Any = None) -> list[dict[str, Any]]:
    """The commitments a plan tool call states: TodoWrite's whole list, or the one task of
    TaskCreate (its id is in the response) or TaskUpdate (``addBlockedBy`` -> dependencies)."""
    if not isinstance(tool_input, dict):
        return []
    if name == "TodoWrite":
        items = tool_input.get("todos")
    elif name in ("TaskCreate", "TaskUpdate"):
        item = dict(tool_input)
        task = tool_response.get("task") if isinstance(tool_response, dict) else None
        if isinstance(task, dict) and task.get("id") is not None:
            item.setdefault("id", task["id"])
        items = [item]
    else:
        return []
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        text = item.get("content") or item.get("subject") or item.get("description")
        ident = item.get("id") or item.get("taskId") or item.get("task_id") or text
        if not isinstance(text, str) and ident is None:
            continue
        entry: dict[str, Any] = {
            "id": str(ident),
            "commitment": str(text or f"task {ident}"),
            "status": _STATUS.get(str(item.get("status", "pending")), "pending"),
        }
        blocked = item.get("addBlockedBy") or item.get("blockedBy")
        if isinstance(blocked, list) and blocked:
            entry["dependencies"] = [str(b) for b in blocked]
        out.append(entry)
    return out


# The hook events Claude Code sends that sessionlog logs: one list, for registering the hook
# (``sessionlog init --claude-code``) and for handling it (``live``).
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionDenied",
    "StopFailure",
    "PreCompact",
    "PostCompact",
    "SubagentStart",
    "SubagentStop",
    "Notification",
    "Stop",
    "SessionEnd",
)


def hook_events() -> tuple[str, ...]:
    """The hook events this agent sends that sessionlog logs."""
    return HOOK_EVENTS
