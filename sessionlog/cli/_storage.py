"""Commands for the sessions folder: archive, restore, storage figures, schema migration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sessionlog.cli._common import dir_of, out_json
from sessionlog.core.manage import LogManager
from sessionlog.core.paths import default_sessions_dir, repo_schema_for
from sessionlog.errors import EXIT_FINDINGS, EXIT_OK, UsageError


def archive(args: argparse.Namespace) -> int:
    if (args.older_than is None) == (not args.sessions):
        raise UsageError("name the SESSIONs to archive, or give --older-than DAYS (not both)")
    if args.older_than is not None and args.older_than < 0:
        raise UsageError(f"--older-than must be 0 or more days, not {args.older_than:g}")
    manager = LogManager(dir_of(args))
    if args.sessions:
        if args.delete or args.dry_run:
            raise UsageError("--delete and --dry-run go with --older-than")
        failed = 0
        for session in args.sessions:
            ok, error = manager.try_archive_session(session)
            print(f"{session}: archived" if ok else f"{session}: skipped: {error}")
            failed += not ok
        return EXIT_FINDINGS if failed else EXIT_OK
    items = manager.plan_cleanup(args.older_than, archive_first=not args.delete, dry_run=args.dry_run)
    for item in items:
        print(f"{item.session_id}: {item.action} (last event {item.last_event})")
    if not items:
        print(f"nothing to archive: no session's last event is older than {args.older_than:g} day(s)")
    return EXIT_FINDINGS if any(i.action.startswith("skipped") for i in items) else EXIT_OK


def restore(args: argparse.Namespace) -> int:
    ok, error = LogManager(dir_of(args)).try_restore_session(args.session)
    if not ok:
        print(f"sessionlog restore: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{args.session}: restored")
    return EXIT_OK


def stats(args: argparse.Namespace) -> int:
    out_json(LogManager(dir_of(args)).get_storage_stats())
    return EXIT_OK


def migrate(args: argparse.Namespace) -> int:
    from sessionlog.core.schema import migrate_schema_file

    sessions = Path(args.dir) if args.dir else default_sessions_dir()
    schema = repo_schema_for(sessions)
    if not schema.is_file():
        print(f"sessionlog migrate: no repository schema at {schema}; nothing to migrate")
        return EXIT_OK
    changes = migrate_schema_file(schema)
    print("\n".join(changes) if changes else f"sessionlog migrate: {schema} needs nothing")
    return EXIT_OK
