"""The errors sessionlog raises on purpose, and the one handler every command's ``main`` uses.

Each error carries the exit code a command returns for it: 1 for a refused
action or a bad repository file, 2 for a usage error, 3 when git or the
environment failed. Anything else escaping a command is a bug: it is reported
with its traceback and exit code 3, never mistaken for a finding.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3


class SessionlogError(Exception):
    """Base of every error sessionlog raises on purpose."""

    exit_code = EXIT_FINDINGS


class UsageError(SessionlogError, ValueError):
    """A bad argument: an unknown revision, a malformed timestamp, not a git repository."""

    exit_code = EXIT_USAGE


class UnknownEvent(UsageError, KeyError):
    """An event id that is not in the session."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFound(SessionlogError):
    """A session or event that does not exist: said, with exit code 1, never answered with silence."""


class ConfigError(SessionlogError, ValueError):
    """A repository's schema or secret rules that cannot be used."""


class StorageError(SessionlogError, ValueError):
    """A session file that cannot be read or written as it is (a symlink, a FIFO, a torn seal)."""


class GitError(SessionlogError):
    """git failed, or is not installed."""

    exit_code = EXIT_CRASH


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command's body and turn what escapes it into a message and an exit code."""
    try:
        return body()
    except SessionlogError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (| head): nothing left to say
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the crash handler: report, distinct exit code
        traceback.print_exc()
        print(f"{prog}: crashed ({type(exc).__name__}: {exc}); this is a bug, please report it", file=sys.stderr)
        return EXIT_CRASH
