"""Commands that read and write session logs."""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from sessionlog.cli._common import dir_of, for_people, json_arg, logger_of, out_json, print_table
from sessionlog.commits.check import MAX_SESSION_BYTES
from sessionlog.core.archive import read_archive
from sessionlog.core.ids import make_session_id
from sessionlog.core.logger import SessionLogger
from sessionlog.core.paths import ARCHIVE_DIR, ARCHIVE_SUFFIX, SUFFIX, repo_schema_for
from sessionlog.core.queries import by_time, failure_history, instant_of, open_commitments
from sessionlog.core.redact import Redactor, repo_redactor
from sessionlog.core.report import render, visible
from sessionlog.core.schema import OPTIONAL_BLOCKS, SchemaSet, load_schemas
from sessionlog.core.segments import segments, session_ids
from sessionlog.core.types import Event
from sessionlog.core.verify import Finding, VerifyReport, anchor_problem, verify_file, verify_segments
from sessionlog.errors import EXIT_FINDINGS, EXIT_OK, NotFound, UsageError
from sessionlog.export.brief import summary_of
from sessionlog.git import exe as _git

_T = TypeVar("_T")


def demo(args: argparse.Namespace) -> int:
    from sessionlog.cli.demo import run_demo

    return run_demo(dir_of(args))


def verify(args: argparse.Namespace) -> int:
    loaded: dict[Path, SchemaSet] = {}

    def schemas_for(path: Path) -> SchemaSet:
        # --schema, else the repository schema beside the sessions folder the file lives in;
        # each schema file is loaded and compiled once, however many logs share it
        schema = Path(args.schema) if args.schema else repo_schema_for(_sessions_folder(path))
        if schema not in loaded:
            loaded[schema] = load_schemas(schema)
        return loaded[schema]

    anchor = _anchor_of(args.anchor, [Path(p) for p in args.paths])
    reports = []
    targets = _verify_targets([Path(p) for p in args.paths])
    for path, session in _with_progress(targets, "verifying"):
        folder = _sessions_folder(path)
        if path.name.endswith(ARCHIVE_SUFFIX):
            reports.append(_verify_archive(path, schemas_for(path), repo_redactor(folder)))
            continue
        report = _verify_one(path, session, schemas_for(path), repo_redactor(folder), anchor)
        reports.append(report)
    if args.output == "json":
        files = [{"path": r.path, "ok": r.ok, "events": r.events, "unchained": r.unchained} for r in reports]
        render([f for r in reports for f in r.findings], "json", files=files)
    else:
        findings = [f for r in reports for f in r.findings]
        if args.output == "text" and for_people():
            _print_findings_in_colour(findings)
        else:
            render(findings, args.output)
        for report in reports:
            for note in report.notes if not args.quiet else []:
                print(f"{note.path}:{note.line}: note: {note.message}")
            if report.unchained and not args.quiet:
                print(
                    f"{report.path}: note: {report.unchained} legacy line(s) without chain fields "
                    "(written before sessionlog; valid, but not hash-chained)"
                )
    bad = sum(not r.ok for r in reports)
    if not args.quiet and args.output == "text":
        events = sum(r.events for r in reports)
        verdict = f"{bad} with problems" if bad else "no problems"
        print(f"sessionlog verify: {len(reports)} file(s), {events} event(s): {verdict}", file=sys.stderr)
    return EXIT_FINDINGS if bad else EXIT_OK


def _verify_one(
    path: Path, session: str | None, schemas: SchemaSet, redactor: Redactor, anchor: str | None
) -> VerifyReport:
    """One file on its own, or (*session* given) the session's segments as one chain; with
    *anchor*, each file against the version git holds there."""
    if session is not None:
        found = segments(path.parent, session)
        report = verify_segments(found, schemas, redactor=redactor)
        files = [p for _, p in found]
    else:
        report = verify_file(path, schemas, redactor=redactor)
        files = [path]
    if anchor:
        report.findings.extend(p for p in (anchor_problem(f, anchor) for f in files if f.is_file()) if p is not None)
    return report


def _with_progress(paths: list[_T], what: str) -> Iterable[_T]:
    """*paths*, with a progress bar on a terminal when there are many of them."""
    if len(paths) < 10 or not for_people():
        return paths
    from rich.console import Console
    from rich.progress import track

    return track(paths, description=what, console=Console(stderr=True), transient=True)


def _print_findings_in_colour(findings: list[Finding]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for f in findings:
        where = f"{f.path}:{f.line}" if f.line else f.path
        console.print(f"[bold cyan]{escape(where)}[/]: [red]{escape(f.message)}[/]", highlight=False, soft_wrap=True)


def _verify_targets(paths: list[Path]) -> list[tuple[Path, str | None]]:
    """What to verify: each file named on its own, and for each folder named every session in it
    (its first segment present, with the session's id: all its segments as one chain) and every
    archive."""
    targets: list[tuple[Path, str | None]] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            found: list[tuple[Path, str | None]] = [
                (segments(path, session)[0][1], session) for session in sorted(session_ids(path))
            ]
            found += [(archive, None) for archive in sorted((path / ARCHIVE_DIR).glob(f"*{ARCHIVE_SUFFIX}"))]
            if not found:
                raise NotFound(f"{path}: no session logs ({SUFFIX}) or archives in it")
            targets += found
        else:
            targets.append((path, None))
    return targets


def _anchor_of(rev: str | None, paths: list[Path]) -> str | None:
    """The revision to compare files with: the one named, which must exist in the repository the
    paths are in (anything else is a usage error, never a check quietly skipped), else HEAD when
    there is one; '' skips the comparison."""
    if rev == "":
        return None
    where = next((p if p.is_dir() else p.parent for p in paths if p.exists()), Path.cwd())
    top = _git.toplevel(where)
    if rev is None:
        return "HEAD" if top is not None and _git.rev_parse("HEAD", cwd=top) else None
    if top is None:
        raise UsageError(f"--anchor {rev}: {where} is not in a git work tree")
    if _git.rev_parse(rev, cwd=top) is None:
        raise UsageError(f"--anchor {rev}: no such revision in {top}")
    return rev


def _sessions_folder(path: Path) -> Path:
    """The sessions folder a log or an archive lives in."""
    return path.parent.parent if path.parent.name == ARCHIVE_DIR else path.parent


def _verify_archive(path: Path, schemas: SchemaSet, redactor: Redactor) -> VerifyReport:
    """An archive's decompressed lines, checked as the log they were (its name is the log's plus .gz)."""
    try:
        content = read_archive(path, MAX_SESSION_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        return VerifyReport(str(path), [Finding(str(path), 0, f"not a readable gzip file: {exc}")], 0, 0)
    if content is None:
        return VerifyReport(str(path), [Finding(str(path), 0, "larger than 256 MiB once decompressed")], 0, 0)
    lines = enumerate(io.BytesIO(content), start=1)
    return verify_file(
        path.with_name(path.name.removesuffix(".gz")), schemas, redactor=redactor, lines=lines, label=str(path)
    )


def append(args: argparse.Namespace) -> int:
    blocks = {name: json_arg(name, getattr(args, name)) for name in OPTIONAL_BLOCKS if getattr(args, name) is not None}
    with logger_of(args) as logger:
        result = logger.append_event(args.session, args.type, args.agent, args.source, **blocks)
    if not result.ok:
        print(f"sessionlog append: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(result.event_id)
    return EXIT_OK


def _known(logger: SessionLogger, session: str) -> None:
    """Silence is not an answer: a session that does not exist is said to be missing."""
    if session not in logger.list_sessions():
        raise NotFound(f"no session {session!r} in {logger.base_dir}")


def query(args: argparse.Namespace) -> int:
    logger = logger_of(args)
    if args.all == (args.session is not None):
        raise UsageError("name a SESSION or give --all, not both")
    sessions = logger.list_sessions() if args.all else [args.session]
    errors = 0
    for session in sessions:
        events = logger.query_events(
            session,
            event_type=args.type,
            agent=args.agent,
            after_timestamp=args.after,
            before_timestamp=args.before,
        )
        if not args.all and not events and not events.errors:
            _known(logger, session)  # the bounds were checked first: a usage error comes before this
        for event in events:
            sys.stdout.write(orjson.dumps(event).decode() + "\n")
        for error in events.errors:
            print(f"{logger.session_path(session)}:{error.line}: {error.message}", file=sys.stderr)
        errors += len(events.errors)
    return EXIT_FINDINGS if errors else EXIT_OK


def commitments(args: argparse.Namespace) -> int:
    def line(c: dict[str, Any]) -> str:
        due = f", due {c['due_by']}" if c.get("due_by") else ""
        return visible(f"- [{c['status']}] {c['commitment']}  (line {c['event']['line']}{due})")

    return _listing(args, logger_of(args).get_open_commitments, line, "no open commitments")


def failures(args: argparse.Namespace) -> int:
    def line(f: dict[str, Any]) -> str:
        return visible(f"- {f['attempt']}: {f['failure_reason']}  (line {f['event']['line']})")

    return _listing(args, logger_of(args).get_failure_history, line, "no failures")


def _listing(
    args: argparse.Namespace,
    items_of: Callable[[str], list[dict[str, Any]]],
    line: Callable[[dict[str, Any]], str],
    empty: str,
) -> int:
    """A session's items as JSON, or one line each for people (and a line saying there are none)."""
    _known(logger_of(args), args.session)
    items = items_of(args.session)
    if args.output == "json":
        out_json(items)
        return EXIT_OK
    for item in items:
        print(line(item))
    if not items:
        print(f"{args.session}: {empty}")
    return EXIT_OK


def sessions(args: argparse.Namespace) -> int:
    """Every live session with its agents, size in events, activity, open commitments and failures."""
    logger = logger_of(args)
    rows: list[dict[str, Any]] = []
    for session in logger.list_sessions():
        numbered = list(logger.iter_query_events(session))  # read once for every column
        events = [e for _, e in numbered]
        instants = sorted((instant_of(e) or "", str(e["timestamp"])) for e in events if instant_of(e))
        stamps = [stamp for _, stamp in instants]
        agents = sorted(
            {str(e.get("provenance", {}).get("agent")) for e in events if isinstance(e.get("provenance"), dict)}
        )
        rows.append(
            {
                "session_id": session,
                "agents": agents,
                "events": len(events),
                "first": stamps[0] if stamps else None,
                "last": stamps[-1] if stamps else None,
                "open_commitments": len(open_commitments(numbered)),
                "failures": len(failure_history(numbered)),
            }
        )
    if args.output == "json":
        out_json(rows)
        return EXIT_OK
    if not rows:
        print(f"no sessions in {logger.base_dir}")
        return EXIT_OK
    table = [("SESSION", "AGENTS", "EVENTS", "FIRST", "LAST", "OPEN", "FAILURES")]
    table += [
        (
            r["session_id"],
            ",".join(r["agents"]),
            str(r["events"]),
            (r["first"] or "-")[:19],
            (r["last"] or "-")[:19],
            str(r["open_commitments"]),
            str(r["failures"]),
        )
        for r in rows
    ]
    print_table(table)
    return EXIT_OK


def why(args: argparse.Namespace) -> int:
    """The causes of an event (its ``dependencies.depends_on``, followed back) as a tree."""
    logger = logger_of(args)
    candidates = [args.session] if args.session else logger.list_sessions()
    if args.session:
        _known(logger, args.session)
    for session in candidates:
        by_id = {e.get("event_id"): e for e in logger.read_session(session) if isinstance(e.get("event_id"), str)}
        if args.event_id in by_id:
            for line in cause_tree(by_id, args.event_id):
                print(visible(line))
            return EXIT_OK
    where = f"session {args.session!r}" if args.session else f"any session in {logger.base_dir}"
    raise NotFound(f"no event {args.event_id!r} in {where}")


def cause_tree(by_id: dict[object, Event], event_id: str) -> list[str]:
    """Lines of the tree under *event_id*: each event, then what it depends on, indented."""
    lines: list[str] = []
    seen: set[str] = set()

    def visit(current: str, prefix: str, last: bool, top: bool) -> None:
        event = by_id.get(current)
        branch = "" if top else ("└─ " if last else "├─ ")
        if event is None:
            lines.append(f"{prefix}{branch}{current}  (not in this session)")
            return
        again = current in seen
        lines.append(f"{prefix}{branch}{describe(event)}" + ("  (shown above)" if again else ""))
        if again:
            return
        seen.add(current)
        deps = event.get("dependencies")
        parents = deps.get("depends_on", []) if isinstance(deps, dict) else []
        parents = [p for p in parents if isinstance(p, str)]
        child_prefix = prefix if top else prefix + ("   " if last else "│  ")
        for index, parent in enumerate(parents):
            visit(parent, child_prefix, index == len(parents) - 1, False)

    visit(event_id, "", True, True)
    return lines


def describe(event: Event) -> str:
    """``evt_…  decision  claude_code  what it was about`` on one line."""
    return f"{event.get('event_id')}  {_what(event)}"


def _what(event: Event) -> str:
    """``decision  claude_code  what it was about``."""
    provenance: dict[str, Any] = event["provenance"] if isinstance(event.get("provenance"), dict) else {}
    gist = summary_of(event)
    gist = gist if len(gist) <= 70 else gist[:69] + "…"
    return f"{event.get('event_type')}  {provenance.get('agent', '?')}  {gist}".rstrip()


def tail(args: argparse.Namespace) -> int:
    """The last events of a session as JSON lines; with ``-f``, then each new one as it is logged."""
    logger = logger_of(args)
    _known(logger, args.session)
    events = logger.read_session(args.session)
    for event in events[-args.lines :] if args.lines else []:
        sys.stdout.write(orjson.dumps(event).decode() + "\n")
    sys.stdout.flush()
    if not args.follow:
        return EXIT_OK
    shown = len(events)
    try:
        while True:
            time.sleep(args.interval)
            events = logger.read_session(args.session)
            for event in events[shown:]:
                sys.stdout.write(orjson.dumps(event).decode() + "\n")
            if len(events) > shown:
                sys.stdout.flush()
            shown = max(shown, len(events))
    except KeyboardInterrupt:
        return EXIT_OK


def session_id(args: argparse.Namespace) -> int:
    print(make_session_id(args.agent))
    return EXIT_OK


def import_transcripts(args: argparse.Namespace) -> int:
    """Import Claude Code, Codex or Gemini CLI transcripts; print what was written and what was not."""
    from sessionlog.agents.claude_code import ClaudeCodeImporter
    from sessionlog.agents.codex import CodexImporter
    from sessionlog.agents.gemini_cli import GeminiCliImporter

    kind = {"claude-code": ClaudeCodeImporter, "codex": CodexImporter, "gemini-cli": GeminiCliImporter}[args.agent]
    with logger_of(args) as logger:
        importer = kind(logger, session=args.session)
        for path in _with_progress([Path(p) for p in args.files], "importing"):
            if not path.is_file():
                raise NotFound(f"{path}: no such transcript")
            importer.import_file(path)
    report = importer.report
    for line in report.lines():
        print(line)
    if report.sessions:
        print(f"session(s): {', '.join(sorted(report.sessions))}")
    return EXIT_FINDINGS if report.problems else EXIT_OK


def show(args: argparse.Namespace) -> int:
    """A session as a readable timeline: time, type, agent, what it was about; failures and
    open commitments marked."""
    logger = logger_of(args)
    _known(logger, args.session)
    numbered = list(logger.iter_query_events(args.session))  # read once
    events = by_time(e for _, e in numbered)  # the order things happened, not the order of the lines
    open_ids = {c.get("id") or c.get("commitment") for c in open_commitments(numbered)}
    for event in events:
        stamp = str(event.get("timestamp", ""))[:19].replace("T", " ")
        marks = ""
        if event.get("event_type") == "error" or event.get("failure_ledger"):
            marks += "  ✗ failure"
        pending = [c for c in event.get("open_commitments", []) if (c.get("id") or c.get("commitment")) in open_ids]
        if pending:
            marks += f"  ◻ {len(pending)} open commitment(s)"
        print(visible(f"{stamp}  {_what(event)}{marks}"))
    if not events:
        print(f"{args.session}: no events")
    return EXIT_OK


def hook(args: argparse.Namespace) -> int:
    """An agent's hook: its payload on stdin becomes events; nothing on stdout, always exit 0."""
    from sessionlog.agents import client

    return client.main(args.agent.replace("-", "_"))


def mcp(args: argparse.Namespace) -> int:
    """Serve the log over MCP (stdio) for an agent."""
    try:
        from sessionlog.mcp_server import main as serve
    except ImportError as exc:
        raise UsageError(f"the MCP server needs the mcp extra: pip install 'agent-sessionlog[mcp]' ({exc})") from exc
    if args.dir:
        os.environ["SESSIONLOG_DIR"] = args.dir
    return serve(args.agent)


def export(args: argparse.Namespace) -> int:
    """The handoff brief of a session: Markdown for people and agents, or the same content as JSON."""
    from sessionlog.export.brief import build_brief, render_markdown

    logger = logger_of(args)
    _known(logger, args.session)
    brief = build_brief(logger, args.session, last_actions=args.last)
    if args.output == "json":
        out_json(brief)
    else:
        sys.stdout.write(visible(render_markdown(brief)))
    return EXIT_OK


def export_otel(args: argparse.Namespace) -> int:
    """Send sessions to an OTLP/HTTP collector, one trace per ended turn; by default only the turns
    not sent to this endpoint before (remembered in the git directory)."""
    try:
        from sessionlog.export import otel
    except ImportError as exc:
        raise UsageError(
            f"the OpenTelemetry export needs the otel extra: pip install 'agent-sessionlog[otel]' ({exc})"
        ) from exc
    from sessionlog.core.queries import parse_instant

    if args.since:
        parse_instant(args.since, what="--since")  # a usage error, before anything is read or sent
    logger = logger_of(args)
    sessions = args.sessions or logger.list_sessions()
    for session in sessions:
        _known(logger, session)
    endpoint = otel.endpoint_from_env(args.endpoint)
    ledger = otel.Ledger(logger, endpoint)
    todo = otel.plan(
        logger,
        sessions,
        content=args.content,
        sent=frozenset() if args.all else ledger.sent(),
        since=args.since,
        idle=args.idle * 60,
    )
    notes = []
    if todo.held_back:
        notes.append(f"{todo.held_back} turn(s) not ended yet, held back until they end or go quiet (--idle)")
    if todo.sent_before:
        notes.append(f"{todo.sent_before} turn(s) sent to this endpoint before, not sent again (--all sends them)")
    if not todo.traces:
        print("sessionlog export-otel: nothing new to send" + "".join(f"; {n}" for n in notes))
        return EXIT_OK
    try:
        spans = otel.send(otel.request_for(todo.spans), endpoint)
    except OSError as exc:
        print(f"sessionlog export-otel: {endpoint}: {exc}; nothing recorded as sent", file=sys.stderr)
        return EXIT_FINDINGS
    ledger.record(todo.traces)
    print(f"sessionlog export-otel: {spans} span(s) of {len(todo.traces)} turn(s) sent to {endpoint}")
    for note in notes:
        print(f"  {note}")
    return EXIT_OK
