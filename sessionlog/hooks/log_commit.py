"""sessionlog-log-commit (post-commit): queue this commit's event, and a handoff if the agent changed.

Nothing in the work tree changes; the next commit on this branch stages the
queued events (see ``sessionlog._repo_events``). A failure here never fails
the commit that already happened: it is reported and the hook exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import _git, _repo_events


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sessionlog-log-commit", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("rev", nargs="?", default="HEAD")
    args = parser.parse_args(argv)
    root = _git.toplevel()
    if root is None:
        return 0
    try:
        _repo_events.record_commit(root, args.rev)
    except (_git.GitError, OSError) as exc:
        print(f"sessionlog-log-commit: commit not logged: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
