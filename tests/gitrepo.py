"""Real git repositories for tests: a tiny helper over the git executable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sessionlog import SessionLogger

SESSIONS = ".ai-agents/sessions"
ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {**os.environ, **ENV, "HOME": str(path.parent / f"{path.name}-home")}
        for name in (
            "GIT_DIR",
            "GIT_INDEX_FILE",
            "GIT_WORK_TREE",
            "SESSIONLOG_DIR",
            "SESSIONLOG_SESSION",
            "SESSIONLOG_AGENT",
        ):
            self.env.pop(name, None)
        Path(self.env["HOME"]).mkdir(exist_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        # the hook shims find this interpreter's console scripts first
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def run(
        self, *args: str, check: bool = True, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            args,
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            input=input,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        return self.run("git", *args, check=check, env=env).stdout.strip()

    @property
    def sessions(self) -> Path:
        return self.path / SESSIONS

    def logger(self, *, segments: bool | None = False) -> SessionLogger:
        """A logger of this repository; by default it writes the session files directly, as if
        its lines had already been sealed (tests of the spool itself pass ``spool=None``)."""
        return SessionLogger(self.sessions, segments=segments)

    def log(self, session: str, n: int = 2, agent: str = "claude_code") -> None:
        with self.logger() as logger:
            for i in range(n):
                result = logger.append_event(session, "tool_call", agent, "test", data={"i": i})
                assert result.ok, result.error

    def commit(
        self, message: str = "change", *, all_files: bool = True, check: bool = True, extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        if all_files:
            self.git("add", "-A")
        return self.run("git", "commit", "-q", "-m", message, *extra, check=check)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def file(self, session: str) -> Path:
        return self.sessions / f"{session}.jsonl"
