"""The warm logger behind ``sessionlog hook`` (see ``sessionlog._warm``):
``python -m sessionlog.agents.daemon SOCKET``.

A request is ``<code stamp>\\n<agent>\\n<payload>``; the payload is logged with
``live.run`` as the hook would, and the reply ``ok`` plus any problems is sent once the
event is written.
"""

from __future__ import annotations

import os
import sys

from .._warm import StepDown, code_stamp, serve
from .live import run

STAMP = code_stamp()


def handle(data: bytes) -> bytes:
    stamp, _, rest = data.partition(b"\n")
    if stamp.decode() != STAMP:
        raise StepDown(b"stale\n")
    agent, _, raw = rest.partition(b"\n")
    cwd = os.getcwd()
    try:
        problems = run(agent.decode("utf-8", "replace"), raw)
    finally:
        os.chdir(cwd)
    return b"ok\n" + "".join(f"{p}\n" for p in problems).encode()


if __name__ == "__main__":
    serve(sys.argv[1], handle)
