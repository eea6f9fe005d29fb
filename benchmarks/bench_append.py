"""Append throughput: sessionlog against the loggers people already use.

Every contender writes the same ~1 KB events as JSON lines to a file on the
same disk. sessionlog does more per event than any peer: schema validation,
secret redaction, hash chaining and an exclusive lock per append.

    python benchmarks/bench_append.py [--events N] [--runs R]

Prints events/s (median of R runs) and the ratio to sessionlog.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _events import make_events

from sessionlog import SessionLogger

Runner = Callable[[Path, list[dict[str, Any]]], None]


def run_sessionlog(path: Path, events: list[dict[str, Any]], **options: Any) -> None:
    with SessionLogger(path, **options) as logger:
        for fields in events:
            ok, error = logger.append_event("bench", **fields)
            if not ok:
                raise RuntimeError(error)


def run_sessionlog_batched(path: Path, events: list[dict[str, Any]]) -> None:
    with SessionLogger(path) as logger:
        for start in range(0, len(events), 100):
            ok, error = logger.append_events("bench", events[start : start + 100])
            if not ok:
                raise RuntimeError(error)


def run_sessionlog_work_tree(path: Path, events: list[dict[str, Any]]) -> None:
    """In a git work tree appends go to the session's open segment, under the lock of its state in
    the git directory (ARCHITECTURE.md): what an agent in a repository pays."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(path)], check=True)
    run_sessionlog(path / ".ai-agents" / "sessions", events)


def run_sessionlog_fsync(path: Path, events: list[dict[str, Any]]) -> None:
    run_sessionlog(path, events, fsync=True)


def run_logging_json(path: Path, events: list[dict[str, Any]]) -> None:
    from pythonjsonlogger.json import JsonFormatter

    log = logging.getLogger(f"bench.{path.name}")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path / "log.jsonl")
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    try:
        for fields in events:
            log.info(fields["event_type"], extra=fields)
    finally:
        log.removeHandler(handler)
        handler.close()


def _structlog(path: Path, events: list[dict[str, Any]], *, use_orjson: bool) -> None:
    import orjson
    import structlog

    mode = "ab" if use_orjson else "a"
    with open(path / "structlog.jsonl", mode) as out:
        processors: list[Any] = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ]
        if use_orjson:
            processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
            factory: Any = structlog.BytesLoggerFactory(out)
        else:
            processors.append(structlog.processors.JSONRenderer())
            factory = structlog.WriteLoggerFactory(out)
        log = structlog.wrap_logger(factory(), processors=processors, cache_logger_on_first_use=True)
        for fields in events:
            log.info(fields["event_type"], **fields)


def run_structlog_json(path: Path, events: list[dict[str, Any]]) -> None:
    _structlog(path, events, use_orjson=False)


def run_structlog_orjson(path: Path, events: list[dict[str, Any]]) -> None:
    _structlog(path, events, use_orjson=True)


def run_eliot(path: Path, events: list[dict[str, Any]]) -> None:
    import eliot

    out: io.BufferedWriter = open(path / "eliot.jsonl", "ab")  # noqa: SIM115 - eliot owns it until removed
    destination = eliot.FileDestination(file=out)
    eliot.add_destinations(destination)
    try:
        for fields in events:
            eliot.log_message(
                message_type=fields["event_type"], **{k: v for k, v in fields.items() if k != "event_type"}
            )
    finally:
        eliot.remove_destination(destination)
        out.close()


CONTENDERS: dict[str, Runner] = {
    "sessionlog (validate+redact+chain+lock)": run_sessionlog,
    "sessionlog, in a git work tree (segments)": run_sessionlog_work_tree,
    "sessionlog, append_events (100/batch)": run_sessionlog_batched,
    "logging + python-json-logger": run_logging_json,
    "structlog, stdlib json": run_structlog_json,
    "structlog, orjson + BytesLogger": run_structlog_orjson,
    "eliot": run_eliot,
}


def once(runner: Runner, events: list[dict[str, Any]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        runner(Path(tmp), events)
        return len(events) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    events = make_events(args.events)
    contenders = {name: (runner, events) for name, runner in CONTENDERS.items()}
    contenders["sessionlog, fsync=True"] = (run_sessionlog_fsync, events[: max(200, args.events // 20)])
    # Round-robin: every run times each contender once, so drift in a noisy
    # machine's speed falls on all of them alike.
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.runs):
        for name, (runner, batch) in contenders.items():
            rates[name].append(once(runner, batch))
    results = {name: statistics.median(values) for name, values in rates.items()}
    ours = results["sessionlog (validate+redact+chain+lock)"]
    print(f"{args.events} events of ~1 KB, median of {args.runs} runs")
    print(f"{'contender':42} {'events/s':>10} {'vs sessionlog':>14} {'min-max of runs':>18}")
    for name, rate in results.items():
        spread = f"{min(rates[name]):,.0f}-{max(rates[name]):,.0f}"
        print(f"{name:42} {rate:>10,.0f} {rate / ours:>13.2f}x {spread:>18}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
