"""sessionlog-check: refuse edited, dropped or reordered session lines.

At commit time it first logs the commits made since the last one, closes
every open session segment and stages the session files git does not have
yet (see ``_segments``), then checks the index against HEAD. Inside ``git merge`` (pre-merge-commit)
it only checks: git leaves index changes made there out of the merge commit.
Run outside ``git commit`` (``pre-commit run --all-files``, manual stage) it
also verifies every committed session file whole. At push time it checks
every pushed commit: the refs git names on stdin, or under the pre-commit
framework (which passes hooks one ref) every local branch the remote lacks.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sessionlog.commits import events as _repo_events
from sessionlog.commits.check import Checker
from sessionlog.core.report import FORMATS, default_format, render
from sessionlog.core.verify import Finding
from sessionlog.errors import EXIT_FINDINGS, EXIT_OK, UsageError, run_command
from sessionlog.git import exe as _git
from sessionlog.warm import CALLER_PID  # the hook process's parent, which the warm runner passes on


def _pre_push_ranges(stdin: str) -> list[tuple[str | None, str]]:
    """(base, head) pairs from git's pre-push input; deletions are skipped."""
    ranges: list[tuple[str | None, str]] = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) != 4 or _git.is_null_oid(parts[1]):
            continue
        ranges.append((None if _git.is_null_oid(parts[3]) else parts[3], parts[1]))
    return ranges


def _partial_commit() -> bool:
    """``git commit <paths>`` builds a temporary index: staging there would leave the real one behind."""
    return Path(os.environ.get("GIT_INDEX_FILE", "index")).name.startswith("next-index")


def _in_merge() -> bool:
    """Inside ``git merge``/``git pull`` (the pre-merge-commit hook), which sets its reflog action."""
    return os.environ.get("GIT_REFLOG_ACTION", "").startswith(("merge", "pull"))


def _commit_arguments() -> list[bytes] | None:
    """The arguments of the ``git commit`` this hook runs under, read from the process tree (Linux
    ``/proc``); None where they cannot be read."""
    pid = int(os.environ.get(CALLER_PID) or os.getppid())
    for _ in range(8):  # git -> the framework or a shim -> (python) -> this
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
        if os.path.basename(args[0]) == b"git" and b"commit" in args:
            return args
        if parent <= 1:
            return None
        pid = parent
    return None


def _committable(root: Path, head: str | None) -> bool:
    """Whether git will make this commit: it decided from the index as it was before this hook ran,
    so lines staged into a commit that has nothing in it would be left staged behind it.

    ``--amend`` is committable when HEAD's own change is (git compares with HEAD's parent);
    ``--allow-empty`` commits take no lines (they go with the next commit).
    """
    if head is None or _git.index_differs(head, cwd=root):
        return True
    args = _commit_arguments()
    if args is None or not any(a == b"--amend" for a in args):
        return False
    parent = _git.rev_parse("HEAD^", cwd=root)
    return _git.index_differs(parent or _git.empty_tree(root), cwd=root)


def _in_commit() -> bool:
    """Run by ``git commit`` (git names the index for its hooks), not by ``pre-commit run``."""
    return "GIT_INDEX_FILE" in os.environ


def run_check(
    root: Path,
    *,
    ranges: Sequence[tuple[str | None, str]] = (),
    stage_events: bool = True,
    whole_files: bool = False,
    remote: str | None = None,
    problems: list[str] | None = None,
) -> list[Finding]:
    with Checker(root) as checker:
        if remote is not None:
            # The framework hands its hooks only the first pushed ref: check every local branch
            # from what the remote has, a superset of whatever is being pushed.
            return checker.check_unpushed(remote)
        if ranges:
            findings: list[Finding] = []
            for base, head in ranges:
                # A remote tip unknown here: check the whole pushed history instead.
                known = base if base is not None and _git.rev_parse(base, cwd=root) else None
                findings += checker.check_range(known, head, each_commit=True)
            for notice in checker.notices:
                print(f"sessionlog-check: notice: {notice}", file=sys.stderr)
            return findings
        at = _git.rev_parse("HEAD", cwd=root)  # once, for both questions below
        if stage_events and not _partial_commit() and not _in_merge() and (not _in_commit() or _committable(root, at)):
            _, left = _repo_events.flush(root)
            if problems is not None:
                problems += left
        findings = checker.check_index(head=at)
        if whole_files:
            findings += checker.check_files()
        if _in_commit():
            warn: list[str] = []
            active = _repo_events.active_session(root, warn=warn) if not findings else None
            _repo_events.leave_trailers(root, checker.head, active)
            for problem in warn:
                print(f"sessionlog-check: not added as a trailer: {problem}", file=sys.stderr)
        return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sessionlog-check", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from-ref", default=os.environ.get("PRE_COMMIT_FROM_REF"))
    parser.add_argument("--to-ref", default=os.environ.get("PRE_COMMIT_TO_REF"))
    parser.add_argument("--pre-push", nargs="*", metavar="REMOTE", help="read git's pre-push lines from stdin")
    parser.add_argument(
        "--no-stage-events", action="store_true", help="do not log commits or stage pending session files"
    )
    parser.add_argument("-o", "--output", choices=FORMATS, default=default_format())
    args = parser.parse_args(argv)
    return run_command("sessionlog-check", lambda: _check(args))


def _check(args: argparse.Namespace) -> int:
    root = _git.toplevel()
    if root is None:
        raise UsageError("not inside a git work tree")
    ranges: list[tuple[str | None, str]] = []
    remote = os.environ.get("PRE_COMMIT_REMOTE_NAME") if args.pre_push is None else None
    if args.pre_push is not None:
        ranges = _pre_push_ranges(sys.stdin.read())
        if not ranges:
            return EXIT_OK
    elif args.from_ref and args.to_ref and not remote:
        ranges = [(args.from_ref, args.to_ref)]
    problems: list[str] = []
    findings = run_check(
        root,
        ranges=ranges,
        stage_events=not args.no_stage_events,
        whole_files=not ranges and not _in_commit(),
        remote=remote,
        problems=problems,
    )
    for problem in problems:
        print(f"sessionlog-check: not moved: {problem}", file=sys.stderr)
    render(findings, args.output)
    if findings and args.output == "text":
        print(
            f"sessionlog: {len(findings)} problem(s); committed session lines may only be appended to.", file=sys.stderr
        )
    return EXIT_FINDINGS if findings else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
