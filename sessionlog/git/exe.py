"""Git, reached through the ``git`` executable: small named functions over one helper.

Argument lists only, never a shell; paths always after ``--``; NUL-separated
output where git offers it. Variables a hook inherits (``GIT_DIR``,
``GIT_INDEX_FILE``...) are stripped when git is run for another repository.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from sessionlog.errors import GitError


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """Run ``git *args`` and return its stdout; raise GitError when it fails."""
    try:
        proc = subprocess.run(
            ("git", *args),
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env(env),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args[:3])} failed ({proc.returncode}): {detail}")
    return proc.stdout


def toplevel(cwd: Path | str | None = None) -> Path | None:
    """Return the work tree's top-level folder containing *cwd*, or None outside one.

    The same git call tells the git directories and the object format, which
    are remembered for the process (see :func:`common_dir`).
    """
    where = str(Path(cwd or ".").absolute())
    try:
        out = run(
            (
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--absolute-git-dir",
                "--git-common-dir",
                "--show-object-format",
            ),
            cwd=where,
        ).decode("utf-8", "surrogateescape")
    except GitError:
        return None
    top, git_dir, common, fmt = out.splitlines()
    for folder in {where, top}:
        _FACTS[folder] = (Path(git_dir), Path(common), fmt)
    return Path(top)


# work-tree folder -> (git dir, common git dir, object format): fixed for a repository's life
_FACTS: dict[str, tuple[Path, Path, str]] = {}


def _facts(cwd: Path | str | None) -> tuple[Path, Path, str]:
    where = str(Path(cwd or ".").absolute())
    if where not in _FACTS:
        out = run(
            ("rev-parse", "--path-format=absolute", "--absolute-git-dir", "--git-common-dir", "--show-object-format"),
            cwd=where,
        ).decode("utf-8", "surrogateescape")
        git_dir, common, fmt = out.splitlines()
        _FACTS[where] = (Path(git_dir), Path(common), fmt)
    return _FACTS[where]


def is_null_oid(oid: str | None) -> bool:
    """True for None, empty, or git's all-zeros object name (a ref that does not exist)."""
    return not oid or not oid.strip("0")


def rev_parse(rev: str, *, cwd: Path | str | None = None) -> str | None:
    """The full object name of *rev* (a commit), or None if it does not resolve."""
    try:
        out = run(("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"), cwd=cwd)
    except GitError:
        return None
    return out.decode().strip() or None


def object_format(cwd: Path | str | None = None) -> str:
    """``sha1`` or ``sha256``."""
    try:
        return _facts(cwd)[2] or "sha1"
    except GitError:
        return "sha1"


def empty_tree(cwd: Path | str | None = None) -> str:
    return run(("hash-object", "-t", "tree", "--stdin"), cwd=cwd, input=b"").decode().strip()


def index_differs(rev: str, *, cwd: Path | str | None = None) -> bool:
    """Whether the index (``GIT_INDEX_FILE`` when a hook runs) records anything *rev* does not."""
    try:
        proc = subprocess.run(
            ("git", "diff-index", "--cached", "--quiet", "--ignore-submodules=none", rev, "--"),
            cwd=cwd,
            capture_output=True,
            env=_env(),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if proc.returncode > 1:
        raise GitError(f"git diff-index failed ({proc.returncode}): {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.returncode == 1


def is_ancestor(ancestor: str, descendant: str, *, cwd: Path | str | None = None) -> bool:
    try:
        run(("merge-base", "--is-ancestor", ancestor, descendant), cwd=cwd)
    except GitError:
        return False
    return True


class RawChange(NamedTuple):
    """One line of ``git diff --raw``: a path's mode and blob before and after."""

    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    status: str
    path: str


def _parse_raw(out: bytes) -> list[RawChange]:
    parts = out.split(b"\0")
    changes = []
    for i in range(0, len(parts) - 1, 2):
        meta, path = parts[i].decode(), parts[i + 1].decode("utf-8", "surrogateescape")
        old_mode, new_mode, old_oid, new_oid, status = meta.lstrip(":").split(" ")
        changes.append(RawChange(old_mode, new_mode, old_oid, new_oid, status[0], path))
    return changes


def diff_trees(old: str, new: str, paths: Sequence[str], *, cwd: Path | str | None = None) -> list[RawChange]:
    """Changes between two tree-ishes under *paths*, renames shown as delete + add."""
    out = run(("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", old, new, "--", *paths), cwd=cwd)
    return _parse_raw(out)


def diff_files(paths: Sequence[str], *, cwd: Path | str | None = None) -> list[str]:
    """Which of *paths* differ in the work tree from the index (git decides, by stat data and,
    where that cannot tell, by content)."""
    out = run(("diff-files", "--name-only", "-z", "--", *paths), cwd=cwd)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def diff_index(rev: str, paths: Sequence[str], *, cwd: Path | str | None = None) -> list[RawChange]:
    """Changes from *rev* to the index (what the next commit will record) under *paths*."""
    out = run(("diff-index", "-z", "--raw", "--cached", "--no-renames", "--full-index", rev, "--", *paths), cwd=cwd)
    return _parse_raw(out)


def rev_list(base: str | None, head: str, *, cwd: Path | str | None = None) -> list[tuple[str, list[str]]]:
    """Commits in ``base..head`` (all ancestors of head if base is None), oldest first, with parents."""
    return rev_list_spec((head,) if base is None else (head, "--not", base), cwd=cwd)


def rev_list_spec(spec: Sequence[str], *, cwd: Path | str | None = None) -> list[tuple[str, list[str]]]:
    """Commits *spec* (rev-list arguments) selects, oldest first, with parents."""
    out = run(("rev-list", "--reverse", "--topo-order", "--parents", *spec, "--"), cwd=cwd).decode()
    rows = [line.split() for line in out.splitlines() if line]
    return [(row[0], row[1:]) for row in rows]


def ls_files(paths: Sequence[str], *, cwd: Path | str | None = None) -> list[tuple[str, str, str]]:
    """``(mode, oid, path)`` of the index entries under *paths*."""
    out = run(("ls-files", "-s", "-z", "--", *paths), cwd=cwd)
    entries = []
    for record in out.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, oid, _stage = meta.decode().split(" ")
            entries.append((mode, oid, path.decode("utf-8", "surrogateescape")))
    return entries


def shallow_commits(*, cwd: Path | str | None = None) -> set[str]:
    """The commits at the edge of a shallow clone (their parents are missing); empty for a full clone."""
    try:
        return set(git_path("shallow", cwd=cwd).read_text().split())
    except FileNotFoundError:
        return set()


class Blobs:
    """Blob sizes and contents from one long-lived ``git cat-file --batch-command``."""

    def __init__(self, cwd: Path | str | None = None) -> None:
        self._proc = subprocess.Popen(
            ("git", "cat-file", "--batch-command"),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
        )

    def _ask(self, command: str, oid: str) -> tuple[str, int]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(f"{command} {oid}\n".encode())
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().decode().split()
        if len(header) != 3:
            raise GitError(f"git cat-file: object {oid} is missing ({' '.join(header)})")
        return header[1], int(header[2])

    def size(self, oid: str) -> int:
        return self._ask("info", oid)[1]

    def read(self, oid: str) -> bytes:
        kind, size = self._ask("contents", oid)
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(size + 1)[:-1]
        if kind != "blob":
            raise GitError(f"git cat-file: {oid} is a {kind}, not a blob")
        return data

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> Blobs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def blob_id(data: bytes | memoryview, fmt: str) -> str:
    """The git object name *data* would have as a blob, without writing it."""
    digest = hashlib.new(fmt)
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def git_path(name: str, *, cwd: Path | str | None = None, common: bool = False) -> Path:
    """A path inside the repository's git directory, absolute; with *common*, inside the
    directory all worktrees share. Names under ``sessionlog/`` (this tool's own, which git
    keeps per worktree) are resolved without a git call; others ask ``--git-path``."""
    if common:
        return common_dir(cwd) / name
    if name.startswith("sessionlog/"):
        return _facts(cwd)[0] / name
    return Path(run(("rev-parse", "--path-format=absolute", "--git-path", name), cwd=cwd).decode().strip())


def common_dir(cwd: Path | str | None = None) -> Path:
    """The git directory all worktrees of the repository at *cwd* share (asked once per process)."""
    return _facts(cwd)[1]


def current_branch(*, cwd: Path | str | None = None) -> str | None:
    """The checked-out branch's short name, or None when HEAD is detached."""
    out = run(("symbolic-ref", "--quiet", "--short", "HEAD"), cwd=cwd, check=False).decode().strip()
    return out or None


class CommitInfo(NamedTuple):
    sha: str
    parents: tuple[str, ...]
    author: str
    subject: str
    committed_at: str
    trailers: tuple[tuple[str, str], ...]


def commit_info(rev: str, *, cwd: Path | str | None = None) -> CommitInfo:
    """sha, parents, author, subject, commit time and trailers of one commit."""
    for info in commit_infos((rev,), cwd=cwd).values():
        return info
    raise GitError(f"{rev} is not a commit")


def commit_infos(revs: Sequence[str], *, cwd: Path | str | None = None) -> dict[str, CommitInfo]:
    """:class:`CommitInfo` of several commits in one git call, by sha; revisions that do not
    resolve (the parent of a root commit) are left out."""
    fmt = "%H%x00%P%x00%an <%ae>%x00%s%x00%cI%x00%(trailers:unfold,only)%x1e"
    out = run(("log", "--no-walk=unsorted", "--ignore-missing", f"--format={fmt}", *revs, "--"), cwd=cwd)
    infos: dict[str, CommitInfo] = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        if "\0" not in record:
            continue
        sha, parents, author, subject, when, trailers = record.lstrip("\n").split("\0")
        pairs = [line.split(":", 1) for line in trailers.splitlines() if ":" in line]
        infos[sha] = CommitInfo(
            sha, tuple(parents.split()), author, subject, when, tuple((k.strip(), v.strip()) for k, v in pairs)
        )
    return infos


def files_touched(sha: str, parents: Sequence[str], *, cwd: Path | str | None = None) -> list[str]:
    """Paths a commit changed against its first parent (all paths for a root commit), as text to
    log: a name that is not UTF-8 keeps its other bytes as ``\\xNN`` (JSON cannot hold raw bytes)."""
    args = ("diff-tree", "-r", "-z", "--name-only", "--no-commit-id")
    out = run((*args, parents[0], sha) if parents else (*args, "--root", sha), cwd=cwd)
    return [p.decode("utf-8", "backslashreplace") for p in out.split(b"\0") if p]


def add(paths: Sequence[str | Path], *, cwd: Path | str | None = None) -> None:
    run(("add", "--", *[str(p) for p in paths]), cwd=cwd)


_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


def in_index(path: Path, *, top: Path) -> bool:
    """Whether the work tree's own index (never a hook's temporary one) has *path*.

    Any failure answers False: the caller then keeps writing where it was.
    """
    env = {k: v for k, v in _env().items() if k not in _LOCATION_VARS}
    try:
        proc = subprocess.run(
            ("git", "ls-files", "-z", "--", os.path.relpath(path, top)),
            cwd=top,
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError:
        return False
    return proc.returncode == 0 and bool(proc.stdout)


def untracked(paths: Sequence[str], *, cwd: Path | str | None = None) -> list[str]:
    """Files under *paths* that git does not have and does not ignore."""
    out = run(("ls-files", "-z", "--others", "--exclude-standard", "--", *paths), cwd=cwd)
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def commits_with_trailer(
    key: str, value: str, *, rev: str = "HEAD", cwd: Path | str | None = None
) -> list[tuple[str, str]]:
    """``(sha, subject)`` of the commits reachable from *rev* whose trailer *key* is *value*, newest first."""
    fmt = f"%H%x00%s%x00%(trailers:key={key},valueonly,separator=%x01)%x00"
    out = run(("log", f"--format={fmt}", rev, "--"), cwd=cwd).decode("utf-8", "replace")
    fields = out.split("\0")
    found = []
    for i in range(0, len(fields) - 3, 3):
        sha, subject, values = fields[i].strip(), fields[i + 1], fields[i + 2]
        if value in (v.strip() for v in values.split("\x01")):
            found.append((sha, subject))
    return found
