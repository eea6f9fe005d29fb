"""`sessionlog view` pages loaded in a real browser (Debian's headless Chromium, driven by
Playwright): no console errors, no network request, one entry per event, hostile tool output shown
as text, filters and search working, 10,000 events rendered."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import Repo

from sessionlog import SessionLogger

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
HOSTILE = (
    "<script>document.title='owned'</script><img src=x onerror=\"document.title='owned'\">"
    "</script><b>bold?</b> \x1b]52;c;ZXZpbA==\x07 http://198.51.100.7/beacon.png"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


def load(browser: Any, page_file: Path) -> tuple[Any, list[str], list[str]]:
    """The page loaded from file://, the URLs it requested and the console errors it raised."""
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-ready=yes]", timeout=30_000)
    return page, requests, errors


def view(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.run(sys.executable, "-m", "sessionlog", "view", *args)


def _session(lg: SessionLogger) -> dict[str, str]:
    ask = lg.append_event("s1", "user_message", "user", "prompt", data={"message": "fix the build"})
    call = lg.append_event("s1", "tool_call", "claude_code", "Bash",
                           data={"tool": "Bash", "input": {"command": "make"}, "output": HOSTILE, "duration_ms": 1200},
                           dependencies={"depends_on": [str(ask.event_id)]})  # fmt: skip
    fail = lg.append_event("s1", "error", "claude_code", "Bash", data={"tool": "Bash", "message": "make failed"},
                           failure_ledger=[{"attempt": "make", "failure_reason": "exit 2"}],
                           dependencies={"depends_on": [str(call.event_id)]})  # fmt: skip
    lg.append_event("s1", "decision", "claude_code", "plan", data={"decision": "pin the compiler"},
                    dependencies={"depends_on": [str(fail.event_id)]})  # fmt: skip
    lg.append_event("s1", "commitment", "claude_code", "TodoWrite",
                    open_commitments=[{"id": "t1", "commitment": "Pin gcc 13", "status": "pending"}])  # fmt: skip
    lg.append_event("s1", "commitment", "claude_code", "TodoWrite",
                    open_commitments=[{"id": "t2", "commitment": "Rerun CI", "status": "pending"}])  # fmt: skip
    lg.log_handoff("s1", "claude_code", "codex", summary="build still red")
    lg.append_event("s1", "user_message", "user", "prompt", data={"message": f"what is this? {HOSTILE}"})
    lg.append_event("s1", "commitment", "codex", "update_plan",
                    open_commitments=[{"id": "t2", "commitment": "Rerun CI", "status": "completed"}])  # fmt: skip
    return {"ask": str(ask.event_id), "call": str(call.event_id)}


def test_a_session_page_shows_every_event_escaped_with_no_request_and_no_error(tmp_path: Path, browser: Any) -> None:
    repo = Repo(tmp_path / "repo")
    lg = SessionLogger(repo.sessions)
    ids = _session(lg)
    view(repo, "s1", "-o", "page.html")
    raw = (repo.path / "page.html").read_text()
    assert "<script>document.title" not in raw and "http://198.51.100.7" in raw  # data only, never markup
    page, requests, errors = load(browser, repo.path / "page.html")
    assert requests == [(repo.path / "page.html").as_uri()]  # the page itself, nothing else
    assert errors == []
    assert page.get_attribute("body", "data-errors") == "0"
    assert page.title() == "sessionlog: s1"  # no script of the log ran
    events = page.locator("li.event")
    assert events.count() == len(lg.read_session("s1"))
    assert page.locator("main img, main b, main script").count() == 0  # the hostile markup is text
    assert "<b>bold?</b>" in page.inner_text("main")
    call = page.locator(f"#e-{ids['call']}")
    assert "(1.200 s)" in call.inner_text()
    call.locator("summary").click()
    assert "<script>document.title='owned'</script>" in call.locator("pre").inner_text()
    assert page.locator("li.event.failed").count() == 1
    assert "◻ pending: Pin gcc 13" in page.inner_text("main")
    assert "☑ pending (now completed): Rerun CI" in page.inner_text("main")  # its state then, and now
    assert "handoff claude_code → codex" in page.inner_text("main")
    # causes are links to follow
    page.click(f"#e-{ids['call']} .deps a")
    assert page.evaluate("location.hash") == f"#e-{ids['ask']}"
    # filters and search
    page.select_option("#agent", "user")
    assert page.locator("li.event:not([hidden])").count() == 2
    page.select_option("#agent", "")
    page.fill("#search", "compiler")
    assert [e.get_attribute("data-type") for e in page.locator("li.event:not([hidden])").all()] == ["decision"]
    page.fill("#search", "")
    page.uncheck("#types input[value=tool_call]")
    assert page.locator("li.event[data-type=tool_call]:not([hidden])").count() == 0
    assert page.locator(".axis .mark").count() == len(lg.read_session("s1"))


def test_all_sessions_one_row_each_with_their_commits(tmp_path: Path, browser: Any) -> None:
    repo = Repo(tmp_path / "repo")
    (repo.path / "a.txt").write_text("a\n")
    repo.git("add", "a.txt")
    made = repo.run("git", "commit", "-m", "Add a").stdout
    lg = SessionLogger(repo.sessions)
    lg.append_event("s1", "tool_call", "codex", "shell",
                    data={"tool": "shell", "input": {"command": "git commit -m 'Add a'"}, "output": made})  # fmt: skip
    lg.append_event("s2", "user_message", "user", "prompt", data={"message": "hello"})
    out = view(repo, "--all", "-o", "all.html").stdout
    assert "2 event(s) of 2 session(s)" in out
    page, requests, errors = load(browser, repo.path / "all.html")
    assert errors == [] and len(requests) == 1
    sections = page.locator("section.session")
    assert sections.count() == 2
    sha = repo.git("rev-parse", "HEAD")
    assert sha[:12] in sections.nth(0).inner_text() and "Add a" in sections.nth(0).inner_text()
    assert sections.nth(1).locator(".commits").count() == 0


def test_ten_thousand_events_render(tmp_path: Path, browser: Any) -> None:
    lg = SessionLogger(tmp_path / "s")
    batch = [
        {"event_type": "tool_call", "agent": "claude_code", "source": "Bash",
         "data": {"tool": "Bash", "input": {"command": f"step {i}"}, "duration_ms": i % 900}}
        for i in range(10_000)
    ]  # fmt: skip
    for start in range(0, len(batch), 1000):
        assert lg.append_events("big", batch[start : start + 1000]).ok
    subprocess.run([sys.executable, "-m", "sessionlog", "--dir", str(tmp_path / "s"), "view", "big", "-o",
                    str(tmp_path / "big.html")], check=True, capture_output=True)  # fmt: skip
    page, _, errors = load(browser, tmp_path / "big.html")
    assert errors == []
    assert page.locator("li.event").count() == 10_000
    assert int(page.get_attribute("body", "data-render-ms") or "-1") >= 0  # measured; benchmarks/ records it


def test_view_refuses_an_unknown_session_and_needs_a_choice(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    bad = repo.run(sys.executable, "-m", "sessionlog", "view", "nope", check=False)
    assert bad.returncode == 2 and "no session 'nope'" in bad.stderr
    neither = repo.run(sys.executable, "-m", "sessionlog", "view", check=False)
    assert neither.returncode == 2 and "--all" in neither.stderr
    assert not list(repo.path.glob("*.html"))
