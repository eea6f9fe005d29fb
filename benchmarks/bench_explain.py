"""`sessionlog explain` in a repository of 1,000 commits whose sessions hold 100,000 events, side
by side in one run with what git itself takes to answer the nearest questions it can: `git show
--stat` (the commit and its files) and `git blame -L` (a line's commit). Whole commands, as a
person runs them; round-robin, median of the runs.

The agent's session made every 10th commit (its tool calls print `[main <sha>] ...`, as `git
commit` does); the sessions hold edits, commands, prompts and failures around them.

    python benchmarks/bench_explain.py [--runs 7] [--commits 1000] [--events 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sessionlog import SessionLogger

ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip


def build(repo: Path, commits: int, events: int) -> tuple[str, str]:
    """The repository and its logs; returns an agent commit in the middle and a file:line it wrote."""
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    stream = []
    for i in range(commits):
        body = f"def f{i}():\n    return {i}\n"
        stream += [
            "commit refs/heads/main",
            f"committer b <b@x> {1_700_000_000 + i * 60} +0000",
            f"data {len(f'change {i}')}",
            f"change {i}",
            f"M 644 inline src/m{i % 50}.py",
            f"data {len(body)}",
            body,
        ]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input="\n".join(stream).encode(), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    shas = subprocess.run(["git", "rev-list", "--reverse", "main"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.split()  # fmt: skip
    logger = SessionLogger(repo / ".ai-agents" / "sessions", segments=False)
    per_commit = max(1, events // commits)
    sessions = 10
    batch: dict[str, list[dict[str, object]]] = {f"claude_code-s{k}": [] for k in range(sessions)}
    for i, sha in enumerate(shas):
        session = f"claude_code-s{i % sessions}"
        stamp = 1_700_000_000 + i * 60
        for j in range(per_commit - 1):
            at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp - 50 + j % 40)) + "Z"
            kind = j % 5
            if kind == 0:
                event = {
                    "event_type": "user_message",
                    "agent": "user",
                    "source": "prompt",
                    "data": {"message": f"do {i}.{j}"},
                }
            elif kind == 1:
                event = {"event_type": "tool_call", "agent": "claude_code", "source": "Edit",
                         "data": {"tool": "Edit", "input": {"file_path": f"/w/src/m{i % 50}.py", "old_string": "x",
                                                            "new_string": f"    return {i}"}}}  # fmt: skip
            else:
                event = {"event_type": "tool_call", "agent": "claude_code", "source": "Bash",
                         "data": {"tool": "Bash", "input": {"command": f"pytest -k t{j}"}, "output": "ok " * 40}}  # fmt: skip
            batch[session].append({**event, "timestamp": at})
        if i % 10 == 0:
            at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + "Z"
            batch[session].append({"event_type": "tool_call", "agent": "claude_code", "source": "Bash", "timestamp": at,
                                   "data": {"tool": "Bash", "input": {"command": "git commit -am x"},
                                            "output": f"[main {sha[:7]}] change {i}\n 1 file changed"}})  # fmt: skip
    for session, items in batch.items():
        for start in range(0, len(items), 1000):
            logger.append_events(session, items[start : start + 1000])
    middle = (commits // 2) // 10 * 10
    return shas[middle], f"src/m{middle % 50}.py:2"


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        sha, line = build(repo, args.commits, args.events)
        size = sum(p.stat().st_size for p in (repo / ".ai-agents" / "sessions").iterdir())
        path, number = line.split(":")
        contenders = {
            "sessionlog explain COMMIT": [sys.executable, "-m", "sessionlog", "explain", sha],
            "sessionlog explain FILE:LINE": [sys.executable, "-m", "sessionlog", "explain", line],
            "git show --stat COMMIT": ["git", "show", "--stat", sha],
            "git blame -L LINE FILE": ["git", "blame", "-L", f"{number},{number}", "--", path],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        check = subprocess.run(contenders["sessionlog explain COMMIT"], cwd=repo, capture_output=True, text=True,
                               check=False)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.runs):
            for name, command in contenders.items():
                times[name].append(timed(command, repo))
        print(f"{args.commits} commits, {args.events:,} events in 10 sessions ({size / 1e6:.0f} MB); "
              f"median of {args.runs} runs")  # fmt: skip
        base = statistics.median(times["git show --stat COMMIT"])
        for name, runs in times.items():
            median = statistics.median(runs)
            print(f"  {name:<30} {median * 1000:8.1f} ms  {median / base:5.1f}x git show")


if __name__ == "__main__":
    main()
