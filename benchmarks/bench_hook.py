"""Agent hook latency, side by side in one run: `sessionlog hook claude-code` with a PostToolUse
payload (each tool call pays it), through the warm runner (the default) and logging in-process
(`SESSIONLOG_HOOKD=0`), against a bare `python3 -c pass`, on the same machine; and the warm hook
again in a session that already holds 20,000 events (~12 MB), which must cost what a short one
does, and a prompt there (UserPromptSubmit looks back over the tail for the same prompt imported). Round-robin, median of the runs; the first hook starts the helper.

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

        sys.path.insert(0, str(Path(__file__).parent))
        from _events import make_events

        from sessionlog import SessionLogger

        with SessionLogger(repo / ".ai-agents" / "sessions") as logger:
            events = make_events(1000)
            for _ in range(20):
                assert logger.append_events("claude_code-long", events).ok

        def hook_payload(n: int, session: str = "bench") -> bytes:
            return json.dumps(
                {
                    "session_id": session,
                    "cwd": str(repo),
                    "hook_event_name": "PostToolUse",
                    "tool_name": "Bash",
                    "tool_input": {"command": f"pytest -q tests/test_{n}.py"},
                    "tool_use_id": f"toolu_{n}_{time.time_ns()}",
                    "tool_response": {"stdout": "12 passed", "stderr": "", "interrupted": False},
                }
            ).encode()

        def prompt_payload(n: int) -> bytes:  # looks in the session's tail for an imported twin
            body = {"session_id": "long", "cwd": str(repo), "hook_event_name": "UserPromptSubmit",
                    "prompt": f"run the tests in tests/test_{n}.py and fix what fails"}  # fmt: skip
            return json.dumps(body).encode()

        hook = [str(BIN / "sessionlog"), "hook", "claude-code"]
        contenders = {
            "python3 -c pass": ([sys.executable, "-c", "pass"], lambda n: b"", ENV),
            "sessionlog hook (warm, the default)": (hook, hook_payload, ENV),
            "sessionlog hook (warm), session of 20,000 events": (hook, lambda n: hook_payload(n, "long"), ENV),
            "sessionlog hook (warm), a prompt, 20,000 events": (hook, prompt_payload, ENV),
            "sessionlog hook (in-process, HOOKD=0)": (hook, hook_payload, {**ENV, "SESSIONLOG_HOOKD": "0"}),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for n in range(args.runs):
            for name, (command, body, env) in contenders.items():
                times[name].append(timed(command, body(n), repo, env))
    base = statistics.median(times["python3 -c pass"])
    print(f"{'command':52} {'median ms':>10} {'min ms':>8} {'x python -c pass':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:52} {median * 1000:10.1f} {min(values) * 1000:8.1f} {median / base:17.2f}")
    long = statistics.median(times["sessionlog hook (warm), session of 20,000 events"])
    short = statistics.median(times["sessionlog hook (warm, the default)"])
    print(f"20,000 events vs a new session: {long / short:.2f}x")


if __name__ == "__main__":
    main()
