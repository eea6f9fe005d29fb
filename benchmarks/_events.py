"""The same ~1 KB events for every benchmark, built deterministically."""

from __future__ import annotations

import random
from typing import Any

TOOLS = ["Bash", "Read", "Edit", "Grep", "Write"]
TYPES = ["tool_call", "tool_call", "tool_call", "decision", "state_change", "error", "user_message"]
AGENTS = ["claude_code", "codex", "gemini"]
WORDS = [
    "the",
    "deploy",
    "script",
    "fails",
    "on",
    "network",
    "errors",
    "retry",
    "with",
    "backoff",
    "and",
    "log",
    "the",
    "response",
    "body",
    "before",
    "exit",
]


def event_fields(i: int, rng: random.Random) -> dict[str, Any]:
    """Keyword arguments for append_event: about 1 KB once encoded."""
    text = " ".join(rng.choice(WORDS) for _ in range(60))
    return {
        "event_type": TYPES[i % len(TYPES)],
        "agent": AGENTS[i % len(AGENTS)],
        "source": f"scripts/step_{i % 50}.sh",
        "data": {
            "tool": TOOLS[i % len(TOOLS)],
            "command": f"./scripts/step_{i % 50}.sh --attempt {i}",
            "exit_code": i % 3,
            "output": text,
            "files": [f"src/module_{(i + k) % 97}.py" for k in range(5)],
        },
        "causal_steps": [
            {
                "step": "Ran the step script",
                "reasoning": "the plan says so",
                "alternatives_considered": ["skip", "defer"],
            }
        ],
    }


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [event_fields(i, rng) for i in range(n)]
