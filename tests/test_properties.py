"""Any input to append_event succeeds and round-trips exactly, or fails and changes nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sessionlog import SessionLogger

EVENT_TYPES = ["user_message", "tool_call", "state_change", "commitment", "error", "constraint_applied", "decision"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 2**64, -(2**63) - 1, "\ud800", "\x00"]),
)
keys = st.one_of(st.text(max_size=10), st.integers(0, 3))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=15,
)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
steps = st.lists(
    st.fixed_dictionaries({"step": st.text(max_size=20), "reasoning": st.one_of(st.text(max_size=20), st.integers())}),
    max_size=3,
)
commitments = st.lists(
    st.fixed_dictionaries(
        {
            "commitment": st.text(max_size=20),
            "status": st.sampled_from(["pending", "in_progress", "blocked", "completed", "cancelled", "done"]),
        }
    ),
    max_size=3,
)
arguments = st.fixed_dictionaries(
    {
        "session_id": st.one_of(st.just("s1"), st.text(max_size=12)),
        "event_type": st.one_of(st.sampled_from(EVENT_TYPES), st.text(max_size=12)),
        "agent": st.one_of(st.sampled_from(["claude_code", "codex", "user"]), st.text(max_size=12)),
        "source": st.one_of(st.text(max_size=30), st.integers()),
        "data": maybe(st.one_of(st.dictionaries(keys, values, max_size=5), values)),
        "causal_steps": maybe(steps),
        "open_commitments": maybe(commitments),
        "dependencies": maybe(st.fixed_dictionaries({"depends_on": st.lists(st.text(max_size=12), max_size=2)})),
    }
)


def check(logger: SessionLogger, args: dict[str, Any], *, exact: bool) -> None:
    path = logger.base_dir / "s1.jsonl"
    before = path.read_bytes() if path.exists() else None
    listing = sorted(p.name for p in logger.base_dir.iterdir()) if logger.base_dir.exists() else []
    result = logger.append_event(**args)
    ok, error = result
    if not ok:
        assert isinstance(error, str) and error
        assert (path.read_bytes() if path.exists() else None) == before
        assert (sorted(p.name for p in logger.base_dir.iterdir()) if logger.base_dir.exists() else []) == listing
        return
    written = json.loads(logger.session_path(args["session_id"]).read_bytes().splitlines()[-1])
    assert written["event_id"] == result.event_id and written["seq"] == result.seq
    assert written["event_type"] == args["event_type"]
    assert written["provenance"] == {"source": args["source"], "agent": args["agent"]}
    if exact or "redactions" not in written:
        for name in ("data", "causal_steps", "open_commitments", "dependencies"):
            assert written.get(name) == args[name]
    assert logger.verify_session(args["session_id"]).ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments)
def test_append_round_trips_or_changes_nothing(args: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp) / "sessions", redact=False) as logger:
        logger.append_event("s1", "user_message", "user", "terminal")
        check(logger, args, exact=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(arguments, min_size=1, max_size=6))
def test_sequences_of_appends_with_redaction_keep_a_valid_chain(batch: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp) / "sessions") as logger:
        for args in batch:
            check(logger, {**args, "session_id": "s1"}, exact=False)


wild_data = st.dictionaries(st.text(max_size=8), values, min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(wild_data, st.sampled_from(EVENT_TYPES))
@example({"x": float("nan")}, "error")
@example({"x": [1, {"y": float("-inf")}]}, "error")
def test_any_data_payload_round_trips_or_is_refused(data: dict[str, Any], event_type: str) -> None:
    args = {
        "session_id": "s1",
        "event_type": event_type,
        "agent": "claude_code",
        "source": "x",
        "data": data,
        "causal_steps": None,
        "open_commitments": None,
        "dependencies": None,
    }
    with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp) / "sessions", redact=False) as logger:
        logger.append_event("s1", "user_message", "user", "terminal")
        check(logger, args, exact=True)


FRAGMENTS = ["password", "PASSWORD", "token", "Bearer", "api_key", "secret", "=", ":", '"', "'", "\n", "\t", " ",
             "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a" * 36, "sk-ant-" + "b" * 24, "xoxb-1234567890", "eyJabcdefghij.eyJabcdefghij.abcdefghij",
             "-----BEGIN PRIVATE KEY-----", "hunter22", "abcdefghijklmnopqrstuvwxyz0123", "aws_secret_access_key"]  # fmt: skip
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["m", "password", "Authorization", "x_token", "note"]), texts, min_size=1, max_size=3
    )
)
def test_the_cheap_secret_test_never_misses_what_the_walk_finds(data: dict[str, str]) -> None:
    import copy

    import orjson

    from sessionlog import Redactor

    redactor = Redactor()
    event = {"event_id": "evt_0123abcd", "data": data}
    found = redactor.redact(copy.deepcopy(event))
    if found:
        assert redactor.might_contain_secret(orjson.dumps(event)), (data, found)
