"""Cost of the commit check: it should follow the size of the change, not of the file or history.

Builds two repositories with git fast-import: a session log of ~40 MB and one
of ~1 MB, each under 1,000 commits of history (the log grows in --growths of
them; the others touch another file). Then 100 events are appended and staged,
and the pre-commit check runs against HEAD, side by side with what a naive
hook would do (read the old blob and verify the whole new file). Two ways of
appending are timed: as an agent does (a new segment file, see ARCHITECTURE.md)
and as the commit hook writes the repository log (into the tracked file, which
grows: the check then proves the committed bytes a prefix, hashing them once).

    python benchmarks/bench_check.py [--commits 1000] [--growths 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _events import make_events

from sessionlog import SessionLogger, verify_file
from sessionlog.commits.check import Checker

LOG = ".ai-agents/sessions/big.jsonl"


def session_bytes(target: int, tmp: Path) -> bytes:
    events = make_events(1000)
    with SessionLogger(tmp) as logger:
        while not logger.session_path("big").exists() or logger.session_path("big").stat().st_size < target:
            assert logger.append_events("big", events).ok
    return logger.session_path("big").read_bytes()


def build(repo: Path, content: bytes, commits: int, growths: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    lines = content.splitlines(keepends=True)
    grow_at = {commits * (k + 1) // growths - 1: len(lines) * (k + 1) // growths for k in range(growths)}
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(commits):
        parts = [f"commit refs/heads/main\ncommitter Bench <b@example.com> {1700000000 + i} +0000\n".encode()]
        message = f"commit {i}"
        parts.append(f"data {len(message)}\n{message}\n".encode())
        if i in grow_at:
            blob = b"".join(lines[: grow_at[i]])
            parts.append(f"M 100644 inline {LOG}\ndata {len(blob)}\n".encode() + blob + b"\n")
        else:
            note = f"{i}\n".encode()
            parts.append(f"M 100644 inline notes.txt\ndata {len(note)}\n".encode() + note + b"\n")
        proc.stdin.write(b"".join(parts) + b"\n")
    proc.stdin.close()
    assert proc.wait() == 0
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)


def append_and_stage(repo: Path, *, segments: bool) -> None:
    with SessionLogger(repo / ".ai-agents" / "sessions", segments=None if segments else False) as logger:
        assert logger.append_events("big", make_events(100, seed=11)).ok
    subprocess.run(["git", "add", "-A", ".ai-agents"], cwd=repo, check=True)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(repo: Path, runs: int, *, typical: bool = True) -> dict[str, float]:
    def incremental() -> None:
        with Checker(repo) as checker:
            assert checker.check_index() == []

    def hook_process() -> None:
        # as git runs it at commit time (GIT_INDEX_FILE set): the check of the index only
        env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "index"), "SESSIONLOG_HOOKD": "0"}
        proc = subprocess.run(
            ["sessionlog-check", "--no-stage-events"], cwd=repo, capture_output=True, check=False, env=env
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def naive() -> None:
        subprocess.run(["git", "show", f"HEAD:{LOG}"], cwd=repo, check=True, capture_output=True)
        with Checker(repo) as checker:
            assert verify_file(repo / LOG, checker.schemas).ok

    results = {
        "sessionlog check (in process)": median_ms(incremental, runs),
        "sessionlog-check hook (whole process)": median_ms(hook_process, runs),
        "naive: read old blob + verify whole file": median_ms(naive, runs),
    }
    if not typical:
        return results
    # The typical commit: the log is already committed, another file is staged.
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "log"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("another change\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=repo, check=True)
    results["hook, commit touching no session log"] = median_ms(hook_process, runs)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--growths", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        full = session_bytes(40_000_000, base / "gen")
        for label, size in (("40 MB", len(full)), ("1 MB", 1_000_000)):
            content = full[: full.rfind(b"\n", 0, size) + 1]
            results[label] = {}
            for segments in (True, False):
                repo = base / f"{label.replace(' ', '')}-{segments}"
                start = time.perf_counter()
                build(repo, content, args.commits, args.growths)
                built = time.perf_counter() - start
                append_and_stage(repo, segments=segments)
                how = "new segment" if segments else "tracked file grows"
                for name, value in measure(repo, args.runs, typical=segments).items():
                    results[label][f"{how}: {name}" if "typical" not in name else name] = value
                print(
                    f"built {label} log ({len(content) / 1e6:.1f} MB, {args.commits} commits) in {built:.1f} s",
                    file=sys.stderr,
                )
    print(f"100 events appended and staged; median of {args.runs} runs, milliseconds")
    print(f"{'what runs':66} {'1 MB log':>10} {'40 MB log':>10} {'40/1':>6}")
    for name in results["1 MB"]:
        small, large = results["1 MB"][name], results["40 MB"][name]
        print(f"{name:66} {small:>10.1f} {large:>10.1f} {large / small:>6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
