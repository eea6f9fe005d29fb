"""Agent hook latency, side by side in one run: `sessionlog hook claude-code` with a PostToolUse
payload (each tool call pays it), through the warm daemon (the default) and logging in-process
(`SESSIONLOG_HOOKD=0`), against a bare `python3 -c pass`, on the same machine. Round-robin,
median of the runs; the first hook starts the daemon.

    python benchmarks/bench_hook.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # users' interpreters cache bytecode
ENV["SESSIONLOG_HOOKD_IDLE"] = "20"  # the daemon goes away soon after the run
BIN = Path(sys.executable).parent


def timed(args: list[str], stdin: bytes, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, input=stdin, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([str(BIN / "sessionlog"), "init"], cwd=repo, env=ENV, check=True, capture_output=True)

        def hook_payload(n: int) -> bytes:
            return json.dumps(
                {
                    "session_id": "bench",
                    "cwd": str(repo),
                    "hook_event_name": "PostToolUse",
                    "tool_name": "Bash",
                    "tool_input": {"command": f"pytest -q tests/test_{n}.py"},
                    "tool_use_id": f"toolu_{n}_{time.time_ns()}",
                    "tool_response": {"stdout": "12 passed", "stderr": "", "interrupted": False},
                }
            ).encode()

        hook = [str(BIN / "sessionlog"), "hook", "claude-code"]
        contenders = {
            "python3 -c pass": ([sys.executable, "-c", "pass"], lambda n: b"", ENV),
            "sessionlog hook (warm daemon, the default)": (hook, hook_payload, ENV),
            "sessionlog hook (in-process, HOOKD=0)": (hook, hook_payload, {**ENV, "SESSIONLOG_HOOKD": "0"}),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for n in range(args.runs):
            for name, (command, body, env) in contenders.items():
                times[name].append(timed(command, body(n), repo, env))
    base = statistics.median(times["python3 -c pass"])
    print(f"{'command':44} {'median ms':>10} {'min ms':>8} {'x python -c pass':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:44} {median * 1000:10.1f} {min(values) * 1000:8.1f} {median / base:17.2f}")


if __name__ == "__main__":
    main()
