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

from sessionlog.agents._shared import Call, Importer, add_usage, attempt_of, session_id_for, text_of

AGENT = "claude_code"
_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed", "deleted": "cancelled"}


class ClaudeCodeImporter(Importer):
    agent = AGENT

    def read_file(self, path: Path) -> None:
        turn: _Turn | None = None
        for number, record in self.read_lines(path):
            kind = record.get("type")
            where = f"{path}:{number}"
            native = record.get("sessionId") or path.stem
            session = self.forced_session or session_id_for(AGENT, str(native))
            uuid = str(record.get("uuid") or f"{path.name}:{number}")
            parent = record.get("parentUuid")
            causes = [self._event_of.get(str(parent), "")] if parent else []
            stamp = record.get("timestamp")
            sidechain = bool(record.get("isSidechain"))
            message: dict[str, Any] = record["message"] if isinstance(record.get("message"), dict) else {}
            content = message.get("content")
            made: str | None = None
            if kind == "user" and isinstance(content, str):
                made, turn = self._prompt(session, uuid, content, stamp, sidechain, turn, causes, where)
            elif kind == "user" and isinstance(content, list):
                for item in content:
                    if isinstance(item, dict) and item.get("type") == "tool_result":
                        made = self._result(item, stamp, record, causes, where) or made
            elif kind == "assistant" and isinstance(content, list):
                turn = self._assistant(session, message, stamp, sidechain, turn, causes, where)
            else:
                self.report.skipped[f"{kind or 'untyped'} record(s)"] += 1
            # a record that became no event passes its cause on to the records that answer it
            self._event_of[uuid] = made or (causes[0] if causes else "")

    def _prompt(
        self,
        session: str,
        uuid: str,
        content: str,
        stamp: Any,
        sidechain: bool,
        turn: _Turn | None,
        causes: list[str],
        where: str,
    ) -> tuple[str | None, _Turn | None]:
        """A prompt: the user's ends the turn before it and starts one; a subagent's (from its
        parent agent, ``isSidechain``) is logged marked so."""
        if not sidechain:
            self._end_turn(turn, where)
        made = self.log(
            session,
            uuid,
            "user_message",
            "prompt",
            {"message": content, **({"sidechain": True} if sidechain else {})},
            timestamp=stamp,
            causes=causes,
            where=where,
        )
        return made, (turn if sidechain else _Turn(session, uuid, stamp))

    def _assistant(
        self,
        session: str,
        message: dict[str, Any],
        stamp: Any,
        sidechain: bool,
        turn: _Turn | None,
        causes: list[str],
        where: str,
    ) -> _Turn | None:
        """An assistant record: its tool uses wait for their results; ``end_turn`` ends the turn."""
        if turn is not None:
            turn.saw(message, stamp, sidechain)
        for item in message.get("content") or []:
            if isinstance(item, dict) and item.get("type") == "tool_use":
                use_id, name = str(item.get("id")), str(item.get("name") or "tool")
                data = {"tool": name, "tool_use_id": use_id, "input": item.get("input")}
                if isinstance(message.get("model"), str):
                    data["model"] = message["model"]
                if sidechain:
                    data["sidechain"] = True
                self.call_started(Call(session, use_id, name, data, stamp, causes, where))
        if message.get("stop_reason") == "end_turn" and not sidechain:
            self._end_turn(turn, where)
            return None
        return turn

    def _result(
        self, item: dict[str, Any], stamp: Any, record: dict[str, Any], causes: list[str], where: str
    ) -> str | None:
        """A tool result: its call logged with both instants and the output; an error and a
        failure-ledger entry when it failed; the plan when the call was a todo tool."""
        use_id = str(item.get("tool_use_id"))
        output = text_of(item.get("content"))
        call_event, call = self.call_ended(
            use_id, stamp if isinstance(stamp, str) else None, output, where=where, result=record.get("toolUseResult")
        )
        made = call_event
        name = call.name if call is not None else "tool"
        tool_input = call.data.get("input") if call is not None else None
        session = call.session if call is not None else self._session_of(record)
        if item.get("is_error"):
            reason = output or "the tool reported an error"
            made = self.log(
                session,
                f"{use_id}:error",
                "error",
                name,
                {"tool": name, "tool_use_id": use_id, "message": reason},
                timestamp=stamp,
                causes=[call_event or "", *causes],
                where=where,
                failure_ledger=[
                    {
                        "attempt": attempt_of(name, tool_input),
                        "failure_reason": reason,
                        **({"timestamp": stamp} if isinstance(stamp, str) else {}),
                    }
                ],
            )
        return made

    def call_logged(self, call: Call, event_id: str, result: Any, where: str) -> None:
        todos = todos_of(call.name, call.data.get("input"), result)
        if todos:
            self.log(
                call.session,
                f"{call.key}:plan",
                "commitment",
                call.name,
                {"kind": "plan", "tool_use_id": call.key},
                timestamp=call.started,
                causes=[event_id],
                where=where,
                open_commitments=todos,
            )

    def _session_of(self, record: dict[str, Any]) -> str:
        return self.forced_session or session_id_for(AGENT, str(record.get("sessionId") or "unknown"))

    def _end_turn(self, turn: _Turn | None, where: str) -> None:
        """A turn's end: the model, the token usage of its model calls (each counted once) and
        its last text, as a ``turn_end`` keyed on the turn's prompt."""
        if turn is None or turn.last is None or not turn.answered:
            return  # a prompt nothing answered (the next came first) has no end to log
        self.log(
            turn.session,
            f"{turn.prompt}:end",
            "state_change",
            "Stop",
            turn.summary(),
            timestamp=turn.last,
            causes=[self._event_of.get(turn.prompt, "")],
            where=where,
        )


class _Turn:
    """What a turn's assistant records say: models, token usage by message id, the last text."""

    def __init__(self, session: str, prompt: str, started: Any) -> None:
        self.session = session
        self.prompt = prompt  # the prompt record's uuid
        self.last: str | None = started if isinstance(started, str) else None
        self.models: list[str] = []
        self.usage: dict[str, dict[str, Any]] = {}  # message id -> its usage (the last record's)
        self.text = ""
        self.answered = False  # an assistant record came in this turn

    def saw(self, message: dict[str, Any], stamp: Any, sidechain: bool) -> None:
        self.answered = True
        if isinstance(stamp, str):
            self.last = max(self.last or stamp, stamp)
        model = message.get("model")
        if isinstance(model, str) and model not in self.models and not model.startswith("<"):
            self.models.append(model)
        if isinstance(message.get("usage"), dict):
            self.usage[str(message.get("id") or len(self.usage))] = message["usage"]
        if not sidechain:
            text = text_of([c for c in message.get("content") or [] if isinstance(c, dict) and c.get("type") == "text"])
            self.text = text or self.text

    def summary(self) -> dict[str, Any]:
        total: dict[str, int] = {}
        for usage in self.usage.values():  # one model call streams as several records
            add_usage(total, usage)
        return {
            "kind": "turn_end",
            "last_assistant_message": self.text,
            **({"model": self.models[-1], "models": self.models} if self.models else {}),
            **({"usage": total} if total else {}),
        }


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
    "PreToolUse",
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
