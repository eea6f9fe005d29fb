"""The handoff brief: what the next agent (or a person) needs from a session, on one page.

Built from the log alone, so it is deterministic (the same log gives the same brief),
bounded (each section keeps its newest entries, each text is cut), and holds only what
the log holds (secrets were redacted before they were written). Every item names the
event it comes from, so the reader can follow it back into the log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sessionlog import SessionLogger, by_time, failure_history, instant_of, open_commitments

TEXT = 240  # characters kept of one text
SECTION = 10  # items kept per section (the newest)


def _cut(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= TEXT else text[: TEXT - 1] + "…"


# where an event's words are: the keys agents and importers use for a message's text
TEXT_KEYS = ("message", "prompt", "text", "content")


def _first_text(data: Any, keys: tuple[str, ...]) -> str:
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), str) and data[key].strip():
                return _cut(data[key])
    return ""


def build_brief(logger: SessionLogger, session_id: str, *, last_actions: int = SECTION) -> dict[str, Any]:
    """The brief of *session_id* as plain data (``render_markdown`` writes it for people)."""
    numbered = list(logger.iter_query_events(session_id))  # read once for every section
    events = by_time(e for _, e in numbered)  # the order things happened, not the order of the lines
    prompts = [e for e in events if e.get("event_type") == "user_message"]

    def ref(event: dict[str, Any]) -> str:
        return str(event.get("event_id"))

    decisions = []
    for e in events:
        if e.get("event_type") != "decision":
            continue
        steps = [s for s in e.get("causal_steps", []) if isinstance(s, dict)]
        reason = _first_text(e.get("data"), ("reasoning", "rationale", "reason", "why")) or (
            _cut(steps[-1].get("reasoning", "")) if steps else ""
        )
        decision = _first_text(e.get("data"), ("decision", "choice", "summary", "message")) or (
            _cut(steps[-1].get("step", "")) if steps else ""
        )
        chosen = {decision.strip().lower(), *(str(s.get("step", "")).strip().lower() for s in steps)}
        said: dict[str, Any] = e["data"] if isinstance(e.get("data"), dict) else {}
        considered = [a for s in steps for a in s.get("alternatives_considered", [])]
        considered += said.get("alternatives", []) if isinstance(said.get("alternatives"), list) else []
        # what was considered and not chosen: the choice itself is not "ruled out"
        ruled_out = [a for a in dict.fromkeys(str(a) for a in considered) if a.strip().lower() not in chosen]
        decisions.append(
            {"decision": decision, "reason": reason, "ruled_out": [_cut(a) for a in ruled_out][:5], "event": ref(e)}
        )
    constraints: dict[str, dict[str, Any]] = {}
    entities: dict[str, dict[str, Any]] = {}
    files: Counter[str] = Counter()
    for e in events:
        for c in e.get("active_constraints", []):
            if isinstance(c, dict) and isinstance(c.get("constraint"), str):
                constraints[c["constraint"]] = {
                    "constraint": _cut(c["constraint"]),
                    "source": _cut(c.get("source", "")),
                    "priority": c.get("priority"),
                    "event": ref(e),
                }
        for name, entity in (e.get("key_entities") or {}).items():
            if isinstance(entity, dict):
                entities[name] = {
                    "name": _cut(name),
                    "type": entity.get("type"),
                    "full_name": _cut(entity.get("full_name", "")),
                    "location": entity.get("location"),
                    "event": ref(e),
                }
        data = e.get("data")
        tool_input = data.get("input") if isinstance(data, dict) else None
        for key in ("file_path", "path"):
            if isinstance(tool_input, dict) and isinstance(tool_input.get(key), str):
                files[tool_input[key]] += 1
    actions = [
        {
            "what": summary_of(e) or str((e.get("provenance") or {}).get("source")),
            "type": e.get("event_type"),
            "agent": (e.get("provenance") or {}).get("agent"),
            "at": e.get("timestamp"),
            "event": ref(e),
        }
        for e in events
        if e.get("event_type") in ("tool_call", "state_change", "error")
    ][-last_actions:]
    handoffs = [e for e in events if isinstance(e.get("data"), dict) and e["data"].get("kind") == "handoff"]
    return {
        "session_id": session_id,
        "events": len(events),
        "agents": sorted({str((e.get("provenance") or {}).get("agent")) for e in events}),
        "first_event_at": events[0].get("timestamp") if events else None,
        "last_event_at": max(events, key=lambda e: instant_of(e) or "").get("timestamp") if events else None,
        "goal": {"text": _first_text(prompts[0].get("data"), TEXT_KEYS), "event": ref(prompts[0])} if prompts else None,
        "latest_requests": [{"text": _first_text(p.get("data"), TEXT_KEYS), "event": ref(p)} for p in prompts[-3:]],
        "decisions": decisions[-SECTION:],
        "open_commitments": [
            {
                "commitment": _cut(c["commitment"]),
                "status": c["status"],
                "due_by": c.get("due_by"),
                "id": c.get("id"),
                "event": c["event"]["event_id"] if isinstance(c.get("event"), dict) else None,
            }
            for c in open_commitments(numbered)
        ][-SECTION:],
        "failures": [
            {
                "attempt": _cut(f.get("attempt", "")),
                "reason": _cut(f.get("failure_reason", "")),
                "event": f["event"]["event_id"] if isinstance(f.get("event"), dict) else None,
            }
            for f in failure_history(numbered)
        ][-SECTION:],
        "active_constraints": list(constraints.values())[-SECTION:],
        "key_entities": sorted(entities.values(), key=lambda x: x["name"])[:SECTION],
        "key_files": [
            {"path": p, "touched": n} for p, n in sorted(files.items(), key=lambda kv: (-kv[1], kv[0]))[:SECTION]
        ],
        "last_actions": actions,
        "last_handoff": {
            "summary": _first_text(handoffs[-1]["data"], ("summary",)),
            "to": handoffs[-1]["data"].get("to_agent"),
            "event": ref(handoffs[-1]),
        }
        if handoffs
        else None,
    }


def summary_of(event: dict[str, Any]) -> str:
    """What an event was about, in a few words: a tool call's tool and what it ran or touched; a
    commit's sha and subject; a handoff's agents; else the first of its text fields, a
    commitment's text, a failure's reason; empty when it has none."""
    data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
    tool_input = data.get("input")
    if isinstance(tool_input, dict):
        what = next(
            (tool_input[k] for k in ("command", "cmd", "file_path", "path", "pattern", "url") if k in tool_input), ""
        )
        return _cut(f"{data.get('tool', '')} {what}".strip())
    if data.get("kind") in ("commit", "merge") and isinstance(data.get("sha"), str):
        return _cut(f"{data['kind']} {data['sha'][:12]} {data.get('subject', '')}".strip())
    if data.get("kind") == "turn_usage":
        usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
        tokens = ", ".join(f"{usage[k]} {k.replace('_tokens', '').replace('_', ' ')}" for k in
                           ("input_tokens", "output_tokens") if isinstance(usage.get(k), int))  # fmt: skip
        return _cut(" ".join(str(x) for x in ("turn usage", data.get("model", ""), tokens) if x))
    if data.get("kind") == "handoff":
        said = _first_text(data, ("summary",))
        return _cut(
            f"handoff {data.get('from_agent', '?')} → {data.get('to_agent', '?')}" + (f": {said}" if said else "")
        )
    text = _first_text(data, ("summary", "decision", "choice", *TEXT_KEYS, "command", "commitment", "reason", "error"))
    if text:
        return text
    for block, key in (("open_commitments", "commitment"), ("failure_ledger", "failure_reason")):
        entries = event.get(block)
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            first = _first_text(entries[0], (key,))
            if first:
                return _cut(first + (f" (+{len(entries) - 1} more)" if len(entries) > 1 else ""))
    return _first_text(data, ("kind",))


def render_markdown(brief: dict[str, Any]) -> str:
    """The brief for people and agents: one page of Markdown, items linked to their events."""
    out = [f"# Session {brief['session_id']}", ""]
    span = f"{brief['first_event_at']} to {brief['last_event_at']}" if brief["events"] else "no events"
    out += [f"{brief['events']} events by {', '.join(brief['agents']) or 'nobody'}; {span}.", ""]

    def section(title: str, items: list[str]) -> None:
        out.extend([f"## {title}", ""] + (items or ["(none)"]) + [""])

    goal = brief["goal"]
    section("Goal", [f"{goal['text']} ({goal['event']})"] if goal else [])
    section("Latest requests", [f"- {r['text']} ({r['event']})" for r in brief["latest_requests"]])
    section(
        "Decisions",
        [
            f"- {d['decision']}"
            + (f" — because {d['reason']}" if d["reason"] else "")
            + (f"; ruled out: {', '.join(d['ruled_out'])}" if d["ruled_out"] else "")
            + f" ({d['event']})"
            for d in brief["decisions"]
        ],
    )
    section(
        "Open commitments",
        [
            f"- [{c['status']}] {c['commitment']}"
            + (f", due {c['due_by']}" if c["due_by"] else "")
            + f" ({c['event']})"
            for c in brief["open_commitments"]
        ],
    )
    section("Failures", [f"- {f['attempt']}: {f['reason']} ({f['event']})" for f in brief["failures"]])
    section(
        "Active constraints",
        [
            f"- {c['constraint']}"
            + (f" [{c['priority']}]" if c["priority"] else "")
            + f" — {c['source']} ({c['event']})"
            for c in brief["active_constraints"]
        ],
    )
    section(
        "Key files and entities",
        [f"- `{f['path']}` (touched {f['touched']}x)" for f in brief["key_files"]]
        + [
            f"- {e['name']}: {e['type']} {e['full_name']}".rstrip()
            + (f" at {e['location']}" if e["location"] else "")
            + f" ({e['event']})"
            for e in brief["key_entities"]
        ],
    )
    section(
        "Last actions",
        [f"- {a['at']} {a['type']} {a['agent']}: {a['what']} ({a['event']})" for a in brief["last_actions"]],
    )
    if brief["last_handoff"]:
        h = brief["last_handoff"]
        section("Last handoff", [f"- to {h['to']}: {h['summary']} ({h['event']})"])
    return "\n".join(out).rstrip() + "\n"
