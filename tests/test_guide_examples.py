"""Every example of the usage guide runs as written, only the import line changed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import shared

from sessionlog import SessionLogger, verify_file

_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def guide_blocks() -> list[str]:
    text = shared("seed", "session-logging-usage-guide.md").read_text("utf-8")
    blocks = _BLOCK.findall(text)
    return [
        re.sub(r"^from (session_logger|log_management) import", "from sessionlog import", b, flags=re.M) for b in blocks
    ]


def test_guide_has_the_examples_we_expect() -> None:
    blocks = guide_blocks()
    assert len(blocks) >= 15
    assert any("from sessionlog import SessionLogger" in b for b in blocks)
    assert any("from sessionlog import LogManager" in b for b in blocks)


def test_every_guide_example_runs_in_a_fresh_git_repo(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    script = tmp_path / "guide.py"
    script.write_text("\n\n".join(guide_blocks()), "utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Error:" not in proc.stdout
    # The examples log where the guide says, and what they wrote is valid and chained.
    sessions = tmp_path / ".ai-agents" / "sessions"
    assert sorted(p.name for p in sessions.glob("*.jsonl")) == [
        "my_session_20251210.jsonl",
        "session_20251210_1400.jsonl",
    ]
    logger = SessionLogger(sessions)
    events = logger.read_session("session_20251210_1400")
    assert [e["event_type"] for e in events] == ["user_message", "tool_call", "error", "decision"]
    assert "Total events: 4" in proc.stdout
    assert "- Deploy to production: blocked" in proc.stdout
    assert "- Deploy via git push: 500 error from Render" in proc.stdout
    assert "Active: " in proc.stdout and "Archived: " in proc.stdout
    for path in sessions.glob("*.jsonl"):
        report = verify_file(path, logger.schemas)
        assert report.ok, report.findings
