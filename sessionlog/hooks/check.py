"""sessionlog-check: refuse edited, dropped or reordered session lines.

At commit time (pre-commit, pre-merge-commit) it first stages the queued
repository events of this branch, then checks the index against HEAD. At
push time it checks every pushed commit, from pre-commit's
``PRE_COMMIT_FROM_REF``/``PRE_COMMIT_TO_REF`` or from git's pre-push input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import _git, _repo_events
from .._commitcheck import Checker
from .._report import FORMATS, default_format, render
from .._verify import Finding


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


def run_check(root: Path, *, ranges: Sequence[tuple[str | None, str]] = (), stage_events: bool = True) -> list[Finding]:
    with Checker(root) as checker:
        if ranges:
            findings: list[Finding] = []
            for base, head in ranges:
                # A remote tip unknown here: check the whole pushed history instead.
                known = base if base is not None and _git.rev_parse(base, cwd=root) else None
                findings += checker.check_range(known, head, each_commit=True)
            return findings
        if stage_events and not _partial_commit():
            _repo_events.flush(root)
        return checker.check_index()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sessionlog-check", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from-ref", default=os.environ.get("PRE_COMMIT_FROM_REF"))
    parser.add_argument("--to-ref", default=os.environ.get("PRE_COMMIT_TO_REF"))
    parser.add_argument("--pre-push", nargs="*", metavar="REMOTE", help="read git's pre-push lines from stdin")
    parser.add_argument("--no-stage-events", action="store_true", help="do not stage queued repository events")
    parser.add_argument("-o", "--output", choices=FORMATS, default=default_format())
    args = parser.parse_args(argv)
    root = _git.toplevel()
    if root is None:
        print("sessionlog-check: not inside a git work tree", file=sys.stderr)
        return 1
    ranges: list[tuple[str | None, str]] = []
    if args.from_ref and args.to_ref:
        ranges = [(args.from_ref, args.to_ref)]
    elif args.pre_push is not None:
        ranges = _pre_push_ranges(sys.stdin.read())
        if not ranges:
            return 0
    elif os.environ.get("PRE_COMMIT_REMOTE_NAME") and os.environ.get("PRE_COMMIT_LOCAL_BRANCH"):
        ranges = [(None, os.environ["PRE_COMMIT_LOCAL_BRANCH"])]  # pre-commit pushing a new root
    try:
        findings = run_check(root, ranges=ranges, stage_events=not args.no_stage_events)
    except (_git.GitError, RuntimeError) as exc:
        print(f"sessionlog-check: {exc}", file=sys.stderr)
        return 3
    render(findings, args.output)
    if findings and args.output == "text":
        print(
            f"sessionlog: {len(findings)} problem(s); committed session lines may only be appended to.", file=sys.stderr
        )
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
