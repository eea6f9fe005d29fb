"""Google Gemini CLI: its chat recordings (``~/.gemini/tmp/<project>/chats/session-*.jsonl``, or
``session-*.json`` before v0.39) as session events.

A recording is replayed as Gemini CLI replays it: in JSONL, the first record names the session
(``sessionId``, ``kind``), a message (``{id, timestamp, type, content, ...}``) is written again
each time it changes (its tokens and tool results arrive later: the last copy wins), ``$set``
updates the metadata (a ``messages`` list in it is a checkpoint of every message), and
``$rewindTo`` takes the conversation back to before a message. The legacy format is one JSON
document ``{sessionId, messages: [...]}``. What happened stays logged: a message the user later
rewound past is still imported (its tool calls ran), and the rewind is a ``state_change``.

Messages become:

- ``user`` with text -> ``user_message``, starting a turn;
- each of a ``gemini`` message's ``toolCalls`` -> one ``tool_call`` keyed on the call's ``id``,
  from the message's instant to the call's own ``timestamp`` (``data.ended_at``,
  ``data.duration_ms``), with its arguments and the output of its ``functionResponse``; a status
  other than ``success`` -> also an ``error`` with a failure-ledger entry (``cancelled``: marked
  interrupted);
- the turn's ``gemini`` messages -> at the next prompt, or at the end when the model last
  answered in words without calling a tool (how a Gemini turn ends), a ``turn_end`` with the
  models, the summed token usage (as ``input_tokens``/``output_tokens``, cached and reasoning
  tokens named apart) and the last answer;
- ``error`` records -> ``error`` events; ``info`` and ``warning`` -> ``state_change``.

Thoughts (the model's reasoning summaries) are counted, not logged. A subagent's recording
(``chats/<parent session id>/<id>.jsonl``) goes into the parent's session, marked ``sidechain``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sessionlog import SessionLogger
from sessionlog.agents._shared import Call, Importer, attempt_of, session_id_for, text_of

AGENT = "gemini_cli"
_ENDED = {"success", "error", "cancelled"}


@dataclass
class _Recording:
    """A recording replayed: its metadata, each message's last copy in first-seen order, rewinds."""

    meta: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # id -> (line, last copy)
    rewinds: list[tuple[int, str]] = field(default_factory=list)  # (line, message id)

    def take(self, number: int, message: dict[str, Any]) -> None:
        first = self.messages.get(str(message["id"]), (number, {}))[0]
        self.messages[str(message["id"])] = (first, message)


class GeminiCliImporter(Importer):
    agent = AGENT

    def __init__(self, logger: SessionLogger, session: str | None = None) -> None:
        super().__init__(logger, session)
        self._alias: dict[str, str] = {}  # call id -> the key the live hook logged it under

    def call_started(self, call: Call) -> None:
        """A call the live hook logged already (same tool and arguments, started about when the
        call's message was written) is that event: claimed once, in order, so importing again
        pairs the same way."""
        if call.key not in self.known(call.session):
            match = hook_match(call.name, call.data.get("input"))
            hooked = self.claim(call.session, "tool_call", match, call.started)
            if hooked is not None:
                event_id, key, _ = hooked
                self._alias[call.key] = key
                self._event_of[call.key] = event_id
                self.known(call.session).add(call.key)
        super().call_started(call)

    def read_file(self, path: Path) -> None:
        recording = self._replay(path)
        meta = recording.meta
        native = str(meta.get("sessionId") or path.stem.removeprefix("session-"))
        sidechain = meta.get("kind") == "subagent" and path.parent.name != "chats"
        session = self.forced_session or session_id_for(AGENT, path.parent.name if sidechain else native)
        turn = _Turn("")
        for number, message in sorted(recording.messages.values(), key=lambda m: m[0]):
            where = f"{path}:{number}"
            kind = message.get("type")
            stamp = message.get("timestamp")
            if kind == "user":
                text = text_of([p for p in _parts(message.get("content")) if isinstance(p.get("text"), str)])
                if not text:
                    self.report.skipped["user record(s) without text (tool results)"] += 1
                    continue
                self._end_turn(session, turn, where)
                data: dict[str, Any] = {"message": text, **({"sidechain": True} if sidechain else {})}
                key = str(message["id"])
                turn = _Turn(key)
                turn.prompt = (
                    self.log(session, key, "user_message", "prompt", data, timestamp=stamp, causes=[], where=where)
                    or ""
                )
            elif kind == "gemini":
                self._reply(session, turn, message, where, sidechain=sidechain)
            elif kind == "error":
                text = text_of(message.get("content")) or "error"
                self.log(
                    session,
                    str(message["id"]),
                    "error",
                    "gemini",
                    {"kind": "agent_error", "message": text},
                    timestamp=stamp,
                    causes=[turn.prompt],
                    where=where,
                    failure_ledger=[{"attempt": "model turn", "failure_reason": text.split("\n")[0][:500]}],
                )
            elif kind in ("info", "warning"):
                data = {"kind": str(kind), "message": text_of(message.get("content"))}
                self.log(
                    session, str(message["id"]), "state_change", str(kind), data,
                    timestamp=stamp, causes=[turn.prompt], where=where,
                )  # fmt: skip
            else:
                self.report.skipped[f"{kind} record(s)"] += 1
        if turn.replied_in_words:
            self._end_turn(session, turn, f"{path}:end")
        for number, target in recording.rewinds:
            seen = sum(1 for n, t in recording.rewinds if t == target and n <= number)
            self.log(
                session, f"rewind:{target}:{seen}", "state_change", "rewind", {"kind": "rewind", "to_message": target},
                timestamp=None, causes=[self._event_of.get(target, "")], where=f"{path}:{number}",
            )  # fmt: skip

    def _replay(self, path: Path) -> _Recording:
        """The recording in *path*, replayed (JSONL, or the legacy single JSON document)."""
        recording = _Recording()
        with open(path, "rb") as stream:
            head = stream.read(64).lstrip()
        if path.suffix == ".json" or (head.startswith(b"{") and b"\n" not in head and not head.endswith(b"}")):
            try:
                document = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                document = None
            if isinstance(document, dict) and isinstance(document.get("messages"), list):
                recording.meta = {k: v for k, v in document.items() if k != "messages"}
                for index, message in enumerate(document["messages"], 1):
                    self._message(recording, index, message, path)
                return recording
            if path.suffix == ".json":
                self.report.problems.append(f"{path}: not a Gemini CLI recording (no messages list), skipped")
                return recording
        for number, record in self.read_lines(path):
            if isinstance(record.get("$rewindTo"), str):
                recording.rewinds.append((number, record["$rewindTo"]))
            elif isinstance(record.get("$set"), dict):
                update = record["$set"]
                recording.meta.update({k: v for k, v in update.items() if k != "messages"})
                for message in update.get("messages") or [] if isinstance(update.get("messages"), list) else []:
                    self._message(recording, number, message, path)  # a checkpoint: last copies win
            elif isinstance(record.get("id"), str):
                self._message(recording, number, record, path)
            elif isinstance(record.get("sessionId"), str):
                recording.meta.update(record)
            else:
                self.report.skipped["records of no known kind"] += 1
        return recording

    def _message(self, recording: _Recording, number: int, message: Any, path: Path) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("id"), str):
            self.report.problems.append(f"{path}:{number}: a message without an id, skipped")
            return
        recording.take(number, message)

    def _reply(self, session: str, turn: _Turn, message: dict[str, Any], where: str, *, sidechain: bool) -> None:
        """A model message: its tool calls, and what it adds to the turn (model, tokens, words)."""
        stamp = message.get("timestamp")
        model = message.get("model") if isinstance(message.get("model"), str) else ""
        if model:
            turn.models.append(model)
        turn.add_tokens(message.get("tokens"))
        turn.last_stamp = stamp if isinstance(stamp, str) else turn.last_stamp
        text = text_of([p for p in _parts(message.get("content")) if isinstance(p.get("text"), str)])
        calls = [c for c in message.get("toolCalls") or [] if isinstance(c, dict)]
        turn.replied_in_words = bool(text) and not calls
        if text:
            turn.answer = text
        if message.get("thoughts"):
            self.report.skipped["thought summaries (counted, not logged)"] += len(message["thoughts"])
        for index, raw in enumerate(calls):
            name = str(raw.get("name") or "tool")
            key = str(raw.get("id") or f"{message['id']}:{index}")
            data: dict[str, Any] = {"tool": name, "call_id": key, "input": raw.get("args")}
            if model:
                data["model"] = model
            if sidechain:
                data["sidechain"] = True
            self.call_started(Call(session, key, name, data, stamp, [turn.prompt], where))
            status = str(raw.get("status") or "")
            if status not in _ENDED:
                continue  # still running (or a recording without statuses): logged at the end, without an end
            output, error = _result_of(raw)
            event_id, _ = self.call_ended(key, raw.get("timestamp"), output, where=where)
            if status == "success":
                continue
            reason = error or output or f"the tool call was {status}"
            self.log(
                session,
                f"{self._alias.get(key, key)}:error",
                "error",
                name,
                {"tool": name, "call_id": key, "status": status, "message": reason,
                 **({"interrupted": True} if status == "cancelled" else {})},
                timestamp=raw.get("timestamp") if isinstance(raw.get("timestamp"), str) else stamp,
                causes=[event_id or ""],
                where=where,
                failure_ledger=[{"attempt": attempt_of(name, raw.get("args")), "failure_reason": reason.split("\n")[0][:500]}],
            )  # fmt: skip

    def _end_turn(self, session: str, turn: _Turn, where: str) -> None:
        if not turn.key or not (turn.models or turn.usage or turn.answer):
            return
        data: dict[str, Any] = {"kind": "turn_end", "last_assistant_message": turn.answer}
        if turn.models:
            data["model"] = turn.models[-1]
            data["models"] = list(dict.fromkeys(turn.models))
        if turn.usage:
            data["usage"] = turn.usage
        self.log(
            session, f"{turn.key}:end", "state_change", "AfterAgent", data,
            timestamp=turn.last_stamp, causes=[turn.prompt], where=where,
        )  # fmt: skip


class _Turn:
    """A prompt and the model's messages since: models, summed tokens, the last words."""

    def __init__(self, key: str) -> None:
        self.key = key  # the prompt's message id
        self.prompt = ""
        self.models: list[str] = []
        self.usage: dict[str, int] = {}
        self.answer = ""
        self.last_stamp: str | None = None
        self.replied_in_words = False

    def add_tokens(self, tokens: Any) -> None:
        """Gemini's per-message counts, named as the other agents name them: its input count holds
        the cached tokens (as OpenAI's does), thoughts are billed as output."""
        if not isinstance(tokens, dict):
            return

        def count(name: str) -> int:
            value = tokens.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        for ours, value in (
            ("input_tokens", count("input")),
            ("output_tokens", count("output") + count("thoughts")),
            ("cached_input_tokens", count("cached")),
            ("reasoning_output_tokens", count("thoughts")),
            ("tool_input_tokens", count("tool")),
        ):
            self.usage[ours] = self.usage.get(ours, 0) + value


def _parts(content: Any) -> list[dict[str, Any]]:
    """A PartListUnion as a list of parts: a string is one text part."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, dict):
        return [content]
    if isinstance(content, list):
        return [p if isinstance(p, dict) else {"text": str(p)} for p in content if p]
    return []


def _result_of(call: dict[str, Any]) -> tuple[str, str]:
    """A tool call's output and error text, from its ``functionResponse`` parts (else what the CLI
    displayed)."""
    outputs, errors = [], []
    for part in _parts(call.get("result")):
        response = (
            part.get("functionResponse", {}).get("response") if isinstance(part.get("functionResponse"), dict) else None
        )
        if isinstance(response, dict):
            if response.get("output") is not None:
                outputs.append(text_of(response["output"]))
            if response.get("error") is not None:
                errors.append(text_of(response["error"]))
        elif isinstance(part.get("text"), str):
            outputs.append(part["text"])
    output = "\n".join(o for o in outputs if o)
    if not output and isinstance(call.get("resultDisplay"), str):
        output = call["resultDisplay"]
    return output, "\n".join(e for e in errors if e)


def hook_match(tool: str, arguments: Any) -> str:
    """What pairs a hooked call with its record: Gemini CLI's hooks send no call id, so the tool
    and a digest of its arguments (canonical JSON)."""
    try:
        canonical = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = repr(arguments).encode()
    return f"{tool}:{hashlib.sha256(canonical).hexdigest()[:16]}"


# The hook events Gemini CLI sends that sessionlog logs (its own names: Claude Code's are
# refused by it). BeforeModel, AfterModel and BeforeToolSelection fire per model call (AfterModel
# per streamed chunk) and say nothing the recording does not.
HOOK_EVENTS = (
    "SessionStart",
    "BeforeAgent",
    "BeforeTool",
    "AfterTool",
    "AfterAgent",
    "PreCompress",
    "Notification",
    "SessionEnd",
)
