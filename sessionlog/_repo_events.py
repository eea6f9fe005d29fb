"""Repository events: commits and agent handoffs, recorded without touching the work tree.

``post-commit`` cannot change the commit it follows, and pre-commit fails a
hook that modifies tracked files, so a commit's event is first queued in
``.git/sessionlog/pending.jsonl`` (nothing in the work tree changes). The
next ``pre-commit`` of the same branch appends the queue to the branch's
repository log, ``.ai-agents/sessions/git-<branch>-<clone>.jsonl``, and
stages it: commit N's event is committed with commit N+1.

One log per branch and per clone means two branches, or two people on one
branch, never append to the same file, so merges never conflict on it.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from . import _git
from ._ids import utc_now
from ._paths import SESSIONS_DIR

if TYPE_CHECKING:
    from ._logger import AppendResult, SessionLogger

PENDING = "sessionlog/pending.jsonl"
CLONE_ID = "sessionlog/clone-id"
ACTIVE = "sessionlog/active.json"
MAX_FILES_LISTED = 200

# Who wrote a commit, from its trailers (agents sign commits this way).
_AGENT_NAMES = (
    ("claude", "claude_code"),
    ("anthropic", "claude_code"),
    ("codex", "codex"),
    ("openai", "codex"),
    ("gemini", "gemini"),
    ("copilot", "copilot"),
    ("cursor", "cursor"),
    ("aider", "aider"),
)
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def clone_id(root: Path) -> str:
    """A random id of this clone, made once and kept in the git directory."""
    path = _git.git_path(CLONE_ID, cwd=root, common=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = os.urandom(4).hex()
        try:
            with open(path, "x") as out:
                out.write(value + "\n")
        except FileExistsError:
            return path.read_text().strip()
        return value


def repo_session_id(branch: str | None, clone: str) -> str:
    """``git-<branch>-<clone>``: the repository log of one branch in one clone."""
    slug = _SLUG.sub("-", branch or "detached").strip("-.") or "branch"
    return f"git-{slug[:80]}-{clone}"


def agent_of(info: dict[str, Any]) -> str | None:
    """The agent that made a commit, from ``Sessionlog-Agent`` or ``Co-Authored-By`` trailers."""
    trailers: list[tuple[str, str]] = info["trailers"]
    for key, value in trailers:
        if key.lower() == "sessionlog-agent" and value:
            return value
    candidates = [v for k, v in trailers if k.lower() == "co-authored-by"] + [str(info["author"])]
    for text in candidates:
        lowered = text.lower()
        for needle, agent in _AGENT_NAMES:
            if needle in lowered:
                return agent
    return None


def session_of(info: dict[str, Any]) -> str | None:
    for key, value in info["trailers"]:
        if key.lower() == "sessionlog-session" and value:
            return str(value)
    return None


def active_session(root: Path) -> dict[str, str]:
    """The session an agent declared active: ``$SESSIONLOG_SESSION``/``$SESSIONLOG_AGENT``, else
    ``.git/sessionlog/active.json`` (written by ``sessionlog activate``)."""
    found: dict[str, str] = {}
    try:
        stored = orjson.loads(_git.git_path(ACTIVE, cwd=root).read_bytes())
        if isinstance(stored, dict):
            found.update({k: v for k, v in stored.items() if k in ("session_id", "agent") and isinstance(v, str)})
    except (FileNotFoundError, orjson.JSONDecodeError, _git.GitError):
        pass
    for key, env in (("session_id", "SESSIONLOG_SESSION"), ("agent", "SESSIONLOG_AGENT")):
        if os.environ.get(env):
            found[key] = os.environ[env]
    return found


@contextmanager
def _locked_pending(root: Path) -> Iterator[Path]:
    path = _git.git_path(PENDING, cwd=root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def queue(root: Path, entries: list[dict[str, Any]]) -> None:
    """Append entries (a session id plus append_event fields) to the pending queue."""
    data = b"".join(orjson.dumps(e) + b"\n" for e in entries)
    with _locked_pending(root) as path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def record_commit(root: Path, rev: str = "HEAD") -> list[dict[str, Any]]:
    """Queue the events for commit *rev*: a ``state_change``, and a handoff if the agent changed."""
    info = _git.commit_info(rev, cwd=root)
    branch = _git.current_branch(cwd=root)
    session_id = repo_session_id(branch, clone_id(root))
    parents: list[str] = info["parents"]  # type: ignore[assignment]
    files = _git.files_touched(str(info["sha"]), parents, cwd=root)
    agent = agent_of(info)
    stamp = utc_now()
    commit = {
        "kind": "commit",
        "sha": info["sha"],
        "parents": parents,
        "branch": branch,
        "subject": info["subject"],
        "author": info["author"],
        "files": files[:MAX_FILES_LISTED],
        "files_count": len(files),
    }
    if session_of(info):
        commit["session"] = session_of(info)
    entries: list[dict[str, Any]] = [{"session_id": session_id, "branch": branch, "event_type": "state_change",
                "agent": agent or "user", "source": "git post-commit", "timestamp": stamp, "data": commit}]  # fmt: skip
    if parents:
        previous = agent_of(_git.commit_info(parents[0], cwd=root)) or "user"
        if previous != (agent or "user"):
            entries.append({"session_id": session_id, "branch": branch, "handoff": True, "from_agent": previous,
                            "to_agent": agent or "user", "summary": f"commit {str(info['sha'])[:12]}: {info['subject']}",
                            "timestamp": stamp})  # fmt: skip
    queue(root, entries)
    return entries


def flush(root: Path, *, stage: bool = True) -> list[str]:
    """Append the queued events of the current branch to its repository log, then stage it.

    Entries of other branches stay queued. Returns the session files written.
    An entry is removed from the queue only after it was appended.
    """
    from ._logger import SessionLogger  # deferred: post-commit only queues and stays fast

    branch = _git.current_branch(cwd=root)
    written: list[str] = []
    with _locked_pending(root) as path:
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries = [orjson.loads(line) for line in lines if line.strip()]
        mine = [e for e in entries if e.get("branch") == branch]
        if not mine:
            return []
        done = 0
        try:
            with SessionLogger(root / SESSIONS_DIR) as logger:
                for entry in mine:
                    result = _append(logger, entry)
                    if not result.ok:
                        raise RuntimeError(f"cannot log a queued repository event: {result.error}")
                    done += 1
                    file = str(logger.session_path(entry["session_id"]))
                    if file not in written:
                        written.append(file)
        finally:
            # Keep exactly what was not appended, even when an append failed midway.
            rest = [e for e in entries if e.get("branch") != branch] + mine[done:]
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in rest))
            os.replace(tmp, path)
    if stage and written:
        _git.add(written, cwd=root)
    return written


def _append(logger: SessionLogger, entry: dict[str, Any]) -> AppendResult:
    if entry.get("handoff"):
        return logger.log_handoff(entry["session_id"], entry["from_agent"], entry["to_agent"], entry.get("summary"),
                                  source="git post-commit")  # fmt: skip
    fields = {k: v for k, v in entry.items() if k not in ("session_id", "branch")}
    return logger.append_events(entry["session_id"], [fields])
