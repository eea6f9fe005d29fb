"""The ``sessionlog`` command line: ``main(argv) -> int``.

Exit codes: 0 clean, 1 findings or a refused action, 2 usage error, 3 crash.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from ._ids import make_session_id
from ._logger import OPTIONAL_BLOCKS, SessionLogger
from ._manage import LogManager
from ._paths import default_sessions_dir, repo_redactor, repo_schema_for
from ._report import FORMATS, default_format, render
from ._schema import SchemaSet, load_schemas
from ._verify import anchor_problem, verify_file
from .errors import EXIT_FINDINGS, EXIT_OK, UsageError, run_command


def _out(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _dir(args: argparse.Namespace) -> Path | None:
    """The sessions folder ``--dir`` names, or None for the default."""
    return Path(args.dir) if args.dir else None


def _json_arg(name: str, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"--{name.replace('_', '-')}: not valid JSON: {exc}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(_dir(args))


def cmd_verify(args: argparse.Namespace) -> int:
    loaded: dict[Path, SchemaSet] = {}

    def schemas_for(path: Path) -> SchemaSet:
        # --schema, else the repository schema beside the sessions folder the file lives in;
        # each schema file is loaded and compiled once, however many logs share it
        schema = Path(args.schema) if args.schema else repo_schema_for(path.parent)
        if schema not in loaded:
            loaded[schema] = load_schemas(schema)
        return loaded[schema]

    reports = [verify_file(Path(p), schemas_for(Path(p)), redactor=repo_redactor(Path(p).parent)) for p in args.paths]
    if args.anchor:
        for report in reports:
            problem = anchor_problem(Path(report.path), args.anchor) if Path(report.path).is_file() else None
            if problem is not None:
                report.findings.append(problem)
    if args.output == "json":
        _out(
            [
                {
                    "path": r.path,
                    "ok": r.ok,
                    "events": r.events,
                    "unchained": r.unchained,
                    "findings": [{"line": f.line, "message": f.message} for f in r.findings],
                }
                for r in reports
            ]
        )
    else:
        render([f for r in reports for f in r.findings], args.output)
        for report in reports:
            if report.unchained and not args.quiet:
                print(
                    f"{report.path}: note: {report.unchained} legacy line(s) without chain fields "
                    "(written before sessionlog; valid, but not hash-chained)"
                )
    return EXIT_FINDINGS if any(not r.ok for r in reports) else EXIT_OK


def _logger(args: argparse.Namespace) -> SessionLogger:
    return SessionLogger(_dir(args))


def cmd_append(args: argparse.Namespace) -> int:
    blocks = {name: _json_arg(name, getattr(args, name)) for name in OPTIONAL_BLOCKS if getattr(args, name) is not None}
    with _logger(args) as logger:
        result = logger.append_event(args.session, args.type, args.agent, args.source, **blocks)
    if not result.ok:
        print(f"sessionlog append: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(result.event_id)
    return EXIT_OK


def cmd_query(args: argparse.Namespace) -> int:
    logger = _logger(args)
    events = logger.query_events(
        args.session,
        event_type=args.type,
        agent=args.agent,
        after_timestamp=args.after,
        before_timestamp=args.before,
    )
    for event in events:
        sys.stdout.write(orjson.dumps(event).decode() + "\n")
    for error in events.errors:
        print(f"{logger.session_path(args.session)}:{error.line}: {error.message}", file=sys.stderr)
    return EXIT_FINDINGS if events.errors else EXIT_OK


def cmd_commitments(args: argparse.Namespace) -> int:
    open_ = _logger(args).get_open_commitments(args.session)
    if args.output == "json":
        _out(open_)
    for c in open_ if args.output == "text" else ():
        print(f"- [{c['status']}] {c['commitment']}  (line {c['event']['line']})")
    return EXIT_OK


def cmd_failures(args: argparse.Namespace) -> int:
    failures = _logger(args).get_failure_history(args.session)
    if args.output == "json":
        _out(failures)
    for f in failures if args.output == "text" else ():
        print(f"- {f['attempt']}: {f['failure_reason']}  (line {f['event']['line']})")
    return EXIT_OK


def cmd_archive(args: argparse.Namespace) -> int:
    manager = LogManager(_dir(args))
    items = manager.plan_cleanup(args.older_than, archive_first=not args.delete, dry_run=args.dry_run)
    for item in items:
        print(f"{item.session_id}: {item.action} (last event {item.last_event})")
    return EXIT_FINDINGS if any(i.action.startswith("skipped") for i in items) else EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    ok, error = LogManager(_dir(args)).try_restore_session(args.session)
    if not ok:
        print(f"sessionlog restore: {error}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_FINDINGS


def cmd_stats(args: argparse.Namespace) -> int:
    _out(LogManager(_dir(args)).get_storage_stats())
    return EXIT_OK


def cmd_session_id(args: argparse.Namespace) -> int:
    print(make_session_id(args.agent))
    return EXIT_OK


def _root() -> Path:
    from . import _git

    root = _git.toplevel()
    if root is None:
        raise UsageError("not inside a git work tree")
    return root


def cmd_ci(args: argparse.Namespace) -> int:
    from . import _git
    from ._commitcheck import Checker

    root = _root()
    if _git.rev_parse(args.head, cwd=root) is None:
        raise UsageError(f"--head {args.head} is not a commit in this repository")
    with Checker(root) as checker:
        findings = checker.check_range(args.base, args.head, each_commit=args.each_commit)
    for notice in checker.notices:
        print(f"sessionlog ci: notice: {notice}", file=sys.stderr)
    render(findings, args.output)
    if args.output == "text":
        print(
            f"sessionlog ci: {len(findings)} problem(s)" if findings else "sessionlog ci: session logs intact",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if findings else EXIT_OK


def cmd_handoff(args: argparse.Namespace) -> int:
    from . import _git, _repo_events

    session = args.session
    if session is None:
        root = _root()
        session = _repo_events.active_session(root).get("session_id") or _repo_events.repo_session_id(
            _git.current_branch(cwd=root), _repo_events.clone_id(root)
        )
    with _logger(args) as logger:
        result = logger.log_handoff(
            session, args.from_agent, args.to_agent, args.summary, from_session=args.from_session
        )
    if not result.ok:
        print(f"sessionlog handoff: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{session}: {result.event_id}")
    return EXIT_OK


def cmd_commits(args: argparse.Namespace) -> int:
    from . import _git

    for sha, subject in _git.commits_with_trailer("Sessionlog-Session", args.session, rev=args.rev, cwd=_root()):
        print(f"{sha} {subject}")
    return EXIT_OK


def cmd_install_hooks(args: argparse.Namespace) -> int:
    from ._install import install, set_up_repository

    root = _root()
    lines, installed = install(root, force=args.force)
    if installed:
        lines += set_up_repository(root)
    print("\n".join(lines))
    return EXIT_OK if installed else EXIT_FINDINGS


def cmd_revert(args: argparse.Namespace) -> int:
    """``git revert`` of the code only: the session logs stay as HEAD has them, then commit (hooks run)."""
    from . import _git
    from ._paths import SESSIONS_DIR

    root = _root()
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


def cmd_migrate(args: argparse.Namespace) -> int:
    from ._schema import migrate_schema_file

    sessions = Path(args.dir) if args.dir else default_sessions_dir()
    schema = repo_schema_for(sessions)
    if not schema.is_file():
        print(f"sessionlog migrate: no repository schema at {schema}; nothing to migrate")
        return EXIT_OK
    changes = migrate_schema_file(schema)
    print("\n".join(changes) if changes else f"sessionlog migrate: {schema} needs nothing")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from ._install import FRAMEWORK_INSTALL, TRAILER_HOOK, install, set_up_repository

    root = _root()
    lines = set_up_repository(root)
    if (root / ".pre-commit-config.yaml").exists() and not args.shims:
        # The framework runs sessionlog-check; the trailers come from a light shim, a
        # framework stage fewer per commit. A framework hook already there keeps the stage.
        more, installed = install(root, hooks=(TRAILER_HOOK,), force=args.force)
        if not installed:
            more = [
                f"{TRAILER_HOOK}: the pre-commit framework's hook is there; list sessionlog-prepare-commit-msg in "
                ".pre-commit-config.yaml for the session trailers (or `sessionlog init --force` for the light shim)"
            ]
        lines += more
        lines.append(f"sessionlog-check runs through the pre-commit framework: list it and run `{FRAMEWORK_INSTALL}`")
        installed = True
    else:
        more, installed = install(root, force=args.force)
        lines += more
    lines.append("appends are spooled in the git directory and sealed into the session files by each commit")
    print("\n".join(lines))
    return EXIT_OK if installed else EXIT_FINDINGS


def cmd_activate(args: argparse.Namespace) -> int:
    from ._ids import agent_error, session_id_error
    from ._repo_events import set_active

    if args.session is None:
        set_active(_root(), None, None)
        print("sessionlog: no active session on this branch")
        return EXIT_OK
    problem = session_id_error(args.session) or (agent_error(args.agent) if args.agent else None)
    if problem:
        raise UsageError(problem)
    set_active(_root(), args.session, args.agent)
    print(f"sessionlog: {args.session} is the active session on this branch")
    return EXIT_OK


def cmd_flush(args: argparse.Namespace) -> int:
    from ._repo_events import flush

    written, problems = flush(_root(), stage=not args.no_stage)
    for path in written:
        print(path)
    for problem in problems:
        print(f"sessionlog flush: left spooled: {problem}", file=sys.stderr)
    return EXIT_FINDINGS if problems else EXIT_OK


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-sessionlog")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessionlog", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", help="sessions folder (default: $SESSIONLOG_DIR or <repo>/.ai-agents/sessions)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="log a small realistic session into a temporary folder and query it")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("verify", help="check session files on their own: JSON, schema, hash chain")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--schema", help="an extra schema to apply on top of the built-in one")
    p.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default=default_format(),
        help="text (path:LINE: message), github (annotations) or json (one report per file)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no notes about legacy lines")
    p.add_argument(
        "--anchor",
        default="HEAD",
        metavar="REV",
        help="the commit whose version of each file must be a byte prefix of it (default HEAD; '' to skip)",
    )
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("append", help="append one event (for shell-only agents); prints its event id")
    p.add_argument("--session", required=True)
    p.add_argument("--type", required=True, help="event type, e.g. tool_call")
    p.add_argument("--agent", required=True)
    p.add_argument("--source", required=True)
    for name in OPTIONAL_BLOCKS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="JSON")
    p.set_defaults(func=cmd_append)

    p = sub.add_parser("query", help="print matching events as JSON lines")
    p.add_argument("session")
    p.add_argument("--type")
    p.add_argument("--agent")
    p.add_argument("--after", help="exclusive lower bound, e.g. 2025-12-10T12:00:00Z")
    p.add_argument("--before", help="exclusive upper bound")
    p.set_defaults(func=cmd_query)

    for name, func, text in (
        ("commitments", cmd_commitments, "open commitments of a session"),
        ("failures", cmd_failures, "failure history of a session"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("session")
        p.add_argument("-o", "--output", choices=("text", "json"), default="text")
        p.set_defaults(func=func)

    p = sub.add_parser("archive", help="archive sessions whose last event is older than N days")
    p.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    p.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
    p.add_argument("--delete", action="store_true", help="delete instead of archiving (not recoverable)")
    p.set_defaults(func=cmd_archive)

    p = sub.add_parser("restore", help="move an archived session back")
    p.add_argument("session")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("stats", help="storage statistics as JSON")
    p.set_defaults(func=cmd_stats)

    _add_git_commands(sub)

    p = sub.add_parser("session-id", help="print a new <agent>_<YYYYMMDD>_<HHMM> session id")
    p.add_argument("agent")
    p.set_defaults(func=cmd_session_id)
    return parser


def _add_git_commands(sub: Any) -> None:

    p = sub.add_parser("ci", help="check session logs over a commit range (merges against each parent)")
    p.add_argument("--base", help="old tip (a push's before-SHA, a PR's base); omit or all zeros for the whole history")
    p.add_argument("--head", default="HEAD")
    p.add_argument("--each-commit", action="store_true", help="check every commit, naming the one at fault")
    p.add_argument(
        "-o",
        "--output",
        "--format",  # its name before 0.2, kept for pipelines that pass it
        dest="output",
        choices=FORMATS,
        default=default_format(),
        help="text (path:LINE: message), github (annotations; the default under GitHub Actions) or json",
    )
    p.set_defaults(func=cmd_ci)

    p = sub.add_parser("handoff", help="log a handoff carrying open commitments and recent failures forward")
    p.add_argument("--from", dest="from_agent", required=True)
    p.add_argument("--to", dest="to_agent", required=True)
    p.add_argument("--summary")
    p.add_argument("--session", help="session to log into (default: the active one, else the branch's repository log)")
    p.add_argument("--from-session", help="session whose commitments and failures are carried (default: --session)")
    p.set_defaults(func=cmd_handoff)

    p = sub.add_parser("commits", help="commits made in a session (their Sessionlog-Session trailer), newest first")
    p.add_argument("session")
    p.add_argument("--rev", default="HEAD")
    p.set_defaults(func=cmd_commits)

    p = sub.add_parser("install-hooks", help="install plain git hook shims (without the pre-commit framework)")
    p.add_argument("--force", action="store_true", help="move other tools' hooks aside")
    p.set_defaults(func=cmd_install_hooks)

    p = sub.add_parser(
        "revert", help="revert a commit's code but keep every session log line (git revert refuses nothing)"
    )
    p.add_argument("commit")
    p.add_argument("--no-commit", action="store_true", help="stop before committing the revert")
    p.set_defaults(func=cmd_revert)

    p = sub.add_parser(
        "migrate", help="upgrade a repository schema written for the original implementation (idempotent)"
    )
    p.add_argument("--dir", help="the sessions folder (default: <git top-level>/.ai-agents/sessions)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("init", help="set a repository up: .gitattributes, spooled appends, hooks (idempotent)")
    p.add_argument("--shims", action="store_true", help="install plain git hook shims even beside a pre-commit config")
    p.add_argument("--force", action="store_true", help="move other tools' hooks aside")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "activate", help="name the active session of this branch (commit trailers, handoffs); no argument clears it"
    )
    p.add_argument("session", nargs="?")
    p.add_argument("--agent")
    p.set_defaults(func=cmd_activate)

    p = sub.add_parser(
        "flush", help="log new commits and seal spooled session lines into their files (the commit hook does this)"
    )
    p.add_argument("--no-stage", action="store_true", help="write the session files but do not git add them")
    p.set_defaults(func=cmd_flush)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()

    def body() -> int:
        args = parser.parse_args(argv)
        return int(args.func(args))

    return run_command("sessionlog", body)


if __name__ == "__main__":
    raise SystemExit(main())
