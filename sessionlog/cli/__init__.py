"""The ``sessionlog`` command line: ``main(argv) -> int``. The parser is built in one place
(``_parser``); the commands live by topic in ``_logs``, ``_storage`` and ``_repo``.

Exit codes (``sessionlog.errors``): 0 clean, 1 findings or a refused action, 2 usage error,
3 git failed or a bug.

This module imports nothing else at start: ``sessionlog hook`` (run for every tool call of
an agent) goes straight to its few-millisecond client.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if len(words) == 2 and words[0] == "hook" and words[1] in ("claude-code", "codex", "gemini-cli"):
        from sessionlog.agents import client  # stdlib only: no parser, no logger

        return client.main(words[1].replace("-", "_"))
    from sessionlog.cli._parser import build_parser
    from sessionlog.errors import run_command

    parser = build_parser()

    def body() -> int:
        args = parser.parse_args(words)
        return int(args.func(args))

    return run_command("sessionlog", body)


if __name__ == "__main__":
    raise SystemExit(main())
