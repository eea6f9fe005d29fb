"""``sessionlog hook claude-code|codex|gemini-cli``: an agent's hook payload (JSON on stdin) as events.

Each agent runs the command for every hook event; the command dispatches on
``hook_event_name``. It must never hurt the agent: stdin is read with a deadline,
nothing is printed on stdout (Claude Code injects SessionStart and UserPromptSubmit
stdout into the model's context; Codex rejects non-JSON stdout on Stop), the exit code
is always 0, and a problem goes to stderr and, when it can, into the log as an ``error``.
Events are keyed on the agent's own ids, as the transcript importers key them, so a
session both hooked and imported holds each tool call once; a prompt, which hooks send without
the id of its record, is paired with it by its text and time (``hook_match``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from sessionlog import SessionLogger
from sessionlog.agents._shared import (
    PAIRING_WINDOW,
    append_mapped,
    attempt_of,
    now,
    prompt_match,
    seconds_of,
    session_id_for,
    text_of,
    timing,
    turn_end_match,
)
from sessionlog.agents.claude_code import todos_of


class Hook:
    """One hook invocation: its payload, the session it logs into, and the logger."""

    def __init__(self, agent: str, payload: dict[str, Any], logger: SessionLogger) -> None:
        self.agent = agent
        self.payload = payload
        self.logger = logger
        native = str(payload.get("session_id") or "unknown")
        self.session = session_id_for(agent, native)

    def log(
        self,
        event_type: str,
        source: str,
        data: dict[str, Any],
        *,
        key: str | None,
        causes: Sequence[str] = (),
        timestamp: str | None = None,
        already: Callable[[], str] | None = None,
        **blocks: Any,
    ) -> str | None:
        """Append one event (once per *key*, the agent's own id); return its event id. *already*
        finds the same event logged without that key (an import that ran first)."""
        if key is None and already is None:
            return self._append(event_type, source, data, key=None, causes=causes, timestamp=timestamp, **blocks)
        with self.logger.key_lock(self.session):  # an import of this session waits, or is done
            existing = (self.find(key) if key is not None else None) or (already() if already else None)
            if existing:
                return existing
            return self._append(event_type, source, data, key=key, causes=causes, timestamp=timestamp, **blocks)

    def _append(
        self,
        event_type: str,
        source: str,
        data: dict[str, Any],
        *,
        key: str | None,
        causes: Sequence[str],
        timestamp: str | None,
        **blocks: Any,
    ) -> str | None:
        body = dict(data)
        for name in ("agent_id", "agent_type", "turn_id"):
            if isinstance(self.payload.get(name), str):
                body.setdefault(name, self.payload[name])
        result = append_mapped(
            self.logger,
            self.session,
            self.agent,
            event_type,
            source,
            body,
            source_id=key,
            causes=causes,
            timestamp=timestamp,
            **blocks,
        )
        if not result.ok:
            raise HookProblem(result.error or "refused")
        return result.event_id

    def find(self, key: str) -> str | None:
        """The event already logged for the agent's id *key*, if any."""
        return self.latest(orjson.dumps(key), lambda e: e.get("data", {}).get("source_id") == key) or None

    def latest(self, needle: bytes, matches: Callable[[dict[str, Any]], bool]) -> str:
        """The id of the newest event that holds *needle* and *matches*, or ``""``.

        Only the session's newest events (its last 4 MiB) are looked at, and only lines holding
        *needle* are decoded: a hook costs the same at 20,000 events as at 10. What it looks for
        (the turn's prompt, the subagent's start, this tool call logged already) is that recent.
        """
        found = self.logger.latest_event(self.session, needle, matches)
        return str(found["event_id"]) if found is not None else ""

    def subagent_start(self, agent_id: object) -> str:
        return self.latest(
            b'"subagent_start"',
            lambda e: e.get("data", {}).get("kind") == "subagent_start" and e["data"].get("agent_id") == agent_id,
        )

    def cause(self) -> str:
        """What an event of this payload answers: in a subagent, the event that started the
        subagent; otherwise the prompt of the turn."""
        agent_id = self.payload.get("agent_id")
        if isinstance(agent_id, str) and self.payload.get("hook_event_name") != "SubagentStart":
            started = self.subagent_start(agent_id)
            if started:
                return started
        return self.latest(b'"user_message"', lambda e: e.get("event_type") == "user_message")


class HookProblem(Exception):
    """An event the log refused; reported, never raised to the agent."""


def _started_path(hook: Hook, use_id: str) -> Path:
    return hook.logger.private_path("started", hook.session) / quote(use_id, safe="")


def _tool_start(hook: Hook) -> None:
    """PreToolUse: keep the instant the call starts (no log line: the call is logged once, by
    PostToolUse, with both instants)."""
    use_id = hook.payload.get("tool_use_id")
    if not isinstance(use_id, str) or not use_id:
        return
    path = _started_path(hook, use_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(now(), encoding="utf-8")


def _take_start(hook: Hook, use_id: str) -> str | None:
    """The instant PreToolUse kept for *use_id* (removed: it is used once), or None."""
    path = _started_path(hook, use_id)
    try:
        started = path.read_text(encoding="utf-8").strip()
        path.unlink()
    except OSError:
        return None
    return started or None


def _tool_use(hook: Hook, *, failed: bool) -> None:
    p = hook.payload
    name = str(p.get("tool_name") or "tool")
    use_id = str(p.get("tool_use_id") or f"{name}:{time.time_ns()}")
    ended = now()
    started = _take_start(hook, use_id)
    data: dict[str, Any] = {"tool": name, "tool_use_id": use_id, "input": p.get("tool_input")}
    if "tool_response" in p:
        data["response"] = p["tool_response"]
    data.update(timing(started, ended))
    if isinstance(p.get("duration_ms"), (int, float)):  # the agent's own figure, when it gives one
        data["duration_ms"] = p["duration_ms"]
    call = hook.log("tool_call", name, data, key=use_id, causes=[hook.cause()], timestamp=started)
    if failed:
        reason = text_of(p.get("error")) or "the tool failed"
        hook.log(
            "error",
            name,
            {"tool": name, "tool_use_id": use_id, "message": reason, "interrupted": bool(p.get("is_interrupt"))},
            key=f"{use_id}:error",
            causes=[call or ""],
            failure_ledger=[
                {"attempt": attempt_of(name, p.get("tool_input")), "failure_reason": reason.split("\n")[0]}
            ],
        )
        return
    todos = todos_of(name, p.get("tool_input"), p.get("tool_response"))
    if todos and name == "TaskUpdate":
        # an update names the task by id only: keep the words it was created with
        known = {c.get("id"): c["commitment"] for c in hook.logger.get_open_commitments(hook.session)}
        todos = [{**t, "commitment": known.get(t["id"], t["commitment"])} for t in todos]
    if todos:
        hook.log(
            "commitment",
            name,
            {"kind": "plan", "tool_use_id": use_id},
            key=f"{use_id}:plan",
            causes=[call or ""],
            open_commitments=todos,
        )


def _state(kind: str, *fields: str) -> Callable[[Hook], None]:
    def handle(hook: Hook) -> None:
        data = {"kind": kind, **{f: hook.payload[f] for f in fields if f in hook.payload}}
        hook.log(
            "state_change",
            hook.payload.get("hook_event_name", kind),
            data,
            key=None,
            causes=[hook.cause()],
        )

    return handle


def _turn_end(answer: str) -> Callable[[Hook], None]:
    """Stop (AfterAgent): the turn's end, with the agent's last words from the payload's *answer*
    field and the ``hook_match`` naming the prompt it answers, for an import to pair its own turn
    end with; nothing when an import logged this turn's end first."""

    def handle(hook: Hook) -> None:
        p = hook.payload
        cause = hook.cause()
        data: dict[str, Any] = {"kind": "turn_end", "last_assistant_message": text_of(p.get(answer))}
        if isinstance(p.get("model"), str):  # Codex sends it
            data["model"] = p["model"]
        if cause:
            data["hook_match"] = turn_end_match(cause)
        hook.log(
            "state_change",
            str(p.get("hook_event_name") or "Stop"),
            data,
            key=None,
            causes=[cause],
            already=(lambda: _turn_ended(hook, cause)) if cause else None,
        )

    return handle


def _turn_ended(hook: Hook, prompt: str) -> str:
    """The end of the turn of *prompt* that an import logged first, if it did."""
    return hook.latest(
        b'"turn_end"',
        lambda e: (
            e.get("event_type") == "state_change"
            and (e.get("data") or {}).get("kind") == "turn_end"
            and ((e.get("dependencies") or {}).get("depends_on") or [None])[0] == prompt
        ),
    )


def _prompt(hook: Hook) -> None:
    """A prompt, with the ``hook_match`` an import pairs its transcript record by; none is
    logged when an import that ran first logged that record already."""
    p = hook.payload
    prompt = text_of(p.get("prompt"))
    key = f"prompt:{p['prompt_id']}" if isinstance(p.get("prompt_id"), str) else None
    kept = hook.logger.redactor.clean_text(prompt) if hook.logger.redactor is not None else prompt
    match = prompt_match(kept)
    asked = time.time()
    needle = orjson.dumps(kept.strip()[:40])[1:-1] or b'"user_message"'

    def imported(event: dict[str, Any]) -> bool:
        data = event.get("data") or {}
        at = seconds_of(event.get("timestamp"))
        return (
            event.get("event_type") == "user_message"
            and "hook_match" not in data
            and not data.get("sidechain")
            and isinstance(data.get("message"), str)
            and at is not None
            and abs(at - asked) <= PAIRING_WINDOW
            and prompt_match(data["message"]) == match  # kept as logged: redacted already
        )

    hook.log(
        "user_message",
        "prompt",
        {"message": prompt, "hook_match": match},
        key=key,
        already=lambda: hook.latest(needle, imported),
    )


def _denied(hook: Hook) -> None:
    p = hook.payload
    name = str(p.get("tool_name") or "tool")
    reason = text_of(p.get("reason")) or "permission denied"
    hook.log(
        "constraint_applied",
        name,
        {"tool": name, "tool_use_id": p.get("tool_use_id"), "input": p.get("tool_input"), "reason": reason},
        key=f"{p.get('tool_use_id')}:denied" if p.get("tool_use_id") else None,
        causes=[hook.cause()],
        active_constraints=[{"constraint": f"{name} not permitted: {reason}", "source": "permission"}],
    )


def _api_failure(hook: Hook) -> None:
    p = hook.payload
    kind = text_of(p.get("error")) or "unknown"
    detail = text_of(p.get("error_details")) or text_of(p.get("last_assistant_message"))
    hook.log(
        "error",
        "api",
        {"kind": "api_error", "error": kind, "message": detail},
        key=None,
        causes=[hook.cause()],
        failure_ledger=[{"attempt": "model turn", "failure_reason": f"API error: {kind}"}],
    )


def _subagent_stop(hook: Hook) -> None:
    started = hook.subagent_start(hook.payload.get("agent_id"))
    data = {"kind": "subagent_stop", "last_assistant_message": text_of(hook.payload.get("last_assistant_message"))}
    hook.log("state_change", "SubagentStop", data, key=None, causes=[started])


# The events Claude Code and Codex send; each agent's module lists its own (HOOK_EVENTS), as its
# transcript importer shares its mapping.
HANDLERS: dict[str, Callable[[Hook], None]] = {
    "SessionStart": _state("session_start", "source", "model", "agent_type", "session_title"),
    "UserPromptSubmit": _prompt,
    "UserPromptExpansion": _prompt,
    "PreToolUse": _tool_start,
    "PostToolUse": lambda hook: _tool_use(hook, failed=False),
    "PostToolUseFailure": lambda hook: _tool_use(hook, failed=True),
    "PermissionDenied": _denied,
    "StopFailure": _api_failure,
    "PreCompact": _state("compaction", "trigger"),
    "PostCompact": _state("compacted", "trigger"),
    "SubagentStart": _state("subagent_start", "agent_id", "agent_type"),
    "SubagentStop": _subagent_stop,
    "Notification": _state("notification", "notification_type", "message"),
    "Stop": _turn_end("last_assistant_message"),
    "SessionEnd": _state("session_end", "reason"),
}


def _gemini_started_path(hook: Hook, match: str) -> Path:
    return hook.logger.private_path("started", hook.session) / quote(f"gemini:{match}", safe="")


def _gemini_tool_start(hook: Hook) -> None:
    """BeforeTool: Gemini CLI sends no call id, so the start instant is queued under the tool and
    its arguments (``hook_match``); AfterTool takes the oldest one of that call."""
    from sessionlog.agents.gemini_cli import hook_match

    p = hook.payload
    path = _gemini_started_path(hook, hook_match(str(p.get("tool_name") or "tool"), p.get("tool_input")))
    path.parent.mkdir(parents=True, exist_ok=True)
    with hook.logger.key_lock(hook.session), open(path, "a", encoding="utf-8") as queue:
        queue.write(now() + "\n")


def _gemini_take_start(hook: Hook, match: str) -> str | None:
    path = _gemini_started_path(hook, match)
    with hook.logger.key_lock(hook.session):
        try:
            queued = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        rest = queued[1:]
        if rest:
            path.write_text("\n".join(rest) + "\n", encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
    return queued[0].strip() if queued and queued[0].strip() else None


def _gemini_tool_use(hook: Hook) -> None:
    """AfterTool: the call, from its BeforeTool instant to now, keyed on its start (the importer
    pairs it with the recording's call by ``hook_match`` and time); an ``error`` when the tool
    response holds one."""
    from sessionlog.agents.gemini_cli import hook_match

    p = hook.payload
    name = str(p.get("tool_name") or "tool")
    match = hook_match(name, p.get("tool_input"))
    ended = now()
    started = _gemini_take_start(hook, match)
    raw = p.get("tool_response")
    response: dict[str, Any] = raw if isinstance(raw, dict) else {}
    output = text_of(response.get("llmContent")) or text_of(response.get("returnDisplay"))
    data: dict[str, Any] = {"tool": name, "input": p.get("tool_input"), "output": output, "hook_match": match}
    data.update(timing(started, ended))
    key = f"hook:{match}:{started or ended}"
    call = hook.log("tool_call", name, data, key=key, causes=[hook.cause()], timestamp=started)
    failure = response.get("error")
    if failure:
        reason = text_of(failure.get("message") if isinstance(failure, dict) else failure) or "the tool failed"
        hook.log(
            "error",
            name,
            {"tool": name, "message": reason, "hook_match": match},
            key=f"{key}:error",
            causes=[call or ""],
            failure_ledger=[
                {"attempt": attempt_of(name, p.get("tool_input")), "failure_reason": reason.split("\n")[0]}
            ],
        )


# Gemini CLI names its events its own way; a prompt comes as BeforeAgent's ``prompt``.
GEMINI_HANDLERS: dict[str, Callable[[Hook], None]] = {
    "SessionStart": _state("session_start", "source"),
    "BeforeAgent": _prompt,
    "BeforeTool": _gemini_tool_start,
    "AfterTool": _gemini_tool_use,
    "AfterAgent": _turn_end("prompt_response"),
    "PreCompress": _state("compaction", "trigger"),
    "Notification": _state("notification", "notification_type", "message"),
    "SessionEnd": _state("session_end", "reason"),
}


def _events_of(agent: str) -> dict[str, Callable[[Hook], None]]:
    """The events *agent* sends that are logged, with their handlers: the agent's own list
    (``HOOK_EVENTS`` of its module, which ``sessionlog init`` registers too)."""
    import importlib

    handlers = {"claude_code": HANDLERS, "codex": HANDLERS, "gemini_cli": GEMINI_HANDLERS}.get(agent, {})
    events = importlib.import_module(f"sessionlog.agents.{agent}").HOOK_EVENTS if handlers else ()
    return {name: handlers[name] for name in events}


def run(agent: str, raw: bytes, *, base_dir: Path | None = None) -> list[str]:
    """Log one hook payload; return the problems (never raise: the agent must not notice)."""
    problems: list[str] = []
    try:
        payload = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        return [f"payload is not JSON ({len(raw)} bytes): {exc}"]
    if not isinstance(payload, dict):
        return ["no payload on stdin (empty, or not a JSON object)"]
    handler = _events_of(agent).get(str(payload.get("hook_event_name")))
    if handler is None:
        return []  # an event sessionlog does not log
    cwd = payload.get("cwd")
    if base_dir is None and isinstance(cwd, str) and os.path.isdir(cwd):
        os.chdir(cwd)  # the agent's project: its git top-level holds the sessions folder
    try:
        with SessionLogger(base_dir) as logger:
            hook = Hook(agent, payload, logger)
            try:
                handler(hook)
            except HookProblem as exc:
                problems.append(f"{payload.get('hook_event_name')}: not logged: {exc}")
                hook.log("error", "sessionlog hook", {"kind": "hook_problem", "message": str(exc)}, key=None)
    except Exception as exc:  # noqa: BLE001 - the agent must never see a hook fail
        problems.append(f"{payload.get('hook_event_name')}: {type(exc).__name__}: {exc}")
    return problems


def hook_main(argv: list[str]) -> int:
    """The warm runner's entry (``sessionlog.warm``): ``[agent]``, the payload read on stdin by the
    client already; log it, say problems on stderr, exit 0 whatever happens."""
    agent = argv[0] if argv else "?"
    try:
        problems = run(agent, sys.stdin.buffer.read())
    except Exception as exc:  # noqa: BLE001 - see above
        problems = [f"{type(exc).__name__}: {exc}"]
    for problem in problems:
        print(f"sessionlog hook {agent}: {problem}", file=sys.stderr)
    return 0
