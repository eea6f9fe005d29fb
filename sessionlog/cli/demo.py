"""``sessionlog demo``: log a small, realistic session and show what the queries return."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from sessionlog.core.logger import SessionLogger
from sessionlog.core.manage import LogManager


def run_demo(base_dir: Path | None = None, *, echo: Callable[[str], None] = print) -> int:
    if base_dir is None:
        base_dir = Path(tempfile.mkdtemp(prefix="sessionlog-demo-")) / ".ai-agents" / "sessions"
    session = "claude_20251210_1400"
    with SessionLogger(base_dir) as logger:
        asked = logger.append_event(
            session,
            "user_message",
            "user",
            "terminal",
            data={"message": "The deploy script fails in production; fix it and deploy."},
        )
        read = logger.append_event(
            session,
            "tool_call",
            "claude_code",
            "Read",
            data={"tool": "Read", "file": "scripts/deploy.sh"},
            dependencies={"depends_on": [asked.event_id or ""]},
        )
        promised = logger.append_event(
            session,
            "commitment",
            "claude_code",
            "task_analysis",
            data={"promise": "fix and deploy"},
            open_commitments=[
                {"id": "fix-deploy", "commitment": "Fix scripts/deploy.sh", "status": "in_progress"},
                {
                    "id": "deploy",
                    "commitment": "Deploy to production",
                    "status": "pending",
                    "dependencies": ["fix-deploy"],
                },
            ],
            dependencies={"depends_on": [asked.event_id or ""]},
        )
        failed = logger.append_event(
            session,
            "error",
            "claude_code",
            "render_api",
            data={
                "tool": "Bash",
                "command": "./scripts/deploy.sh render",
                "exit_code": 1,
                "stderr": "403 Forbidden (token=ghp_0123456789abcdefghijABCDEFGHIJ012345)",
            },
            failure_ledger=[
                {
                    "attempt": "Deploy via ./scripts/deploy.sh render",
                    "failure_reason": "403 from the Render API",
                    "error_code": "403",
                }
            ],
            dependencies={"depends_on": [read.event_id or ""]},
        )
        decided = logger.append_event(
            session,
            "decision",
            "claude_code",
            "task_analysis",
            data={"decision": "Rotate the deploy token and retry", "rationale": "403 means the token expired"},
            causal_steps=[
                {
                    "step": "Read the 403 response",
                    "reasoning": "Render rejects expired tokens with 403",
                    "alternatives_considered": ["retry as is", "push directly", "rotate the token"],
                },
                {"step": "Chose to rotate the token", "reasoning": "Retrying cannot succeed with an expired token"},
            ],
            active_constraints=[
                {"constraint": "Deploy only through scripts/deploy.sh", "source": "CLAUDE.md", "priority": "mandatory"}
            ],
            dependencies={"depends_on": [failed.event_id or ""]},
        )
        logger.append_event(
            session,
            "state_change",
            "claude_code",
            "Edit",
            data={"file": "scripts/deploy.sh", "change": "exit on HTTP errors instead of continuing"},
            open_commitments=[{"id": "fix-deploy", "commitment": "Fix scripts/deploy.sh", "status": "completed"}],
            dependencies={"depends_on": [decided.event_id or "", promised.event_id or ""]},
        )

        echo(f"Logged a session to {logger.session_path(session)}\n")
        events = logger.read_session(session)
        echo(f"read_session: {len(events)} events")
        for event in events:
            echo(f"  {event['seq']:>2} {event['timestamp']} {event['event_type']:<13} {event['provenance']['agent']}")
        echo(f"\nquery_events(event_type='error'): {len(logger.query_events(session, event_type='error'))} event(s)")
        echo(f"query_events(agent='user'): {len(logger.query_events(session, agent='user'))} event(s)")
        echo("\ncommitment fix-deploy, as logged:")
        for event in events:
            for c in event.get("open_commitments", []):
                if c.get("id") == "fix-deploy":
                    echo(f"  line {event['seq']}: {c['status']}")
        echo("get_open_commitments (the latest status of each; completed ones are closed):")
        for c in logger.get_open_commitments(session):
            echo(f"  - {c['commitment']}: {c['status']}")
        echo("\nget_failure_history:")
        for f in logger.get_failure_history(session):
            echo(f"  - {f['attempt']}: {f['failure_reason']} (line {f['event']['line']})")
        echo(f"\nredacted in the error event: {events[3].get('redactions')}")
        echo(f"stderr as written: {events[3]['data']['stderr']}")
        last = events[-1]["event_id"]
        chain = [e["event_type"] for e in logger.get_ancestors(session, last)]
        echo(f"\nget_ancestors(last event): {' <- '.join(chain)}")
        report = logger.verify_session(session)
        echo(f"verify_session: {'ok' if report.ok else 'BROKEN'} ({report.events} events, hash chain intact)")
    stats = LogManager(base_dir).get_storage_stats()
    echo(
        f"get_storage_stats: {stats['active_sessions']} session(s), {stats['active_events']} events, "
        f"{stats['active_size_bytes']} bytes"
    )
    return 0 if report.ok else 1
