"""Commands for the repository: the CI range check, hooks, commits, handoffs."""

from __future__ import annotations

import argparse
import sys

from sessionlog.cli._common import logger_of, repo_root
from sessionlog.core.report import render
from sessionlog.errors import EXIT_FINDINGS, EXIT_OK, UsageError


def ci(args: argparse.Namespace) -> int:
    from sessionlog.commits.check import Checker
    from sessionlog.git import exe as _git

    root = repo_root()
    if _git.rev_parse(args.head, cwd=root) is None:
        raise UsageError(f"--head {args.head} is not a commit in this repository")
    with Checker(root) as checker:
        # Every commit, against each parent: comparing only the ends of a range misses a line
        # deleted and re-chained in between and a merge that drops one side (`-s ours`).
        findings = checker.check_range(args.base, args.head, each_commit=True)
    for notice in checker.notices:
        print(f"sessionlog ci: notice: {notice}", file=sys.stderr)
    render(findings, args.output)
    if args.output == "text":
        print(
            f"sessionlog ci: {len(findings)} problem(s)" if findings else "sessionlog ci: session logs intact",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if findings else EXIT_OK


def handoff(args: argparse.Namespace) -> int:
    from sessionlog.commits import events as _repo_events
    from sessionlog.git import exe as _git

    session = args.session
    if session is None:
        root = repo_root()
        session = _repo_events.active_session(root).get("session_id") or _repo_events.repo_session_id(
            _git.current_branch(cwd=root), _repo_events.clone_id(root)
        )
    with logger_of(args) as logger:
        result = logger.log_handoff(
            session, args.from_agent, args.to_agent, args.summary, from_session=args.from_session
        )
    if not result.ok:
        print(f"sessionlog handoff: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{session}: {result.event_id}")
    return EXIT_OK


def commits(args: argparse.Namespace) -> int:
    from sessionlog.git import exe as _git

    for sha, subject in _git.commits_with_trailer("Sessionlog-Session", args.session, rev=args.rev, cwd=repo_root()):
        print(f"{sha} {subject}")
    return EXIT_OK


def install_hooks(args: argparse.Namespace) -> int:
    from sessionlog.setup.install import install, set_up_repository

    root = repo_root()
    lines, installed = install(root, force=args.force)
    if installed:
        lines += set_up_repository(root)
    print("\n".join(lines))
    return EXIT_OK if installed else EXIT_FINDINGS


def revert(args: argparse.Namespace) -> int:
    """``git revert`` of the code only: the session logs stay as HEAD has them, then commit (hooks run)."""
    from sessionlog.core.paths import SESSIONS_DIR
    from sessionlog.git import exe as _git

    root = repo_root()
    if _git.rev_parse(args.commit, cwd=root) is None:
        raise UsageError(f"{args.commit} is not a commit")
    _git.run(("revert", "--no-commit", "--end-of-options", args.commit), cwd=root, check=False)
    # the session logs as HEAD has them: this also settles conflicts inside them
    _git.run(("checkout", "HEAD", "--", SESSIONS_DIR.as_posix()), cwd=root, check=False)
    unmerged = _git.run(("diff", "--name-only", "--diff-filter=U"), cwd=root).decode().split()
    if unmerged:
        print(
            f"sessionlog revert: conflicts in {', '.join(unmerged)}; resolve them, then `git commit` "
            "(the session logs are already as HEAD has them)",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    if args.no_commit:
        print("sessionlog revert: code reverted, session logs kept; review and `git commit`")
        return EXIT_OK
    _git.run(("commit", "--no-edit", "--quiet"), cwd=root)
    print(f"sessionlog revert: reverted {args.commit}, session logs kept")
    return EXIT_OK


def init(args: argparse.Namespace) -> int:
    from sessionlog.setup.install import (
        FRAMEWORK_CONFIG,
        TRAILER_HOOK,
        install,
        install_framework_hooks,
        merge_agent_hooks,
        merge_framework_entry,
        register_mcp,
        set_up_repository,
    )

    root = repo_root()
    framework = (root / FRAMEWORK_CONFIG).exists() and not args.shims
    lines = merge_framework_entry(root, args.repo, args.rev) if framework else []
    lines += set_up_repository(root)
    if framework:
        lines += install_framework_hooks(root)
        # The framework runs sessionlog-check; the trailers come from a light shim, a
        # framework stage fewer per commit. A framework hook already there keeps the stage.
        more, installed = install(root, hooks=(TRAILER_HOOK,), force=args.force)
        if not installed:
            more = [
                f"{TRAILER_HOOK}: the pre-commit framework's hook is there; list sessionlog-prepare-commit-msg in "
                f"{FRAMEWORK_CONFIG} for the session trailers (or `sessionlog init --force` for the light shim)"
            ]
        lines += more
        installed = True
    else:
        more, installed = install(root, force=args.force)
        lines += more
    lines.append(
        "session lines are written as untracked files in the sessions folder; each commit takes those pending "
        "(`git add -A` too), and a committed file is never written again"
    )
    for agent in ("claude-code", "codex", "gemini-cli"):
        if getattr(args, agent.replace("-", "_")):
            lines += merge_agent_hooks(root, agent)
    if args.mcp:
        lines += register_mcp(root)
    print("\n".join(lines))
    return EXIT_OK if installed else EXIT_FINDINGS


def activate(args: argparse.Namespace) -> int:
    from sessionlog.commits.events import set_active
    from sessionlog.core.ids import agent_error, session_id_error

    if args.session is None:
        set_active(repo_root(), None, None)
        print("sessionlog: no active session on this branch")
        return EXIT_OK
    problem = session_id_error(args.session) or (agent_error(args.agent) if args.agent else None)
    if problem:
        raise UsageError(problem)
    set_active(repo_root(), args.session, args.agent)
    print(f"sessionlog: {args.session} is the active session on this branch")
    return EXIT_OK


def flush(args: argparse.Namespace) -> int:
    from sessionlog.commits.events import flush

    # Commits are logged by the commit hook, which commits the branch's log at once: written here,
    # that tracked file would stay staged, and git refuses to switch away from it.
    written, problems = flush(repo_root(), stage=not args.no_stage, log_commits=False)
    for path in written:
        print(path)
    for problem in problems:
        print(f"sessionlog flush: not moved: {problem}", file=sys.stderr)
    return EXIT_FINDINGS if problems else EXIT_OK


def explain(args: argparse.Namespace) -> int:
    """Where a commit, a file or a line came from; exit 1 when no session explains it."""
    import os
    from pathlib import Path

    from sessionlog.cli._common import out_json
    from sessionlog.commits import explain as _explain
    from sessionlog.core.report import visible
    from sessionlog.git import exe as _git

    root = repo_root()
    target, line = args.target, None
    path, _, number = target.rpartition(":")
    if path and number.isdigit() and os.path.isfile(path):
        target, line = path, int(number)
    if os.path.isfile(target):
        relative = Path(os.path.relpath(os.path.realpath(target), os.path.realpath(root))).as_posix()
        if relative.startswith("../"):
            raise UsageError(f"{args.target}: not in this repository")
        if line is not None:
            sha, text = _explain.blame_line(root, relative, line)
        else:
            sha, text = _explain.last_commit_of(root, relative), ""
        focus: str | None = relative
    elif _git.rev_parse(f"{target}^{{commit}}", cwd=root) is not None:
        sha, text, focus = target, "", None
    else:
        raise UsageError(f"{args.target}: neither a commit nor a file of this repository")
    explanation = _explain.Explainer(logger_of(args), root).commit(sha)
    source = _explain.line_source(explanation, focus, text) if explanation and focus and line else None
    if args.output == "json":
        out: dict[str, object] = {"target": args.target, "explained": explanation is not None}
        if explanation is not None:
            out.update(explanation.as_json())
        if line is not None:
            out["line"] = {"path": focus, "number": line, "text": text, "written_by": _explain.as_json(source)}
        out_json(out)
    else:
        lines = _explain.render(explanation, sha, focus=focus, line=line, text=text, source=source)
        print(visible("\n".join(lines)))
    return EXIT_OK if explanation is not None else EXIT_FINDINGS


def view(args: argparse.Namespace) -> int:
    """Write sessions as one self-contained HTML page."""
    from pathlib import Path

    from sessionlog.commits import explain as _explain
    from sessionlog.export import view as _view
    from sessionlog.git import exe as _git

    logger = logger_of(args)
    if args.all == bool(args.sessions):
        raise UsageError("name the sessions to show, or --all (not both)")
    sessions = logger.list_sessions() if args.all else args.sessions
    for session in sessions:
        if session not in logger.list_sessions():
            raise UsageError(f"no session {session!r} in {logger.base_dir}")
    root = _git.toplevel()
    commits = _explain.commits_by_session(_explain.Explainer(logger, root)) if root is not None else {}
    data = [_view.session_data(logger, s, commits.get(s, [])) for s in sessions]
    title = f"sessionlog: {sessions[0]}" if len(sessions) == 1 else f"sessionlog: {len(sessions)} sessions"
    out = Path(args.out or "sessionlog-view.html")
    out.write_text(_view.page(data, title=title), encoding="utf-8")
    print(f"sessionlog view: {sum(len(d['events']) for d in data)} event(s) of {len(data)} session(s) in {out}")
    return EXIT_OK
