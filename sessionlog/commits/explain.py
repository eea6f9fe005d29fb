"""``sessionlog explain``: where a commit, a file or a line came from, from the committed logs.

A commit is explained by the sessions the record ties to it, never by a guess:

- its ``Sessionlog-Session`` trailer;
- a commit event of the repository log naming it with a ``session``;
- a tool call whose output shows git making it (``[branch 1a2b3c4] subject``: what ``git
  commit`` prints), in any session.

For each such session, what happened between its previous commit and this one (its *window*):
the user's prompts, the decisions, the failures, and for each file the commit changed the tool
calls that edited it (Claude Code ``Edit``/``Write``/``MultiEdit``/``NotebookEdit``, Codex
``apply_patch``, as a tool or through the shell) or that ran a command naming it. A line is
explained by ``git blame`` to its commit, then by the edit in that window whose new text holds it.

Paths in tool inputs are where the agent worked (an absolute path on its machine); they match a
file of the commit when they end with its path in the repository, so a plain clone anywhere
explains the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sessionlog.core.logger import SessionLogger
from sessionlog.core.queries import by_time, instant_of
from sessionlog.core.segments import segments
from sessionlog.errors import UsageError
from sessionlog.git import exe as _git

EDIT_TOOLS = {"Edit", "Write", "MultiEdit", "NotebookEdit", "apply_patch", "str_replace_based_edit_tool"}
_MADE = re.compile(rb"\[[^\]\[\n]{1,200}? (?:\(root-commit\) )?([0-9a-f]{7,64})\]")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.MULTILINE)
Event = dict[str, Any]


@dataclass
class Call:
    """A tool call that touched a file of the commit."""

    event_id: str
    session: str
    tool: str
    how: str  # "edit" or "shell"
    at: str
    failed: bool = False
    added: list[str] = field(default_factory=list)  # the text lines it wrote (edits only)


@dataclass
class SessionPart:
    """What one session did for a commit: the window and what is in it."""

    session: str
    agents: list[str]
    why: list[str]  # how the record ties the session to the commit
    start: str | None
    end: str | None
    prompts: list[dict[str, str]] = field(default_factory=list)
    decisions: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Explanation:
    sha: str
    subject: str
    author: str
    committed_at: str
    files: list[str]
    sessions: list[SessionPart]
    calls: dict[str, list[Call]]  # file -> the calls that touched it, in time order

    def as_json(self) -> dict[str, Any]:
        return {
            "commit": {"sha": self.sha, "subject": self.subject, "author": self.author, "at": self.committed_at},
            "files": self.files,
            "sessions": [vars(part) for part in self.sessions],
            "calls": {path: [_call_json(c) for c in calls] for path, calls in self.calls.items()},
        }


def _call_json(call: Call) -> dict[str, Any]:
    return {**{k: v for k, v in vars(call).items() if k != "added"}, "lines_written": len(call.added)}


class Explainer:
    """Explains commits of the repository at *root* from the session logs in *logger*'s folder."""

    def __init__(self, logger: SessionLogger, root: Path) -> None:
        self.logger = logger
        self.root = root
        self._raw: dict[str, list[bytes]] = {}

    def lines(self, session: str) -> list[bytes]:
        """The session's lines as bytes, read once."""
        if session not in self._raw:
            found: list[bytes] = []
            for _, path in segments(self.logger.base_dir, session):
                try:
                    found += path.read_bytes().splitlines()
                except OSError:
                    continue
            self._raw[session] = found
        return self._raw[session]

    def events(self, session: str, needle: bytes | None = None) -> list[Event]:
        """The session's events (only the lines holding *needle*, when given), in time order."""
        out = []
        for raw in self.lines(session):
            if needle is not None and needle not in raw:
                continue
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                out.append(event)
        return by_time(out)

    def commit(self, rev: str) -> Explanation | None:
        """The explanation of commit *rev*, or None when no session is tied to it."""
        sha = _git.rev_parse(f"{rev}^{{commit}}", cwd=self.root)
        if sha is None:
            raise UsageError(f"{rev} is not a commit")
        info = _git.commit_info(sha, cwd=self.root)
        logs = self._logs_prefix()
        files = [f for f in _git.files_touched(info.sha, info.parents, cwd=self.root) if not f.startswith(logs)]
        ties = self._sessions_of(info)
        if not ties:
            return None
        parts: list[SessionPart] = []
        calls: dict[str, list[Call]] = {path: [] for path in files}
        for session, (why, made_at) in sorted(ties.items()):
            part, found = self._window(session, why, info, made_at, files)
            parts.append(part)
            for path, touched in found.items():
                calls[path] += touched
        for touched in calls.values():
            touched.sort(key=lambda c: c.at)
        return Explanation(info.sha, info.subject, info.author, info.committed_at, files, parts, calls)

    def _sessions_of(self, info: _git.CommitInfo) -> dict[str, tuple[list[str], str | None]]:
        """session -> (how it is tied to the commit, the instant it made the commit, if known)."""
        ties: dict[str, tuple[list[str], str | None]] = {}

        here = set(self.sessions)

        def tie(session: str, why: str, at: str | None) -> None:
            if session in here:  # a trailer naming no session here ties nothing
                reasons, made_at = ties.get(session, ([], None))
                ties[session] = ([*reasons, why], made_at or at)

        for key, value in info.trailers:
            if key.lower() == "sessionlog-session" and value:
                tie(value, "Sessionlog-Session trailer", None)
        needle = info.sha[:7].encode()
        for session in self.sessions:
            for event in self.events(session, needle):
                data = event["data"] if isinstance(event.get("data"), dict) else {}
                if data.get("kind") in ("commit", "merge") and data.get("sha") == info.sha:
                    if isinstance(data.get("session"), str):
                        tie(data["session"], "commit event", None)
                elif event.get("event_type") == "tool_call" and _names_commit(_made_by(data), info.sha):
                    tie(session, f"tool call {event.get('event_id')} made it", instant_of(event))
        return ties

    def _logs_prefix(self) -> str:
        """The sessions folder as a path in the repository (``/`` ended): its files are the record,
        not what a commit is explained for."""
        try:
            relative = self.logger.base_dir.resolve().relative_to(self.root.resolve())
        except ValueError:
            return "\0"  # outside the repository: no file of a commit is in it
        return relative.as_posix().rstrip("/") + "/"

    @property
    def sessions(self) -> list[str]:
        return self.logger.list_sessions()

    def _window(
        self, session: str, why: list[str], info: _git.CommitInfo, made_at: str | None, files: list[str]
    ) -> tuple[SessionPart, dict[str, list[Call]]]:
        """The session's events between its previous commit and this one, and the calls among
        them that touched *files*."""
        events = self.events(session)
        end = made_at or _canonical(info.committed_at)
        start = None
        for event in events:  # the session's latest commit before this one ends the window before
            at = instant_of(event)
            data = event["data"] if isinstance(event.get("data"), dict) else {}
            made = _made_by(data) if event.get("event_type") == "tool_call" else set()
            if at is not None and at < (end or "~") and made and not _names_commit(made, info.sha):
                start = at
        inside = [e for e in events if _within(instant_of(e), start, end)]
        agents = sorted({str((e.get("provenance") or {}).get("agent")) for e in inside} - {"user", "None"})
        part = SessionPart(session, agents, why, start, end)
        failed: set[str] = set()
        for e in inside:
            data = e["data"] if isinstance(e.get("data"), dict) else {}
            eid = str(e.get("event_id"))
            if e.get("event_type") == "user_message" and not data.get("sidechain"):
                part.prompts.append({"event": eid, "at": str(e.get("timestamp")), "text": _text(data)})
            elif e.get("event_type") == "decision":
                part.decisions.append({"event": eid, "at": str(e.get("timestamp")), "text": _decision(e)})
            if e.get("event_type") == "error" or (e.get("failure_ledger") and data.get("kind") != "handoff"):
                part.failures.append({"event": eid, "at": str(e.get("timestamp")), "text": _failure(e)})
                failed.update(d for d in (e.get("dependencies") or {}).get("depends_on", []) if isinstance(d, str))
        found: dict[str, list[Call]] = {}
        for e in inside:
            if e.get("event_type") != "tool_call":
                continue
            data = e["data"] if isinstance(e.get("data"), dict) else {}
            eid = str(e.get("event_id"))
            for path in files:
                touched = touches(data, path)
                if touched is not None:
                    how, added = touched
                    call = Call(eid, session, str(data.get("tool") or "tool"), how, str(e.get("timestamp")))
                    call.failed, call.added = eid in failed, added
                    found.setdefault(path, []).append(call)
        return part, found


def _within(at: str | None, start: str | None, end: str | None) -> bool:
    if at is None:
        return False
    return (start is None or at > start) and (end is None or at <= end)


def _canonical(stamp: str) -> str | None:
    return instant_of({"timestamp": stamp})


def _made_by(data: dict[str, Any]) -> set[str]:
    """The commits a tool call's output shows git making (full or abbreviated ids)."""
    found: set[str] = set()
    for key in ("output", "response"):
        value = data.get(key)
        raw = value.encode("utf-8", "replace") if isinstance(value, str) else orjson.dumps(value)
        found.update(m.group(1).decode() for m in _MADE.finditer(raw[:65536]))
    return found


def _names_commit(ids: set[str], sha: str) -> bool:
    return any(sha.startswith(short) for short in ids)


def _text(data: dict[str, Any]) -> str:
    for key in ("message", "text", "prompt", "content"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return ""


def _decision(event: Event) -> str:
    data = event["data"] if isinstance(event.get("data"), dict) else {}
    for key in ("decision", "choice", "summary", "message"):
        if isinstance(data.get(key), str):
            reason = data.get("rationale") or data.get("reasoning") or data.get("reason")
            return str(data[key]) + (f" (because: {reason})" if isinstance(reason, str) and reason else "")
    steps = [s for s in event.get("causal_steps", []) if isinstance(s, dict)]
    return str(steps[-1].get("step", "")) if steps else ""


def _failure(event: Event) -> str:
    ledger = [f for f in event.get("failure_ledger") or [] if isinstance(f, dict)]
    if ledger:
        return f"{ledger[0].get('attempt', '')}: {ledger[0].get('failure_reason', '')}"
    data = event["data"] if isinstance(event.get("data"), dict) else {}
    return str(data.get("message") or data.get("error") or "error")


def _same_file(given: str, path: str) -> bool:
    """Whether *given* (a path in a tool input, often absolute) names the repository file *path*."""
    given = given.strip().removeprefix("./").replace("\\", "/")
    return given == path or given.endswith("/" + path)


def touches(data: dict[str, Any], path: str) -> tuple[str, list[str]] | None:
    """How a tool call's data touched *path*: ``("edit", lines it wrote)`` or ``("shell", [])``;
    None when it did not."""
    tool = str(data.get("tool") or "")
    tool_input = data.get("input")
    args = tool_input if isinstance(tool_input, dict) else {}
    if tool in EDIT_TOOLS:
        for key in ("file_path", "notebook_path", "path"):
            if isinstance(args.get(key), str) and _same_file(args[key], path):
                return "edit", _written(tool, args)
    patch = _patch_text(tool_input)
    if patch is not None and any(_same_file(p, path) for p in _patch_files(patch)):
        return "edit", _patch_added(patch, path)
    command = args.get("command", args.get("cmd")) if args else None
    if isinstance(command, list):
        command = " ".join(str(part) for part in command)
    if isinstance(command, str) and _names(command, path):
        return "shell", []
    return None


def _names(command: str, path: str) -> bool:
    """Whether a shell command names *path* (as itself or as the end of a longer path)."""
    pattern = rf"(?:^|[\s'\"=/]){re.escape(path)}(?:$|[\s'\";|&>)])"
    return re.search(pattern, command) is not None


def _written(tool: str, args: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for key in ("new_string", "content", "new_source", "file_text", "new_str"):
        if isinstance(args.get(key), str):
            texts.append(args[key])
    for edit in args.get("edits") or []:
        if isinstance(edit, dict) and isinstance(edit.get("new_string"), str):
            texts.append(edit["new_string"])
    return [line for text in texts for line in text.splitlines()]


def _patch_text(tool_input: Any) -> str | None:
    """The ``*** Begin Patch`` text of an apply_patch call: its input, or inside a shell command."""
    if isinstance(tool_input, str) and "*** Begin Patch" in tool_input:
        return tool_input
    if isinstance(tool_input, dict):
        for key in ("input", "patch", "command", "cmd"):
            value = tool_input.get(key)
            if isinstance(value, list):
                value = "\n".join(str(v) for v in value)
            if isinstance(value, str) and "*** Begin Patch" in value:
                return value
    return None


def _patch_files(patch: str) -> list[str]:
    return [a or b for a, b in _PATCH_FILE.findall(patch)]


def _patch_added(patch: str, path: str) -> list[str]:
    """The ``+`` lines of the patch's section for *path*."""
    added: list[str] = []
    current = False
    for line in patch.splitlines():
        header = _PATCH_FILE.match(line)
        if header is not None:
            current = _same_file(header.group(1) or header.group(2), path)
        elif current and line.startswith("+"):
            added.append(line[1:])
    return added


def blame_line(root: Path, path: str, line: int) -> tuple[str, str]:
    """``(commit, text)`` of line *line* of *path* as HEAD has it (``git blame``)."""
    out = _git.run(("blame", "--porcelain", "-L", f"{line},{line}", "HEAD", "--", path), cwd=root, check=False)
    text = out.decode("utf-8", "replace")
    if not text:
        raise UsageError(f"{path}:{line}: no such line in HEAD")
    sha = text.split(" ", 1)[0]
    content = next((row[1:] for row in text.splitlines() if row.startswith("\t")), "")
    return sha, content


def last_commit_of(root: Path, path: str) -> str:
    out = _git.run(("log", "-1", "--format=%H", "HEAD", "--", path), cwd=root, check=False).decode().strip()
    if not out:
        raise UsageError(f"{path}: no commit of HEAD changed it")
    return out


def line_source(explanation: Explanation, path: str, text: str) -> Call | None:
    """The latest edit to *path* in the explanation whose written lines hold *text*."""
    wanted = text.strip()
    if not wanted:
        return None
    best = None
    for call in explanation.calls.get(path, []):
        if call.how == "edit" and any(line.strip() == wanted for line in call.added):
            best = call
    return best


def as_json(call: Call | None) -> dict[str, Any] | None:
    return _call_json(call) if call is not None else None


def render(
    explanation: Explanation | None,
    rev: str,
    *,
    focus: str | None = None,
    line: int | None = None,
    text: str = "",
    source: Call | None = None,
) -> list[str]:
    """The explanation as text for people; every item with its event id (``sessionlog why ID``)."""
    if explanation is None:
        return [
            f"commit {rev[:12]}: not explained: no session log ties a session to it (trailer, commit event or tool call)"
        ]
    out = []
    if line is not None:
        out.append(f"{focus}:{line}: {text.strip()}")
        if source is not None:
            out.append(f"  written by {source.tool} {source.event_id} ({source.session}, {source.at})")
        else:
            out.append("  no edit in the sessions below wrote this line as it is now")
        out.append("")
    out.append(f"commit {explanation.sha[:12]} {explanation.subject}")
    out.append(f"  {explanation.author}, {explanation.committed_at}")
    for part in explanation.sessions:
        agents = ", ".join(part.agents) or "no agent"
        out.append(f"session {part.session} ({agents}): {'; '.join(part.why)}")
        out.append(f"  from {part.start or 'its start'} to {part.end or 'the commit'}")
        for title, items in (("asked", part.prompts), ("decided", part.decisions), ("failed", part.failures)):
            for item in items:
                out.append(f"  {title:<8}{item['event']}  {_one_line(item['text'])}")
    for path in [focus] if focus else explanation.files:
        if path is None:
            continue
        calls = explanation.calls.get(path, [])
        out.append(f"{path}")
        if not calls:
            out.append("  no tool call touched it")
        for call in calls:
            mark = "  ✗ failed" if call.failed else ""
            out.append(f"  {call.how:<6}{call.event_id}  {call.tool}  {call.at}{mark}")
    return out


def _one_line(text: str, width: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def commits_by_session(explainer: Explainer) -> dict[str, list[dict[str, str]]]:
    """The commits of HEAD's history each session is tied to (trailer, or a tool call that shows
    git making it), oldest first: ``{"sha", "subject"}`` each."""
    fmt = "%H%x00%s%x00%(trailers:key=Sessionlog-Session,valueonly,separator=%x01)%x1e"
    out = _git.run(("log", "--reverse", f"--format={fmt}", "HEAD", "--"), cwd=explainer.root, check=False)
    history: list[tuple[str, str]] = []
    tied: dict[str, list[str]] = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        fields = record.strip("\n").split("\0")
        if len(fields) != 3:
            continue
        sha, subject, sessions = fields
        history.append((sha, subject))
        for session in (s.strip() for s in sessions.split("\x01")):
            if session:
                tied.setdefault(session, []).append(sha)
    shorts: dict[str, set[str]] = {}
    for session in explainer.sessions:
        for raw in explainer.lines(session):
            if b'"tool_call"' in raw and _MADE.search(raw) is not None:
                shorts.setdefault(session, set()).update(m.group(1).decode() for m in _MADE.finditer(raw))
    found: dict[str, list[dict[str, str]]] = {}
    for session in explainer.sessions:
        made = shorts.get(session, set())
        mine = set(tied.get(session, []))
        found[session] = [
            {"sha": sha, "subject": subject}
            for sha, subject in history
            if sha in mine or any(sha.startswith(short) for short in made)
        ]
    return found
