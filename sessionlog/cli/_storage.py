"""Commands for the sessions folder: archive, restore, storage figures, schema migration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._manage import LogManager
from .._paths import default_sessions_dir, repo_schema_for
from ..errors import EXIT_FINDINGS, EXIT_OK
from ._common import dir_of, out_json


def archive(args: argparse.Namespace) -> int:
    manager = LogManager(dir_of(args))
    items = manager.plan_cleanup(args.older_than, archive_first=not args.delete, dry_run=args.dry_run)
    for item in items:
        print(f"{item.session_id}: {item.action} (last event {item.last_event})")
    return EXIT_FINDINGS if any(i.action.startswith("skipped") for i in items) else EXIT_OK


def restore(args: argparse.Namespace) -> int:
    ok, error = LogManager(dir_of(args)).try_restore_session(args.session)
    if not ok:
        print(f"sessionlog restore: {error}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_FINDINGS


def stats(args: argparse.Namespace) -> int:
    out_json(LogManager(dir_of(args)).get_storage_stats())
    return EXIT_OK


def migrate(args: argparse.Namespace) -> int:
    from .._schema import migrate_schema_file

    sessions = Path(args.dir) if args.dir else default_sessions_dir()
    schema = repo_schema_for(sessions)
    if not schema.is_file():
        print(f"sessionlog migrate: no repository schema at {schema}; nothing to migrate")
        return EXIT_OK
    changes = migrate_schema_file(schema)
    print("\n".join(changes) if changes else f"sessionlog migrate: {schema} needs nothing")
    return EXIT_OK
