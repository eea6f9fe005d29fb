"""Commit latency side by side, in one run: no hooks, one trivial framework hook, and
sessionlog's recommended setup (sessionlog-check through the framework, the trailer hook as the
light shim `sessionlog init` installs), and the plain-git shims alone (`sessionlog init --shims`).

Round-robin over the three repositories, median of the runs. Usage:
    python benchmarks/bench_commit.py [--runs 15]
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

PROJECT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
}
# Users' interpreters cache bytecode (pip compiles it at install time); an editable
# install under PYTHONDONTWRITEBYTECODE would recompile sessionlog on every hook run.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def git(repo: Path, *args: str) -> None:
    subprocess.run(("git", *args), cwd=repo, env=ENV, check=True, capture_output=True)


def make(root: Path, name: str, config: str | None, hook_types: tuple[str, ...]) -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    if config is not None:
        (repo / ".pre-commit-config.yaml").write_text(config)
        args = [a for t in hook_types for a in ("--hook-type", t)]
        subprocess.run(("pre-commit", "install", *args), cwd=repo, env=ENV, check=True, capture_output=True)
    (repo / "f.txt").write_text("0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")  # the framework builds its hook environments here
    return repo


def one_commit(repo: Path, n: int) -> float:
    (repo / "f.txt").write_text(f"{n}\n")
    git(repo, "add", "f.txt")
    started = time.perf_counter()
    git(repo, "commit", "-q", "-m", f"c{n}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    head = subprocess.run(("git", "rev-parse", "HEAD"), cwd=PROJECT, capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ENV["PRE_COMMIT_HOME"] = str(root / "pre-commit-home")
        trivial = "repos:\n- repo: local\n  hooks:\n  - id: trivial\n    name: trivial\n    entry: python3 -c pass\n    language: system\n    pass_filenames: false\n    always_run: true\n"
        recommended = f"repos:\n- repo: {PROJECT}\n  rev: {head.stdout.strip()}\n  hooks:\n  - id: sessionlog-check\n"
        repos = {
            "no hooks": make(root, "plain", None, ()),
            "plain-git shims (init --shims)": make(root, "shims", None, ()),
            "framework, one trivial hook": make(root, "trivial", trivial, ("pre-commit",)),
            "framework, sessionlog recommended": make(
                root, "sessionlog", recommended, ("pre-commit", "pre-merge-commit", "pre-push")
            ),
        }
        for name, init in (("framework, sessionlog recommended", ()), ("plain-git shims (init --shims)", ("--shims",))):
            subprocess.run(("sessionlog", "init", *init), cwd=repos[name], env=ENV, check=True, capture_output=True)
        times: dict[str, list[float]] = {name: [] for name in repos}
        for n in range(args.runs):
            for name, repo in repos.items():
                times[name].append(one_commit(repo, n + 1))
    base = statistics.median(times["framework, one trivial hook"])
    bare = statistics.median(times["no hooks"])
    print(f"{'setup':36} {'median s':>9} {'min s':>7} {'max s':>7} {'x trivial':>10} {'+ no hooks s':>13}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:36} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {median / base:10.2f} {median - bare:13.3f}"
        )


if __name__ == "__main__":
    main()
