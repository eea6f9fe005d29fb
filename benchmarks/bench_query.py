"""Query throughput and peak memory: sessionlog's streaming reader against DuckDB.

Builds sessions of ~1 KB events (100k and 1M by default), then runs the same
filters with sessionlog and with DuckDB's read_json, each in a fresh process
so peak RSS belongs to that query alone.

    python benchmarks/bench_query.py [--sizes 100000 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _events import make_events

from sessionlog import SessionLogger

AFTER = "2025-12-10T12:24:00Z"  # the last tenth of the session's hour

QUERIES = {
    "sessionlog query_events(event_type='error') -> list": "sl_list",
    "sessionlog iter_query_events(event_type='error')": "sl_iter_type",
    "sessionlog iter_query_events(after_timestamp=...)": "sl_iter_time",
    "duckdb read_json WHERE event_type='error'": "duck_type",
    "duckdb read_json WHERE timestamp > ...": "duck_time",
}


def build(path: Path, n: int) -> None:
    """A session of n events whose timestamps straddle AFTER, written through the library."""
    template = make_events(1000)
    with SessionLogger(path.parent) as logger:
        for start in range(0, n, 1000):
            batch = []
            for i, fields in enumerate(template[: min(1000, n - start)]):
                second = (start + i) * 3600 // n  # one hour, 11:30 to 12:30
                minute = 30 + second // 60
                stamp = f"2025-12-10T{11 + minute // 60}:{minute % 60:02d}:{second % 60:02d}.000000Z"
                batch.append({**fields, "timestamp": stamp})
            ok, error = logger.append_events(path.stem, batch)
            if not ok:
                raise RuntimeError(error)


def worker(kind: str, path: Path) -> dict[str, float]:
    start = time.perf_counter()
    if kind.startswith("sl_"):
        logger = SessionLogger(path.parent)
        if kind == "sl_list":
            count = len(logger.query_events(path.stem, event_type="error"))
        elif kind == "sl_iter_type":
            count = sum(1 for _ in logger.iter_query_events(path.stem, event_type="error"))
        else:
            count = sum(1 for _ in logger.iter_query_events(path.stem, after_timestamp=AFTER))
    else:
        import duckdb

        where = "event_type = 'error'" if kind == "duck_type" else f"timestamp > TIMESTAMPTZ '{AFTER}'"
        rows = duckdb.sql(
            f"SELECT count(*) FROM read_json('{path}', format='newline_delimited', maximum_object_size=2097152) WHERE {where}"
        ).fetchall()
        count = rows[0][0]
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "rss_mb": rss_mb, "count": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'query':52} {'events':>9} {'MB':>7} {'MB/s':>7} {'peak RSS MB':>12} {'matches':>8}")
        for n in args.sizes:
            path = Path(tmp) / f"bench{n}.jsonl"
            build(path, n)
            size_mb = path.stat().st_size / 1e6
            for label, kind in QUERIES.items():
                runs = [
                    json.loads(
                        subprocess.run(
                            [sys.executable, __file__, "--worker", kind, str(path)],
                            capture_output=True,
                            text=True,
                            check=True,
                        ).stdout
                    )
                    for _ in range(args.runs)
                ]
                seconds = statistics.median(r["seconds"] for r in runs)
                rss = statistics.median(r["rss_mb"] for r in runs)
                print(
                    f"{label:52} {n:>9,} {size_mb:>7.0f} {size_mb / seconds:>7.0f} {rss:>12.0f} {runs[0]['count']:>8,}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
