"""`sessionlog mcp` driven by the official MCP SDK client over stdio, as an agent host would."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger

mcp = pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _params(repo: Repo, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "sessionlog", "mcp", "--agent", "claude_code"],
        cwd=str(repo.path),
        env={**repo.env, **env},
    )


async def _call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    return await session.call_tool(tool, arguments)


@contextlib.asynccontextmanager
async def _serving(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    """A session of the official SDK's client with `sessionlog mcp`, initialized."""
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.mark.anyio
async def test_an_agent_logs_and_reads_through_the_mcp_tools(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    async with _serving(_params(repo, SESSIONLOG_SESSION="claude_mcp")) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {
            "append_event",
            "log_decision",
            "commitment",
            "record_failure",
            "query_events",
            "open_commitments",
            "failure_history",
            "why",
            "handoff",
            "verify",
        } <= set(tools)
        assert tools["query_events"].annotations.read_only_hint is True
        assert tools["append_event"].annotations.destructive_hint is False
        assert tools["append_event"].annotations.open_world_hint is False
        assert tools["append_event"].output_schema is not None

        prompt = await _call(
            session,
            "append_event",
            event_type="user_message",
            source="terminal",
            data={"message": "ship the parser fix"},
        )
        assert not prompt.is_error and prompt.structured_content["seq"] == 1
        first = prompt.structured_content["event_id"]
        decided = await _call(
            session,
            "log_decision",
            decision="patch the tokenizer",
            reasoning="smallest change",
            alternatives=["rewrite the parser"],
            depends_on=[first],
        )
        assert not decided.is_error
        promised = await _call(session, "commitment", id="pr", commitment="open a PR", status="in_progress")
        failed = await _call(
            session,
            "record_failure",
            attempt="pytest -q",
            failure_reason="2 tests fail",
            depends_on=[decided.structured_content["event_id"]],
        )
        assert not promised.is_error and not failed.is_error

        # bad arguments are tool errors, with the validation message, and nothing is written
        bad = await _call(session, "append_event", event_type="gossip", source="x")
        assert bad.is_error
        bad = await _call(
            session, "append_event", event_type="decision", source="x", key_entities={"k": {"full_name": "k"}}
        )
        assert bad.is_error and "type" in bad.content[0].text

        why = await _call(session, "why", event_id=failed.structured_content["event_id"])
        assert [e["event_type"] for e in why.structured_content["result"]] == ["decision", "user_message"]
        open_ = await _call(session, "open_commitments")
        assert [c["commitment"] for c in open_.structured_content["result"]] == ["open a PR"]
        found = await _call(session, "query_events", text="tokenizer")
        assert [e["event_type"] for e in found.structured_content["result"]] == ["decision"]
        history = await _call(session, "failure_history")
        assert history.structured_content["result"][0]["attempt"] == "pytest -q"
        handed = await _call(session, "handoff", to_agent="codex", summary="tests left")
        assert not handed.is_error
        brief = handed.structured_content["brief"]  # the same brief `sessionlog export` prints
        assert (
            "## Open commitments" in brief and "[in_progress] open a PR" in brief and "pytest -q: 2 tests fail" in brief
        )
        verdict = await _call(session, "verify")
        assert verdict.structured_content["ok"] is True and verdict.structured_content["events"] == 5

        listed = await session.read_resource("sessionlog://sessions")
        assert "claude_mcp" in json.loads(listed.contents[0].text)
        lines = (await session.read_resource("sessionlog://sessions/claude_mcp")).contents[0].text.splitlines()
        assert len(lines) == 5
    logger = SessionLogger(repo.sessions)
    assert [e["provenance"]["agent"] for e in logger.read_session("claude_mcp")][1:] == ["claude_code"] * 4
    assert logger.verify_session("claude_mcp").ok


@pytest.mark.anyio
async def test_without_a_session_the_tools_say_how_to_name_one(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    env = {k: v for k, v in repo.env.items() if k != "SESSIONLOG_SESSION"}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sessionlog", "mcp"], cwd=str(repo.path), env=env
    )
    async with _serving(params) as session:
        result = await _call(session, "open_commitments")
        assert result.is_error and "sessionlog activate" in result.content[0].text
        repo.run("sessionlog", "activate", "s_active", "--agent", "claude_code")
        logged = await _call(session, "record_failure", attempt="make", failure_reason="missing header")
        assert not logged.is_error and logged.structured_content["session_id"] == "s_active"


def test_init_registers_the_server_with_both_agents(tmp_path: Path) -> None:
    import tomllib

    repo = Repo(tmp_path / "repo")
    (repo.path / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}}))
    (repo.path / ".codex").mkdir()
    (repo.path / ".codex" / "config.toml").write_text('model = "gpt-5"\n')
    out = repo.run("sessionlog", "init", "--mcp").stdout
    assert "registered for Claude Code" in out and "registered for Codex" in out
    servers = json.loads((repo.path / ".mcp.json").read_text())["mcpServers"]
    assert servers["other"] == {"command": "x"} and servers["sessionlog"]["args"] == ["mcp", "--agent", "claude_code"]
    config = tomllib.loads((repo.path / ".codex" / "config.toml").read_text())
    assert config["model"] == "gpt-5" and config["mcp_servers"]["sessionlog"]["command"] == "sessionlog"
    before = ((repo.path / ".mcp.json").read_text(), (repo.path / ".codex" / "config.toml").read_text())
    assert "registered already" in repo.run("sessionlog", "init", "--mcp").stdout
    assert before == ((repo.path / ".mcp.json").read_text(), (repo.path / ".codex" / "config.toml").read_text())


@pytest.mark.anyio
async def test_missing_sessions_bad_references_and_unknown_arguments_are_clear_errors(tmp_path: Path) -> None:
    from mcp.shared.exceptions import MCPError

    repo = Repo(tmp_path / "repo")
    repo.run("sessionlog", "init")
    async with _serving(_params(repo, SESSIONLOG_SESSION="m1")) as session:
        first = await _call(session, "append_event", event_type="tool_call", source="Bash")
        assert not first.is_error
        # a reference to an event that does not exist
        dangling = await _call(session, "append_event", event_type="decision", source="x", depends_on=["evt_nope"])
        assert dangling.is_error and "evt_nope" in dangling.content[0].text
        # an argument the tool does not have (a misspelt depends_on) is refused, not dropped
        typo = await _call(session, "append_event", event_type="decision", source="x", depend_on=["evt_x"])
        assert typo.is_error and "depend_on" in typo.content[0].text
        # a name the CLI would refuse
        bad_agent = await _call(session, "handoff", to_agent="not a name!", summary="over")
        assert bad_agent.is_error and "to_agent" in bad_agent.content[0].text
        # verify of a session that does not exist says so
        missing = await _call(session, "verify", session_id="no_such_session")
        assert missing.is_error and "no session" in missing.content[0].text
        with pytest.raises(MCPError) as caught:
            await session.read_resource("sessionlog://sessions/no_such_session")
        assert caught.value.code == -32602 and "no session 'no_such_session'" in caught.value.message
        ok = await _call(
            session, "append_event", event_type="decision", source="x",
            depends_on=[first.structured_content["event_id"]],
        )  # fmt: skip
        assert not ok.is_error
    events = SessionLogger(repo.sessions).read_session("m1")
    assert [e["event_type"] for e in events] == ["tool_call", "decision"]  # nothing refused was written
