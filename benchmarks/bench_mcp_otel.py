"""The MCP server and the OpenTelemetry export, measured in one run:

- MCP append round trip: `append_event` called through the official SDK's stdio client against
  `sessionlog mcp` (median over many calls), next to the `query_events` read round trip;
- export throughput: events/s turned into an OTLP request and serialized (no network), and sent to
  a loopback receiver.

    python benchmarks/bench_mcp_otel.py [--calls 200] [--events 20000]
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

from sessionlog import SessionLogger
from sessionlog.export import otel


async def mcp_round_trips(repo: Path, calls: int) -> tuple[list[float], list[float]]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sessionlog", "mcp"],
        cwd=str(repo),
        env={"SESSIONLOG_SESSION": "bench", "PATH": str(Path(sys.executable).parent)},
    )
    appends, reads = [], []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for n in range(calls):
            started = time.perf_counter()
            await session.call_tool("append_event", {"event_type": "tool_call", "source": "Bash", "data": {"n": n}})
            appends.append(time.perf_counter() - started)
            if n % 10 == 0:
                started = time.perf_counter()
                await session.call_tool("open_commitments", {})
                reads.append(time.perf_counter() - started)
    return appends, reads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        appends, reads = anyio.run(mcp_round_trips, repo, args.calls)
        print(
            f"MCP append_event round trip (stdio, {args.calls} calls): median {statistics.median(appends) * 1000:.2f} ms, "
            f"p90 {sorted(appends)[int(len(appends) * 0.9)] * 1000:.2f} ms"
        )
        print(f"MCP open_commitments round trip: median {statistics.median(reads) * 1000:.2f} ms")
        logger = SessionLogger(repo / "s", segments=False)
        batch = [
            {
                "event_type": "tool_call",
                "agent": "codex",
                "source": "Bash",
                "data": {"tool": "Bash", "tool_use_id": f"t{i}", "input": {"command": f"step {i}"}},
            }
            for i in range(args.events)
        ]
        batch.append({"event_type": "state_change", "agent": "codex", "source": "Stop", "data": {"kind": "turn_end"}})
        for start in range(0, len(batch), 1000):
            logger.append_events("big", batch[start : start + 1000])  # one turn, ended
        started = time.perf_counter()
        body = otel.request_for(otel.plan(logger, ["big"]).spans).SerializeToString()
        built = time.perf_counter() - started
        print(
            f"OTLP export, {args.events} events: {args.events / built:,.0f} events/s built and serialized "
            f"({len(body) / 1e6:.1f} MB)"
        )

        class Sink(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started = time.perf_counter()
        otel.send(
            otel.request_for(otel.plan(logger, ["big"]).spans), f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
        )
        print(f"OTLP export sent to a loopback receiver: {args.events / (time.perf_counter() - started):,.0f} events/s")
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
