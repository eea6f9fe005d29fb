"""Repository events: the commits made in this clone, and agent handoffs between them.

No hook runs after every way a commit can be made (a merge runs
``post-merge``, a rebase ``post-rewrite``, and each hook stage costs a commit
a process start), so commits are not recorded when they are made. The
commit hook instead asks the ``HEAD`` reflog which commits this work tree
made since it last looked (commit, amend, merge, cherry-pick, revert,
rebase picks) and logs those that the checked-out branch now contains, into
that branch's repository log ``.ai-agents/sessions/git-<branch>-<clone>.jsonl``:
commit N is recorded by commit N+1, and a merged branch's last commit by the
next commit of the branch it was merged into. A commit made elsewhere and
fetched is not "made here" and is left to the clone that made it. The shas
already logged are kept in ``<git-common-dir>/sessionlog/logged``, so no
commit is logged twice.

One log per branch and per clone means two branches, or two people on one
branch, never append to the same file, so merges never conflict on it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from sessionlog.core.ids import agent_error, session_id_error, utc_now
from sessionlog.errors import GitError
from sessionlog.git import exe as _git

if TYPE_CHECKING:
    from sessionlog.core.logger import SessionLogger

CLONE_ID = "sessionlog/clone-id"
TRAILERS = "sessionlog/trailers"  # per work tree: what the trailer shim adds
LOGGED = "sessionlog/logged"
ACTIVE_DIR = "sessionlog/active"
MAX_FILES_LISTED = 200
REFLOG_WINDOW = 1000

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
_CLEAN_BRANCH = re.compile(r"[A-Za-z0-9.-]+")
# Reflog messages of entries that made a new commit in this work tree.
_MADE_HERE = re.compile(
    r"^(commit|cherry-pick|revert|am)\b|\((pick|reword|edit|squash|fixup)\)|Merge made by", re.IGNORECASE
)


_CLONE_ID = re.compile(r"[0-9a-f]{8}")


def clone_id(root: Path) -> str:
    """A random id of this clone, made once and kept in the git directory.

    It is written whole or not at all (a temporary file, synced, then linked into place), and a
    file that does not hold an id (left empty by an older version on a full disk) is made again.
    """
    path = _git.git_path(CLONE_ID, cwd=root, common=True)
    for _ in range(3):
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = None
        if value is not None and _CLONE_ID.fullmatch(value):
            return value
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        try:
            with open(tmp, "x") as out:
                out.write(os.urandom(4).hex() + "\n")
                out.flush()
                os.fsync(out.fileno())
            if value is None:
                try:
                    os.link(tmp, path)  # never over an id another process made meanwhile
                except FileExistsError:
                    continue
            else:
                os.replace(tmp, path)  # over a file that holds no id
        finally:
            tmp.unlink(missing_ok=True)
    raise GitError(f"cannot make this clone's id in {path}")


def branch_slug(branch: str | None) -> str:
    """A file-name-safe spelling of a branch name, different for different names.

    Letters, digits, ``.`` and ``-`` stay; ``_`` becomes ``__`` and any other
    byte ``_xx`` (hex), so ``feature/x``, ``feature-x`` and ``feature_x`` stay
    apart. A spelling over 100 characters is cut and closed with ``_h`` and a
    digest of the whole name (``h`` is not a hex digit, so no short name ends so).
    """
    if branch is None:
        return "HEAD"  # not a branch name git allows for a branch
    out = []
    for char in branch:
        if _CLEAN_BRANCH.fullmatch(char):
            out.append(char)
        elif char == "_":
            out.append("__")
        else:
            out.extend(f"_{byte:02x}" for byte in char.encode())
    slug = "".join(out)
    if len(slug) > 100:
        slug = slug[:86] + "_h" + hashlib.sha256(branch.encode()).hexdigest()[:12]
    return slug


def repo_session_id(branch: str | None, clone: str) -> str:
    """``git-<branch>-<clone>``: the repository log of one branch in one clone."""
    return f"git-{branch_slug(branch)}-{clone}"


def agent_of(info: _git.CommitInfo) -> str | None:
    """The agent that made a commit, from ``Sessionlog-Agent`` or ``Co-Authored-By`` trailers."""
    for key, value in info.trailers:
        if key.lower() == "sessionlog-agent" and value and agent_error(value) is None:
            return value
    candidates = [v for k, v in info.trailers if k.lower() == "co-authored-by"] + [info.author]
    for text in candidates:
        lowered = text.lower()
        for needle, agent in _AGENT_NAMES:
            if needle in lowered:
                return agent
    return None


def session_of(info: _git.CommitInfo) -> str | None:
    for key, value in info.trailers:
        if key.lower() == "sessionlog-session" and value:
            return value
    return None


def _active_path(root: Path, branch: str | None) -> Path:
    return _git.git_path(f"{ACTIVE_DIR}/{quote(branch or 'HEAD', safe='')}.json", cwd=root)


def set_active(root: Path, session_id: str | None, agent: str | None) -> Path:
    """Make *session_id* (by *agent*) the active session of the checked-out branch; None clears it."""
    path = _active_path(root, _git.current_branch(cwd=root))
    if session_id is None:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    value = {"session_id": session_id, **({"agent": agent} if agent else {})}
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(value))
    os.replace(tmp, path)
    return path


def active_session(root: Path, *, warn: list[str] | None = None) -> dict[str, str]:
    """The session active on the checked-out branch: ``$SESSIONLOG_SESSION``/``$SESSIONLOG_AGENT``,
    else what ``sessionlog activate`` stored for this branch (per work tree).

    A name that could not be logged is left out, and said in *warn*.
    """
    found: dict[str, str] = {}
    try:
        stored = orjson.loads(_active_path(root, _git.current_branch(cwd=root)).read_bytes())
        if isinstance(stored, dict):
            found.update({k: v for k, v in stored.items() if k in ("session_id", "agent") and isinstance(v, str)})
    except (FileNotFoundError, orjson.JSONDecodeError, GitError):
        pass
    for key, env in (("session_id", "SESSIONLOG_SESSION"), ("agent", "SESSIONLOG_AGENT")):
        if os.environ.get(env):
            found[key] = os.environ[env]
    for key, check in (("session_id", session_id_error), ("agent", agent_error)):
        problem = check(found[key]) if key in found else None
        if problem is not None:
            del found[key]
            if warn is not None:
                warn.append(problem)
    return found


def active_session_id(where: Path | None = None) -> str | None:
    """The id of the session active on the branch checked out in the work tree holding *where*
    (default: here), or None (outside git, or none active): ``$SESSIONLOG_SESSION``, else what
    ``sessionlog activate`` stored for the branch."""
    root = _git.toplevel(where)
    return active_session(root).get("session_id") if root is not None else os.environ.get("SESSIONLOG_SESSION")


def trailer_lines(active: dict[str, str]) -> list[str]:
    """``Sessionlog-Session``/``Sessionlog-Agent`` trailers naming *active*."""
    names = (("session_id", "Session"), ("agent", "Agent"))
    return [f"Sessionlog-{name}: {active[key]}" for key, name in names if key in active]


def leave_trailers(root: Path, head: str | None, active: dict[str, str] | None) -> Path:
    """Leave the trailers naming *active* for the commit being made, for the prepare-commit-msg
    shim (a few lines of sh: no second Python start-up per commit). The first line names the HEAD they were left at, so a commit aborted after this
    hook cannot lend them to a commit elsewhere. *active* None (a refused commit) leaves none.
    """
    path = _git.git_path(TRAILERS, cwd=root)
    if active is None:
        path.unlink(missing_ok=True)
        return path
    lines = trailer_lines(active)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text("".join(f"{line}\n" for line in [head or "", *lines]))
    os.replace(tmp, path)
    return path


@contextmanager
def _locked_logged(root: Path) -> Iterator[Path]:
    path = _git.git_path(LOGGED, cwd=root, common=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def _made_here(root: Path) -> tuple[list[str], str | None, dict[str, str | None]]:
    """Commits the ``HEAD`` reflog says this work tree made, oldest first (a window of the
    newest), where HEAD is now (the reflog's newest entry), and the branch each was made on (the
    reflog's checkouts say which was checked out; a rebase's picks belong to the branch it
    returns to)."""
    out = _git.run(
        ("log", "--walk-reflogs", f"-n{REFLOG_WINDOW}", "--format=%H%x1f%gs", "HEAD", "--"), cwd=root, check=False
    ).decode("utf-8", "replace")
    lines = out.splitlines()
    entries = [line.partition("\x1f")[::2] for line in reversed(lines)]
    made: list[str] = []
    branch_of: dict[str, str | None] = {}
    current = _first_branch(entries) if entries else None
    if current is None and not any(_CHECKOUT.match(action) for _, action in entries):
        current = _git.current_branch(cwd=root)
    rebased: list[str] = []
    for sha, action in entries:
        moved = _CHECKOUT.match(action)
        if moved:
            current = _branch_name(moved.group(2))
            continue
        returned = _REBASE_END.match(action)
        if returned:
            branch_of.update(dict.fromkeys(rebased, returned.group(1)))
            rebased = []
            current = returned.group(1)
            continue
        if action.startswith("rebase") and "(start)" in action:
            rebased = []
        if _MADE_HERE.search(action) and sha not in made:
            made.append(sha)
            branch_of[sha] = current
            if action.startswith("rebase"):
                rebased.append(sha)
    return made, lines[0].partition("\x1f")[0] if lines else None, branch_of


_CHECKOUT = re.compile(r"^checkout: moving from (.+) to (.+)$")
_REBASE_END = re.compile(r"^rebase(?: -i)? \(finish\): returning to refs/heads/(.+)$")


def _first_branch(entries: list[tuple[str, str]]) -> str | None:
    """The branch checked out before the first checkout in the window."""
    for _, action in entries:
        moved = _CHECKOUT.match(action)
        if moved:
            return _branch_name(moved.group(1))
    return None


def _branch_name(name: str) -> str | None:
    """A checkout's target as a branch name; None for a detached HEAD (a commit id)."""
    return None if re.fullmatch(r"[0-9a-f]{7,64}", name) else name


def _start_log(path: Path, root: Path) -> bool:
    """On the first run, take every commit made so far as seen (history before sessionlog is
    not logged); return True when this run started the log."""
    if path.exists():
        return False
    path.write_text("".join(f"{sha}\n" for sha in _made_here(root)[0]))
    return True


def mark_logged(root: Path) -> None:
    """Set-up: start logging commits from now."""
    with _locked_logged(root) as path:
        _start_log(path, root)


def log_new_commits(root: Path, logger: SessionLogger) -> list[str]:
    """Log the commits this work tree made that the checked-out branch contains and that
    were not logged yet; return their shas. The first run only takes note of the past."""
    with _locked_logged(root) as path:
        if _start_log(path, root):
            return []
        logged = set(path.read_text().split())
        made, head, branch_of = _made_here(root)
        candidates = [sha for sha in made if sha not in logged]
        if not candidates:
            return []
        todo = [sha for sha in candidates if sha == head or _git.is_ancestor(sha, "HEAD", cwd=root)]
        branch = _git.current_branch(cwd=root)
        session_id = repo_session_id(branch, clone_id(root))
        # each commit and its first parent (whose agent a handoff compares with), in one git call
        infos = _git.commit_infos([*todo, *(f"{sha}^" for sha in todo)], cwd=root) if todo else {}
        done: list[str] = []
        try:
            for sha in todo:
                made_on = branch_of.get(sha, branch)
                result = logger.append_events(session_id, _commit_events(root, infos, sha, made_on))
                if not result.ok:
                    raise GitError(f"cannot log commit {sha[:12]}: {result.error}")
                done.append(sha)
        finally:
            if done:
                with open(path, "a") as out:
                    out.write("".join(f"{sha}\n" for sha in done))
        return done


def _commit_events(root: Path, infos: dict[str, _git.CommitInfo], sha: str, branch: str | None) -> list[dict[str, Any]]:
    """A ``state_change`` for commit *sha*, and a handoff when its agent differs from its first
    parent's; *infos* holds both commits."""
    from sessionlog.core.logger import handoff_data  # already imported by the caller's logger

    info = infos.get(sha) or _git.commit_info(sha, cwd=root)
    files = _git.files_touched(info.sha, info.parents, cwd=root)
    agent = agent_of(info) or "user"
    stamp = utc_now()
    commit: dict[str, Any] = {
        "kind": "merge" if len(info.parents) > 1 else "commit",
        "sha": info.sha,
        "parents": list(info.parents),
        "branch": branch,
        "subject": info.subject,
        "author": info.author,
        "committed_at": info.committed_at,
        "files": files[:MAX_FILES_LISTED],
        "files_count": len(files),
    }
    session = session_of(info)
    if session:
        commit["session"] = session
    claimed = next((v for k, v in info.trailers if k.lower() == "sessionlog-agent"), None)
    if claimed and claimed != agent:
        commit["agent_trailer"] = claimed  # kept as data: it is not a name the schema accepts
    base = {"event_type": "state_change", "source": "git commit", "timestamp": stamp}
    events: list[dict[str, Any]] = [{**base, "agent": agent, "data": commit}]
    if info.parents:
        parent = infos.get(info.parents[0]) or _git.commit_info(info.parents[0], cwd=root)
        previous = agent_of(parent) or "user"
        if previous != agent:
            summary = f"commit {info.sha[:12]}: {info.subject}"
            events.append({**base, "agent": previous, "data": handoff_data(previous, agent, summary)})
    return events


def flush(root: Path, *, stage: bool = True, log_commits: bool = True) -> tuple[list[str], list[str]]:
    """Log new commits into the branch's repository log (with *log_commits*: only inside a commit,
    which takes that tracked file at once), and stage the session files git does not have yet,
    closing each that is its session's open segment first (see ``_segments``).

    Returns the files staged (or, without *stage*, pending) and the problems met.
    """
    from sessionlog.core.logger import SessionLogger  # deferred: a commit that needs nothing skips the import
    from sessionlog.core.paths import SESSIONS_DIR
    from sessionlog.core.segments import close_segments, move_old_spool, parse_name, place_of

    folder = root / SESSIONS_DIR
    problems: list[str] = []
    place = place_of(folder)
    if place is not None:
        problems += move_old_spool(folder, place)
    # The repository log is written straight into its tracked file and staged at once: it is
    # never left modified, so nothing stashes or switches it.
    logged: list[str] = []
    if log_commits:
        with SessionLogger(folder, segments=False) as logger:
            logged = log_new_commits(root, logger)
    prefix = SESSIONS_DIR.as_posix() + "/"
    # Only files git does not have: a tracked session file is never written by an append (the
    # repository log aside, staged here), so a change to one is the user's, staged or not.
    pending = [
        path
        for path in _git.untracked([SESSIONS_DIR.as_posix()], cwd=root)
        if path.startswith(prefix) and "/" not in path[len(prefix) :] and parse_name(path[len(prefix) :]) is not None
    ]
    if place is not None and stage:
        # Listed first, closed next: a segment an agent starts meanwhile is not listed, stays open
        # and waits for the next commit, and no line is appended to a file once it is staged.
        close_segments(place, [root / path for path in pending])
    if logged:  # the repository log's own file took them (its newest segment, if one is pending, is listed)
        written = f"{prefix}{repo_session_id(_git.current_branch(cwd=root), clone_id(root))}.jsonl"
        if (root / written).is_file():
            pending = sorted({*pending, written})
    if stage and pending:
        _git.add(pending, cwd=root)
    return pending, problems
