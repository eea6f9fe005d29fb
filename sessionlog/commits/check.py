"""The commit rules: what may happen to session logs between two trees.

A session log that was committed may only grow: the old blob must be a byte
prefix of the new one (proved by hashing the new bytes as a git blob, never
by reading the old blob), and only the appended bytes are parsed and checked.
Deleting, renaming, retyping or rewriting it is refused, except a move into
``archive/<id>.jsonl.gz`` that decompresses to exactly the removed bytes, and
the restore that moves it back.
"""

from __future__ import annotations

import functools
import io
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sessionlog.core.archive import gunzip_bounded
from sessionlog.core.paths import ARCHIVE_DIR, ARCHIVE_SUFFIX, SESSIONS_DIR, SUFFIX, repo_rules_for, repo_schema_for
from sessionlog.core.reader import iter_lines
from sessionlog.core.redact import Redactor, repo_redactor
from sessionlog.core.schema import SchemaSet, load_schemas
from sessionlog.core.verify import Finding, LineChecker, first_line_of, session_id_of
from sessionlog.errors import GitError
from sessionlog.git import exe as _git

REGULAR_MODES = frozenset({"100644", "100755"})
# A committed session log, or an archive once expanded, is read whole; nothing larger is
# (a 2 KB gzip bomb would otherwise cost gigabytes). At the 1 MiB event limit that is
# still 256 events of the largest size, and about half a million ordinary ones.
MAX_SESSION_BYTES = 256 << 20
_TOO_LARGE = f"larger than {MAX_SESSION_BYTES >> 20} MiB, the most the check reads (archive older sessions)"
_FETCH_ALL = (
    "the range cannot be checked from what is here; fetch the whole history "
    "(git fetch --unshallow, or fetch-depth: 0 in actions/checkout) and pass the base that was pushed over"
)
_APPEND_ONLY = (
    "committed session lines are append-only: put the committed lines back as they were and append after them "
    "(to revert a commit's code but keep its log lines: `sessionlog revert <commit>`)"
)


@dataclass
class Checker:
    """Checks changes to the sessions folder of one repository."""

    root: Path
    sessions: str = SESSIONS_DIR.as_posix()
    notices: list[str] = field(init=False, default_factory=list)
    head: str | None = field(init=False, default=None)  # HEAD's commit, once check_index ran
    rules_rev: str | None = None  # the commit whose secret rules decide (the trusted side); None: the work tree
    _index_mode: bool = field(init=False, default=False)
    _gunzipped: dict[str, bytes | None] = field(init=False, default_factory=dict)
    _worktree_differs: set[str] = field(init=False, default_factory=set)

    # Made on first use: a commit that touches no session log spawns no cat-file,
    # compiles no schema and imports no RE2.
    @functools.cached_property
    def schemas(self) -> SchemaSet:
        return load_schemas(repo_schema_for(self.root / self.sessions))

    @functools.cached_property
    def redactor(self) -> Redactor:
        """The bundled rules and the repository's own, as the trusted side has them: over a range,
        the base's committed rules (never those the range adds or changes); at commit time, the
        committer's work tree."""
        if self.rules_rev is None:
            return repo_redactor(self.root / self.sessions)
        relative = repo_rules_for(Path(self.sessions)).as_posix()
        try:
            text = _git.run(("show", f"{self.rules_rev}:{relative}"), cwd=self.root).decode("utf-8")
        except (GitError, UnicodeDecodeError):
            return Redactor(rule_texts=())  # none committed there: the bundled rules
        return Redactor(rule_texts=[(f"{self.rules_rev[:12]}:{relative}", text)])

    def rules_changed(self, old: str, new: str) -> None:
        """Say (as a notice) when the repository's rules file differs between *old* and *new*."""
        relative = repo_rules_for(Path(self.sessions)).as_posix()
        changed = _git.run(("diff", "--name-only", old, new, "--", relative), cwd=self.root).strip()
        if changed:
            self.notices.append(
                f"{relative} changes between {old[:12]} and {new[:12]}; the check used the rules of "
                f"{(self.rules_rev or old)[:12]}: review the change as you would CI configuration"
            )

    @functools.cached_property
    def fmt(self) -> str:
        return _git.object_format(self.root)

    @functools.cached_property
    def blobs(self) -> _git.Blobs:
        return _git.Blobs(self.root)

    def close(self) -> None:
        if "blobs" in self.__dict__:
            self.blobs.close()

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- entry points ------------------------------------------------------

    def check_index(self, *, head: str | None = None) -> list[Finding]:
        """What the next commit records, against HEAD (or nothing, before the first commit);
        *head*, when the caller resolved it already. Where HEAD was is kept in ``head`` (None
        before the first commit)."""
        self.head = head or _git.rev_parse("HEAD", cwd=self.root)
        head = self.head or _git.empty_tree(self.root)
        self._index_mode = True
        try:
            return self.check_changes(_git.diff_index(head, self._pathspec, cwd=self.root))
        finally:
            self._index_mode = False

    def check_trees(self, old: str, new: str, *, label: str = "") -> list[Finding]:
        findings = self.check_changes(_git.diff_trees(old, new, self._pathspec, cwd=self.root))
        if label:
            findings = [Finding(f.path, f.line, f"{label}: {f.message}") for f in findings]
        return findings

    def check_range(self, base: str | None, head: str, *, each_commit: bool) -> list[Finding]:
        """Every rule over ``base..head``; with *each_commit*, every commit against each parent.

        A *base* that is not an ancestor of *head* (a rebase pushed with force)
        passes with a notice when every session log at *base* survives at
        *head* as a byte prefix or in its archive. A range that reaches the
        edge of a shallow clone is a finding: what lies beyond cannot be checked.
        """
        head_oid = _git.rev_parse(head, cwd=self.root)
        if head_oid is None:
            return [Finding(head, 0, "not a commit in this repository")]
        base_oid = None if _git.is_null_oid(base) else _git.rev_parse(str(base), cwd=self.root)
        findings: list[Finding] = []
        if base is not None and not _git.is_null_oid(base) and base_oid is None:
            findings.append(Finding(str(base), 0, f"base is not a commit here: {_FETCH_ALL}"))
        if base_oid is not None and not _git.is_ancestor(base_oid, head_oid, cwd=self.root):
            self.notices.append(
                f"{base_oid[:12]} is not an ancestor of {head_oid[:12]}: history was rewritten (rebase, force-push); "
                "every session log of the old tip must be a byte prefix of the same log at the new tip"
            )
            findings += self.check_trees(base_oid, head_oid, label=f"{base_oid[:12]}..{head_oid[:12]}")
            base_oid = _git.run(("merge-base", base_oid, head_oid), cwd=self.root, check=False).decode().strip() or None
        if "redactor" not in self.__dict__:
            self.rules_rev = base_oid or head_oid  # the trusted side: never rules the range adds or changes
        if base_oid is not None:
            self.rules_changed(base_oid, head_oid)
        commits = _git.rev_list(base_oid, head_oid, cwd=self.root)
        edge = _git.shallow_commits(cwd=self.root).intersection(c for c, _ in commits)
        if edge:
            first = sorted(edge)[0]
            return [
                *findings,
                Finding(self.sessions, 0, f"history is cut at {first[:12]} (shallow clone): {_FETCH_ALL}"),
            ]
        if not each_commit:
            return findings + self.check_trees(base_oid or _git.empty_tree(self.root), head_oid)
        return findings + self._each_commit(commits)

    def check_unpushed(self, remote: str) -> list[Finding]:
        """Every commit of every local branch that *remote* does not have yet."""
        commits = _git.rev_list_spec(("--branches", "--not", f"--remotes={remote}"), cwd=self.root)
        return self._each_commit(commits)

    def _each_commit(self, commits: list[tuple[str, list[str]]]) -> list[Finding]:
        empty = _git.empty_tree(self.root)
        findings: list[Finding] = []
        for commit, parents in commits:
            for parent in parents or [empty]:
                label = f"commit {commit[:12]}" + (f" (against parent {parent[:12]})" if len(parents) > 1 else "")
                findings += self.check_trees(parent, commit, label=label)
        return findings

    def check_files(self) -> list[Finding]:
        """Every session log and archive the index holds, verified whole (chain included)."""
        findings: list[Finding] = []
        for mode, oid, path in _git.ls_files([self.sessions], cwd=self.root):
            kind = self._kind(path)
            if kind is None or mode not in REGULAR_MODES:
                continue
            if kind == "session" and self.blobs.size(oid) > MAX_SESSION_BYTES:
                findings.append(Finding(path, 0, f"session log is {_TOO_LARGE}"))
                continue
            content = self.blobs.read(oid) if kind == "session" else self._archive_content(path, oid)
            if content is None:
                findings.append(Finding(path, 0, f"not a gzip file, or {_TOO_LARGE} once decompressed"))
                continue
            findings += self._lines(path, content, first_line_of(path), None, chained=False)
        return findings

    # -- rules -------------------------------------------------------------

    def _kind(self, path: str) -> str | None:
        prefix = self.sessions + "/"
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
        if "/" not in rest and rest.endswith(SUFFIX):
            return "session"
        if rest.startswith(f"{ARCHIVE_DIR}/") and rest.count("/") == 1 and rest.endswith((ARCHIVE_SUFFIX, SUFFIX)):
            return "archive"  # compressed, or as the original implementation could also write them
        return None

    def _session_path(self, session_id: str) -> str:
        return f"{self.sessions}/{session_id}.jsonl"

    def _archive_paths(self, session_id: str) -> tuple[str, str]:
        folder = f"{self.sessions}/{ARCHIVE_DIR}"
        return f"{folder}/{session_id}{ARCHIVE_SUFFIX}", f"{folder}/{session_id}{SUFFIX}"

    @property
    def _pathspec(self) -> list[str]:
        """The sessions folder and each folder above it (a symlink there would move the logs)."""
        parts = self.sessions.split("/")
        return [self.sessions, *(f":(literal){'/'.join(parts[: i + 1])}" for i in range(len(parts) - 1))]

    def check_changes(self, changes: list[_git.RawChange]) -> list[Finding]:
        folders = {"/".join(self.sessions.split("/")[: i + 1]) for i in range(self.sessions.count("/") + 1)}
        linked = [
            Finding(c.path, 0, "must be a folder, not a symlink: session logs would be written outside the repository")
            for c in changes
            if c.path in folders and c.new_mode == "120000"
        ]
        changes = [c for c in changes if c.path not in folders]
        by_path = {c.path: c for c in changes}
        if self._index_mode:
            grown = [c.path for c in changes if c.status == "M" and self._kind(c.path) == "session"]
            # git's own word on which work-tree files are not what the index holds: the others are
            # read from the work tree without hashing them a second time
            self._worktree_differs = set(_git.diff_files(grown, cwd=self.root)) if grown else set()
        findings: list[Finding] = []
        for change in changes:
            kind = self._kind(change.path)
            if kind == "session":
                findings += self._session(change, by_path)
            elif kind == "archive":
                findings += self._archive(change, by_path)
        return linked + findings

    def _session(self, change: _git.RawChange, by_path: dict[str, _git.RawChange]) -> list[Finding]:
        path, status = change.path, change.status
        if status == "D":
            return self._deleted_session(change, by_path)
        if change.new_mode not in REGULAR_MODES:
            what = "a symlink" if change.new_mode == "120000" else f"mode {change.new_mode}"
            return [Finding(path, 0, f"session log turned into {what}: it must stay a regular file ({_APPEND_ONLY})")]
        if self.blobs.size(change.new_oid) > MAX_SESSION_BYTES:
            return [Finding(path, 0, f"session log is {_TOO_LARGE}")]
        if status == "A":
            # a new segment (<id>+<seq>.jsonl) starts at its seq and goes on from a line elsewhere
            return self._lines(path, self.blobs.read(change.new_oid), first_line_of(path), None, chained=False)
        if status != "M":
            return [Finding(path, 0, f"unexpected change of type {status}: {_APPEND_ONLY}")]
        if change.old_mode != change.new_mode:
            return [
                Finding(
                    path,
                    0,
                    f"mode changed from {change.old_mode} to {change.new_mode}: a committed session log keeps its mode",
                )
            ]
        old_size = self.blobs.size(change.old_oid)
        new = self._new_content(change)
        if len(new) < old_size or _git.blob_id(memoryview(new)[:old_size], self.fmt) != change.old_oid:
            old = self.blobs.read(change.old_oid)
            if self._archived_in(change, by_path, old):
                # Archived (with every committed byte) and then started afresh under the same id.
                return self._lines(path, bytes(new), 1, None, chained=False)
            return [self._rewrite(path, old, bytes(new))]
        if old_size and new[old_size - 1 : old_size] != b"\n":
            return [
                Finding(
                    path,
                    _count_lines(new, old_size) + 1,
                    "the committed version ends mid-line; appends must start on a new line",
                )
            ]
        start = new.rfind(b"\n", 0, max(old_size - 1, 0)) + 1 if old_size else 0
        previous = new[start:old_size] if old_size else None
        number, chained = self._position(new, start, previous)
        return self._lines(path, new[old_size:], number + 1, previous, chained=chained)

    def _new_content(self, change: _git.RawChange) -> bytes | mmap.mmap:
        """The new blob's bytes; at commit time from the work tree when it holds exactly that blob.

        Mapping the file costs a fraction of inflating a large loose object. Git says which work-tree
        files differ from the index (``diff-files``, which re-reads a file whose stat data cannot
        tell); the committed bytes are then hashed once, for the prefix proof.
        """
        if self._index_mode:
            try:
                fd = os.open(self.root / change.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                fd = -1
            if fd >= 0:
                try:
                    size = os.fstat(fd).st_size
                    if size and size == self.blobs.size(change.new_oid) and change.path not in self._worktree_differs:
                        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                finally:
                    os.close(fd)
        return self.blobs.read(change.new_oid)

    def _position(self, data: bytes | mmap.mmap, start: int, previous: bytes | None) -> tuple[int, bool]:
        """The line number of *previous* and whether it is chained (read from its seq when it has one)."""
        if previous is None:
            return 0, False
        try:
            seq = orjson.loads(previous).get("seq")
        except (orjson.JSONDecodeError, AttributeError):
            seq = None
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq, True
        return _count_lines(data, start) + 1, False

    def _lines(self, path: str, data: bytes, first: int, previous: bytes | None, *, chained: bool) -> list[Finding]:
        checker = LineChecker(
            path, self.schemas, self.redactor, first_line=first, previous_line=previous, chained_before=chained
        )
        checker.feed(iter_lines(io.BytesIO(data), first_line=first))
        return checker.findings

    def _rewrite(self, path: str, old: bytes, new: bytes) -> Finding:
        """Name the first committed line that is no longer as it was."""
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        for number, line in enumerate(old_lines, start=1):
            if number > len(new_lines):
                which = f"line {number} was" if number == len(old_lines) else f"lines {number}-{len(old_lines)} were"
                return Finding(
                    path,
                    number,
                    f"committed {which} removed (file truncated): {_APPEND_ONLY}",
                )
            if new_lines[number - 1] != line:
                moved = line in new_lines
                what = "moved (lines reordered or inserted before it)" if moved else "changed or removed"
                return Finding(path, number, f"committed line {number} was {what}: {_APPEND_ONLY}")
        return Finding(path, len(old_lines), f"the committed version was rewritten: {_APPEND_ONLY}")

    def _added_archive(self, session_path: str, by_path: dict[str, _git.RawChange]) -> tuple[str, bytes | None] | None:
        """``(path, content)`` of the session's archive when this change adds it, else None."""
        for candidate in self._archive_paths(session_id_of(session_path) or ""):
            archive = by_path.get(candidate)
            if archive is not None and archive.status == "A":
                return archive.path, self._archive_content(archive.path, archive.new_oid)
        return None

    def _archived_in(self, change: _git.RawChange, by_path: dict[str, _git.RawChange], old: bytes) -> bool:
        """True when this change adds the session's archive and it holds every byte of *old*."""
        archive = self._added_archive(change.path, by_path)
        return archive is not None and archive[1] is not None and archive[1].startswith(old)

    def _deleted_session(self, change: _git.RawChange, by_path: dict[str, _git.RawChange]) -> list[Finding]:
        archive = self._added_archive(change.path, by_path)
        hint = f"restore it (git checkout <commit> -- {change.path}) or archive it with `sessionlog archive`"
        if archive is None or change.old_mode not in REGULAR_MODES:
            return [Finding(change.path, 0, f"committed session log deleted (or renamed): {hint}")]
        archive_path, archived = archive
        # the session's segments removed by this change, in order, are what the archive holds
        session = session_id_of(change.path)
        removed = sorted(
            (first_line_of(c.path), c.path, c.old_oid)
            for c in by_path.values()
            if c.status == "D" and self._kind(c.path) == "session" and session_id_of(c.path) == session
        )
        if change.path != removed[0][1]:
            return []  # checked once for all the session's segments, with its first
        # (lines appended after the last commit may follow: they were never committed)
        if archived is None or not archived.startswith(b"".join(self.blobs.read(oid) for _, _, oid in removed)):
            names = ", ".join(p for _, p, _ in removed)
            return [Finding(archive_path, 0, f"does not decompress to exactly the removed {names}: {hint}")]
        return []

    def _archive(self, change: _git.RawChange, by_path: dict[str, _git.RawChange]) -> list[Finding]:
        session = by_path.get(self._session_path(_archive_id(change.path)))
        if change.status == "A":
            if change.new_mode not in REGULAR_MODES:
                return [Finding(change.path, 0, "an archive must be a regular file")]
            if session is not None and session.status == "D":
                return []  # checked with the deleted session
            content = self._archive_content(change.path, change.new_oid)
            if content is None:
                return [Finding(change.path, 0, f"not a gzip file, or {_TOO_LARGE} once decompressed")]
            return self._lines(change.path, content, 1, None, chained=False)
        if change.status == "D":
            archived = self._archive_content(change.path, change.old_oid)
            restored = session is not None and session.status == "A" and archived is not None
            if restored and self.blobs.read(session.new_oid).startswith(archived):  # type: ignore[union-attr,arg-type]
                return []  # restored: the live session holds every archived byte
            return [
                Finding(
                    change.path, 0, "archived session deleted: archives are kept; restore it with `sessionlog restore`"
                )
            ]
        return [Finding(change.path, 0, "archives are immutable: committed archive changed")]

    def _archive_content(self, path: str, oid: str) -> bytes | None:
        """An archive's session bytes: decompressed, or as they are for an uncompressed one."""
        if path.endswith(".gz"):
            return self._gunzip(oid)
        return self.blobs.read(oid) if self.blobs.size(oid) <= MAX_SESSION_BYTES else None

    def _gunzip(self, oid: str) -> bytes | None:
        """An archive blob decompressed (at most MAX_SESSION_BYTES), once per blob; None if it is not gzip."""
        if oid not in self._gunzipped:
            try:
                self._gunzipped[oid] = gunzip_bounded(io.BytesIO(self.blobs.read(oid)), MAX_SESSION_BYTES)
            except (OSError, EOFError, ValueError):
                self._gunzipped[oid] = None
        return self._gunzipped[oid]


def _archive_id(path: str) -> str:
    return _session_id(path, ARCHIVE_SUFFIX if path.endswith(ARCHIVE_SUFFIX) else SUFFIX)


def _session_id(path: str, suffix: str) -> str:
    return path.rsplit("/", 1)[1][: -len(suffix)]


def _count_lines(data: bytes | mmap.mmap, end: int) -> int:
    """Newlines in ``data[:end]`` (mmap has no count method)."""
    view = memoryview(data)
    return sum(view[i : min(i + (1 << 24), end)].tobytes().count(b"\n") for i in range(0, end, 1 << 24))
