"""The handoff brief, section by section, for a session built here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sessionlog import SessionLogger


def _session(folder: Path) -> dict[str, str]:
    lg = SessionLogger(folder, segments=False)
    ids: dict[str, str] = {}
    ids["goal"] = str(
        lg.append_event("s", "user_message", "user", "terminal", data={"message": "Make the importer stream"}).event_id
    )
    ids["read"] = str(
        lg.append_event(
            "s", "tool_call", "claude_code", "Read", data={"tool": "Read", "input": {"file_path": "src/importer.py"}}
        ).event_id
    )
    ids["decision"] = str(
        lg.append_event(
            "s",
            "decision",
            "claude_code",
            "plan",
            data={"decision": "iterate lines instead of loading the file"},
            causal_steps=[
                {"step": "choose a reader", "reasoning": "memory must stay flat", "alternatives_considered": ["mmap"]}
            ],
            active_constraints=[{"constraint": "no new dependencies", "source": "CLAUDE.md", "priority": "mandatory"}],
            key_entities={
                "importer": {"full_name": "sessionlog.agents", "type": "module", "location": "sessionlog/agents"}
            },
        ).event_id
    )
    ids["commit"] = str(
        lg.append_event(
            "s",
            "commitment",
            "claude_code",
            "plan",
            open_commitments=[
                {
                    "id": "tests",
                    "commitment": "add streaming tests",
                    "status": "in_progress",
                    "due_by": "2026-12-01T12:00:00Z",
                },
                {"id": "docs", "commitment": "update the README", "status": "pending"},
            ],
        ).event_id
    )
    ids["fail"] = str(
        lg.append_event(
            "s",
            "error",
            "claude_code",
            "Bash",
            data={"message": "MemoryError"},
            failure_ledger=[{"attempt": "pytest -k big", "failure_reason": "MemoryError on 2 GB input"}],
        ).event_id
    )
    lg.append_event(
        "s",
        "commitment",
        "claude_code",
        "plan",
        open_commitments=[{"id": "docs", "commitment": "update the README", "status": "completed"}],
    )
    ids["prompt2"] = str(
        lg.append_event("s", "user_message", "user", "terminal", data={"message": "also keep timestamps"}).event_id
    )
    return ids


def _export(folder: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "sessionlog", "--dir", str(folder), "export", "s", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_brief_has_every_section_linked_to_its_events(tmp_path: Path) -> None:
    ids = _session(tmp_path)
    md = _export(tmp_path)
    sections = {part.split("\n", 1)[0]: part for part in md.split("\n## ")[1:]}
    assert f"Make the importer stream ({ids['goal']})" in sections["Goal"]
    assert f"also keep timestamps ({ids['prompt2']})" in sections["Latest requests"]
    assert (
        f"iterate lines instead of loading the file — because memory must stay flat; ruled out: mmap ({ids['decision']})"
        in sections["Decisions"]
    )
    assert (
        f"[in_progress] add streaming tests, due 2026-12-01T12:00:00Z ({ids['commit']})" in sections["Open commitments"]
    )
    assert "update the README" not in sections["Open commitments"]  # completed later
    assert f"pytest -k big: MemoryError on 2 GB input ({ids['fail']})" in sections["Failures"]
    assert "no new dependencies [mandatory] — CLAUDE.md" in sections["Active constraints"]
    assert "`src/importer.py` (touched 1x)" in sections["Key files and entities"]
    assert "importer: module sessionlog.agents at sessionlog/agents" in sections["Key files and entities"]
    assert f"Read src/importer.py ({ids['read']})" in sections["Last actions"]
    assert _export(tmp_path) == md  # deterministic
    data = json.loads(_export(tmp_path, "-o", "json"))
    assert data["goal"]["event"] == ids["goal"] and [c["id"] for c in data["open_commitments"]] == ["tests"]


def test_the_brief_stays_one_page_however_long_the_session(tmp_path: Path) -> None:
    lg = SessionLogger(tmp_path, segments=False)
    for n in range(600):
        lg.append_event(
            "s", "tool_call", "codex", "Bash", data={"tool": "Bash", "input": {"command": f"step {n} " + "x" * 2000}}
        )
        lg.append_event("s", "decision", "codex", "plan", data={"decision": f"decision {n} " + "y" * 2000})
    md = _export(tmp_path)
    assert len(md) < 12_000 and "step 599" in md and "decision 599" in md and "decision 500" not in md


def test_the_brief_takes_the_rationale_and_never_calls_the_choice_ruled_out(tmp_path: Path) -> None:
    from sessionlog.export.brief import build_brief, render_markdown

    lg = SessionLogger(tmp_path, segments=False)
    lg.append_event(
        "d", "decision", "claude_code", "planning",
        data={"decision": "Use PostgreSQL", "rationale": "we need transactions"},
        causal_steps=[{"step": "Use PostgreSQL", "reasoning": "ACID",
                       "alternatives_considered": ["Use PostgreSQL", "MongoDB", "SQLite"]}],
    )  # fmt: skip
    [decided] = build_brief(lg, "d")["decisions"]
    assert decided["reason"] == "we need transactions"
    assert decided["ruled_out"] == ["MongoDB", "SQLite"]
    assert "ruled out: MongoDB, SQLite" in render_markdown(build_brief(lg, "d"))
