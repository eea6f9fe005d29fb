"""The ``sessionlog`` parser: every command, option and help text in one place."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def _output(p: argparse.ArgumentParser, choices: Sequence[str], default: str, help: str) -> None:
    """The one output flag: ``-o``/``--output`` (``--format``, its older name, too)."""
    p.add_argument("-o", "--output", "--format", dest="output", choices=choices, default=default, help=help)


class _Once(argparse.Action):
    """An option that may be given once: a second value is an error, never silently the winner."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice; put everything in one JSON value")
        setattr(namespace, self.dest, values)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-sessionlog")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    from sessionlog.cli import _logs
    from sessionlog.core.report import FORMATS, default_format
    from sessionlog.core.schema import OPTIONAL_BLOCKS

    parser = argparse.ArgumentParser(
        prog="sessionlog",
        description="Append-only, schema-validated, hash-chained logs of AI-agent sessions in the repository, "
        "kept honest by git hooks and CI.",
        epilog="Exit codes: 0 clean, 1 findings or a refused action, 2 usage error, 3 git failed or a bug.",
    )
    parser.add_argument("--dir", help="sessions folder (default: $SESSIONLOG_DIR or <repo>/.ai-agents/sessions)")
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="log a small realistic session into a temporary folder and query it")
    p.set_defaults(func=_logs.demo)

    p = sub.add_parser("verify", help="check session files on their own: JSON, schema, hash chain")
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="session logs (.jsonl), archives (.jsonl.gz) or sessions folders"
    )
    p.add_argument("--schema", help="an extra schema to apply on top of the built-in one")
    _output(
        p,
        FORMATS,
        default_format(),
        "text (path:LINE: message), github (annotations) or json (the findings, and each file checked)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no legacy notes and no verdict line, for scripts")
    p.add_argument(
        "--anchor",
        metavar="REV",
        help="the commit whose version of each file must be a byte prefix of it (default HEAD when there is one; "
        "'' to skip; a revision that does not exist is a usage error)",
    )
    p.set_defaults(func=_logs.verify)

    p = sub.add_parser("append", help="append one event (for shell-only agents); prints its event id")
    p.add_argument("--session", required=True, help="the session to append to (its file name)")
    p.add_argument("--type", required=True, help="event type, e.g. tool_call")
    p.add_argument("--agent", required=True, help="who acted: claude_code, codex, user...")
    p.add_argument("--source", required=True, help="where it came from: a tool, a file, terminal...")
    for name in OPTIONAL_BLOCKS:
        p.add_argument(
            f"--{name.replace('_', '-')}", dest=name, metavar="JSON", action=_Once, help=f"the {name} block, as JSON"
        )
    p.set_defaults(func=_logs.append)

    p = sub.add_parser("query", help="print matching events as JSON lines")
    p.add_argument("session", nargs="?", help="the session to query (or --all)")
    p.add_argument("--all", action="store_true", help="query every live session")
    p.add_argument("--type", help="only events of this event_type")
    p.add_argument("--agent", help="only events by this agent")
    p.add_argument("--after", help="exclusive lower bound, e.g. 2025-12-10T12:00:00Z")
    p.add_argument("--before", help="exclusive upper bound")
    p.set_defaults(func=_logs.query)

    for name, func, text in (
        ("commitments", _logs.commitments, "open commitments of a session"),
        ("failures", _logs.failures, "failure history of a session"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("session", help="the session")
        _output(p, ("text", "json"), "text", "a list for people, or JSON")
        p.set_defaults(func=func)

    _add_reading_commands(sub)
    _add_storage_commands(sub)
    _add_git_commands(sub)
    _add_explaining_commands(sub)

    p = sub.add_parser("session-id", help="print a new <agent>_<YYYYMMDD>_<HHMM> session id")
    p.add_argument("agent", help="the agent the id is for")
    p.set_defaults(func=_logs.session_id)
    return parser


def _add_reading_commands(sub: Any) -> None:
    from sessionlog.cli import _logs

    p = sub.add_parser("sessions", help="every live session: agents, events, activity, open commitments, failures")
    _output(p, ("text", "json"), "text", "a table for people, or JSON")
    p.set_defaults(func=_logs.sessions)

    p = sub.add_parser("why", help="the causes of an event (dependencies.depends_on, followed back) as a tree")
    p.add_argument("event_id", help="the event whose causes to show")
    p.add_argument("--session", help="the event's session (default: look in every live session)")
    p.set_defaults(func=_logs.why)

    p = sub.add_parser("show", help="a session as a readable timeline, failures and open commitments marked")
    p.add_argument("session", help="the session to show")
    p.set_defaults(func=_logs.show)

    p = sub.add_parser("import", help="log the events of Claude Code, Codex or Gemini CLI transcripts (each once)")
    p.add_argument("agent", choices=("claude-code", "codex", "gemini-cli"), help="whose transcripts")
    p.add_argument("files", nargs="+", metavar="FILE", help="transcript files (JSON lines)")
    p.add_argument("--session", help="log into this session (default: one per agent session)")
    p.set_defaults(func=_logs.import_transcripts)

    p = sub.add_parser("hook", help="run as an agent's hook: its JSON payload on stdin becomes events (always exit 0)")
    p.add_argument("agent", choices=("claude-code", "codex", "gemini-cli"), help="which agent calls it")
    p.set_defaults(func=_logs.hook)

    p = sub.add_parser("export", help="the handoff brief of a session: Markdown (default) or JSON")
    p.add_argument("session", help="the session to brief")
    _output(p, ("markdown", "json"), "markdown", "markdown for people and agents, or json with the same content")
    p.add_argument("--last", type=int, default=10, help="how many of the last actions to list (10)")
    p.set_defaults(func=_logs.export)

    p = sub.add_parser(
        "export-otel", help="send sessions to an OpenTelemetry collector, a trace per ended turn (OTLP/HTTP)"
    )
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="sessions to send (default: every live one)")
    p.add_argument(
        "--endpoint",
        help="OTLP/HTTP traces URL (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
        "$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, http://localhost:4318/v1/traces)",
    )
    p.add_argument("--content", action="store_true", help="include prompts, tool inputs and outputs (off by default)")
    p.add_argument("--all", action="store_true", help="send every ended turn again, not only those not sent yet")
    p.add_argument("--since", metavar="TS", help="only turns that started from this instant on (RFC 3339)")
    p.add_argument(
        "--idle",
        metavar="MINUTES",
        type=_minutes,
        default=60.0,
        help="a session quiet this long has ended its last turn, said or not (60; 0: only a turn end or "
        "the next prompt ends a turn)",
    )
    p.set_defaults(func=_logs.export_otel)

    p = sub.add_parser("mcp", help="serve the log over MCP (stdio) to an agent: tools and resources")
    p.add_argument("--agent", default="claude_code", help="the agent name its events carry (default claude_code)")
    p.set_defaults(func=_logs.mcp)

    p = sub.add_parser("tail", help="the last events of a session as JSON lines; -f follows new ones")
    p.add_argument("session", help="the session to print")
    p.add_argument("-n", "--lines", type=int, default=10, help="how many of the last events to print first (10)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing events as they are logged")
    p.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    p.set_defaults(func=_logs.tail)


def _add_storage_commands(sub: Any) -> None:
    from sessionlog.cli import _storage

    p = sub.add_parser("archive", help="archive chosen sessions, or those whose last event is older than N days")
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="sessions to archive now")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="archive every session idle this long")
    p.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
    p.add_argument("--delete", action="store_true", help="delete instead of archiving (not recoverable)")
    p.set_defaults(func=_storage.archive)

    p = sub.add_parser("restore", help="move an archived session back")
    p.add_argument("session", help="the archived session to bring back")
    p.set_defaults(func=_storage.restore)

    p = sub.add_parser("stats", help="storage statistics as JSON")
    p.set_defaults(func=_storage.stats)


def _add_explaining_commands(sub: Any) -> None:
    from sessionlog.cli import _repo

    p = sub.add_parser(
        "explain",
        help="where a commit, a file or a line came from: the sessions, prompts, decisions, failures and edits",
    )
    p.add_argument("target", metavar="COMMIT|FILE[:LINE]", help="a commit, or a file (its last commit), or a line")
    _output(p, ("text", "json"), "text", "text for people, json for tools")
    p.set_defaults(func=_repo.explain)

    p = sub.add_parser(
        "view", help="sessions as one self-contained HTML page: a timeline to look at, filter and search"
    )
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="the sessions to show")
    p.add_argument("--all", action="store_true", help="every live session, one row each with its commits")
    p.add_argument("-o", "--out", metavar="FILE.html", help="where to write the page (default: sessionlog-view.html)")
    p.set_defaults(func=_repo.view)


def _add_git_commands(sub: Any) -> None:
    from sessionlog.cli import _repo, _storage
    from sessionlog.core.report import FORMATS, default_format

    p = sub.add_parser(
        "ci", help="check session logs over a commit range: every commit against each parent (merges too)"
    )
    p.add_argument("--base", help="old tip (a push's before-SHA, a PR's base); omit or all zeros for the whole history")
    p.add_argument("--head", default="HEAD", help="new tip (default HEAD)")
    p.add_argument(
        "--each-commit", action="store_true", help="accepted for older pipelines: every commit is always checked"
    )
    _output(
        p,
        FORMATS,
        default_format(),
        "text (path:LINE: message), github (annotations; the default under GitHub Actions) or json",
    )
    p.set_defaults(func=_repo.ci)

    p = sub.add_parser("handoff", help="log a handoff carrying open commitments and recent failures forward")
    p.add_argument("--from", dest="from_agent", required=True, help="the agent handing over")
    p.add_argument("--to", dest="to_agent", required=True, help="the agent taking over")
    p.add_argument("--summary", help="what the next agent needs to know")
    p.add_argument("--session", help="session to log into (default: the active one, else the branch's repository log)")
    p.add_argument("--from-session", help="session whose commitments and failures are carried (default: --session)")
    p.set_defaults(func=_repo.handoff)

    p = sub.add_parser("commits", help="commits made in a session (their Sessionlog-Session trailer), newest first")
    p.add_argument("session", help="the session (its Sessionlog-Session trailer)")
    p.add_argument("--rev", default="HEAD", help="where to look from (default HEAD)")
    p.set_defaults(func=_repo.commits)

    p = sub.add_parser("install-hooks", help="install plain git hook shims (without the pre-commit framework)")
    p.add_argument("--force", action="store_true", help="move other tools' hooks aside")
    p.set_defaults(func=_repo.install_hooks)

    p = sub.add_parser(
        "revert", help="revert a commit's code but keep every session log line (git revert refuses nothing)"
    )
    p.add_argument("commit", help="the commit whose code to revert")
    p.add_argument("--no-commit", action="store_true", help="stop before committing the revert")
    p.set_defaults(func=_repo.revert)

    p = sub.add_parser(
        "migrate", help="upgrade a repository schema written for the original implementation (idempotent)"
    )
    p.add_argument("--dir", help="the sessions folder (default: <git top-level>/.ai-agents/sessions)")
    p.set_defaults(func=_storage.migrate)

    p = sub.add_parser("init", help="set a repository up: .gitattributes, hooks, agent settings (idempotent)")
    p.add_argument("--shims", action="store_true", help="install plain git hook shims even beside a pre-commit config")
    p.add_argument("--force", action="store_true", help="move other tools' hooks aside")
    p.add_argument("--repo", help="with --rev: the hook repository to add to an existing .pre-commit-config.yaml")
    p.add_argument("--rev", help="the tag or commit of --repo to pin")
    p.add_argument("--claude-code", action="store_true", help="register the Claude Code hooks in .claude/settings.json")
    p.add_argument("--codex", action="store_true", help="register the Codex hooks in .codex/hooks.json")
    p.add_argument("--gemini-cli", action="store_true", help="register the Gemini CLI hooks in .gemini/settings.json")
    p.add_argument("--mcp", action="store_true", help="register sessionlog mcp in .mcp.json and .codex/config.toml")
    p.set_defaults(func=_repo.init)

    p = sub.add_parser(
        "activate", help="name the active session of this branch (commit trailers, handoffs); no argument clears it"
    )
    p.add_argument("session", nargs="?", help="the session to make active (none: clear it)")
    p.add_argument("--agent", help="the agent working in it")
    p.set_defaults(func=_repo.activate)

    p = sub.add_parser(
        "flush",
        help="stage every pending session file, so a plain `git commit` takes them (the commit hook does this)",
    )
    p.add_argument("--no-stage", action="store_true", help="list the pending session files, stage none")
    p.set_defaults(func=_repo.flush)


def _minutes(text: str) -> float:
    """A number of minutes, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"minutes must be 0 or more: {text!r}")
    return value
