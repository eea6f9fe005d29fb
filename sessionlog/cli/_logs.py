"""Commands that read and write session logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from .._ids import make_session_id
from .._logger import OPTIONAL_BLOCKS
from .._paths import repo_redactor, repo_schema_for
from .._report import render
from .._schema import SchemaSet, load_schemas
from .._verify import anchor_problem, verify_file
from ..errors import EXIT_FINDINGS, EXIT_OK
from ._common import dir_of, json_arg, logger_of, out_json


def demo(args: argparse.Namespace) -> int:
    from .._demo import run_demo

    return run_demo(dir_of(args))


def verify(args: argparse.Namespace) -> int:
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
        out_json(
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


def append(args: argparse.Namespace) -> int:
    blocks = {name: json_arg(name, getattr(args, name)) for name in OPTIONAL_BLOCKS if getattr(args, name) is not None}
    with logger_of(args) as logger:
        result = logger.append_event(args.session, args.type, args.agent, args.source, **blocks)
    if not result.ok:
        print(f"sessionlog append: {result.error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(result.event_id)
    return EXIT_OK


def query(args: argparse.Namespace) -> int:
    logger = logger_of(args)
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


def commitments(args: argparse.Namespace) -> int:
    open_ = logger_of(args).get_open_commitments(args.session)
    if args.output == "json":
        out_json(open_)
    for c in open_ if args.output == "text" else ():
        print(f"- [{c['status']}] {c['commitment']}  (line {c['event']['line']})")
    return EXIT_OK


def failures(args: argparse.Namespace) -> int:
    failures = logger_of(args).get_failure_history(args.session)
    if args.output == "json":
        out_json(failures)
    for f in failures if args.output == "text" else ():
        print(f"- {f['attempt']}: {f['failure_reason']}  (line {f['event']['line']})")
    return EXIT_OK


def session_id(args: argparse.Namespace) -> int:
    print(make_session_id(args.agent))
    return EXIT_OK
