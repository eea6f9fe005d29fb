"""`sessionlog view` on a session of 10,000 events (the shared ~1 KB events), side by side in one run
with the nearest ways of reading the same log: `jq -c . LOG` and `sessionlog export` in the terminal,
and the raw JSONL escaped into a `<pre>` page in the same browser. Two costs: writing the page (whole
commands, as a person runs them) and opening it (Debian's headless Chromium through Playwright, from
navigation to the page saying it is ready; the view also reports its own script time). Round-robin,
median of the runs.

    python benchmarks/bench_view.py [--runs 5] [--events 10000]
"""

from __future__ import annotations

import argparse
import html
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _events import make_events

from sessionlog import SessionLogger

FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def opened(browser: Any, page_file: Path, ready: str) -> tuple[float, int, int]:
    """Seconds from navigation until `ready` matches, then the page's own figures (or -1): its
    script's time, and when the first frame with the entries was drawn (ms since navigation)."""
    page = browser.new_page()
    start = time.perf_counter()
    page.goto(page_file.as_uri())
    page.wait_for_selector(ready, timeout=120_000, state="attached")
    seconds = time.perf_counter() - start
    render = int(page.get_attribute("body", "data-render-ms") or "-1")
    painted = -1
    if render >= 0:
        page.wait_for_selector("body[data-painted-ms]", timeout=120_000, state="attached")
        painted = int(page.get_attribute("body", "data-painted-ms") or "-1")
    page.close()
    return seconds, render, painted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        logs = root / "sessions"
        logger = SessionLogger(logs, segments=False)
        events = make_events(args.events)
        for start in range(0, len(events), 1000):
            assert logger.append_events("bench", events[start : start + 1000]).ok
        log = logs / "bench.jsonl"
        cli = [sys.executable, "-m", "sessionlog", "--dir", str(logs)]
        view_page, raw_page = root / "view.html", root / "raw.html"
        raw_page.write_text("<!doctype html><meta charset=utf-8><body data-ready=yes><pre>"
                            + html.escape(log.read_text()) + "</pre>")  # fmt: skip
        writers: dict[str, list[str]] = {
            "sessionlog view SESSION -o FILE": [*cli, "view", "bench", "-o", str(view_page)],
            "sessionlog export SESSION": [*cli, "export", "bench"],
        }
        if shutil.which("jq"):
            writers["jq -c . LOG"] = ["jq", "-c", ".", str(log)]
        writers["python -c pass"] = [sys.executable, "-c", "pass"]
        write: dict[str, list[float]] = {name: [] for name in writers}
        open_view: list[float] = []
        open_raw: list[float] = []
        render: list[int] = []
        painted: list[int] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
            for _ in range(args.runs):
                for name, argv in writers.items():
                    write[name].append(timed(argv))
                seconds, ms, first_frame = opened(browser, view_page, "body[data-ready=yes]")
                open_view.append(seconds)
                render.append(ms)
                painted.append(first_frame)
                open_raw.append(opened(browser, raw_page, "body[data-ready=yes]")[0])
            browser.close()
        print(f"{args.events:,} events, log {log.stat().st_size / 1e6:.1f} MB, view page "
              f"{view_page.stat().st_size / 1e6:.1f} MB; median of {args.runs} runs")  # fmt: skip
        print("writing (whole command):")
        base = statistics.median(write["jq -c . LOG"]) if "jq -c . LOG" in write else None
        for name, samples in write.items():
            med = statistics.median(samples)
            ratio = f"{med / base:6.2f}x jq" if base else ""
            print(f"  {name:34s} {med * 1000:8.1f} ms  {ratio}")
        raw = statistics.median(open_raw)
        print("opening in headless Chromium (navigation to ready):")
        print(f"  {'sessionlog view page':34s} {statistics.median(open_view) * 1000:8.1f} ms  "
              f"{statistics.median(open_view) / raw:6.2f}x raw  (its script: {statistics.median(render)} ms, "
              f"first frame drawn at {statistics.median(painted)} ms)")  # fmt: skip
        print(f"  {'raw JSONL in a <pre>':34s} {raw * 1000:8.1f} ms  {1.0:6.2f}x raw")


if __name__ == "__main__":
    main()
