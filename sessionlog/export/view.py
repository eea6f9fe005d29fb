"""``sessionlog view``: sessions as one self-contained HTML page people look at.

The page holds everything it shows: the events as JSON in a ``<script type="application/json">``
block (every ``<``, ``>`` and ``&`` escaped, so no logged text can close it), one inline script
and one inline style, and a Content-Security-Policy that allows nothing else: no network, no
fonts, no images from anywhere, no script without the page's nonce. It opens from ``file://``.

The script builds the page with ``textContent`` only: what a tool printed (``<script>``,
``<img onerror=...>``, terminal escapes) is shown as text, never parsed as markup. For each
session: a time axis with tool calls as bars (their durations), failures, decisions,
commitments and handoffs as marks; below it one entry per event, in the order things happened,
with its causes (``depends_on``) as links to follow, the commitments' status and the failures'
reasons; filters by agent and event type and a text search. With several sessions, one row per
session with its commits.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from typing import Any

import orjson

from sessionlog import CLOSED_STATUSES, SessionLogger, by_time, failure_history, latest_commitments
from sessionlog.export.brief import summary_of

_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def session_data(logger: SessionLogger, session: str, commits: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """What the page shows of one session, as plain data."""
    numbered = list(logger.iter_query_events(session))
    latest = latest_commitments(numbered)  # each commitment as last stated: its status now
    failures = failure_history(numbered)
    events = []
    for event in by_time(e for _, e in numbered):
        data = event["data"] if isinstance(event.get("data"), dict) else {}
        deps = (event.get("dependencies") or {}).get("depends_on", [])
        item: dict[str, Any] = {
            "id": str(event.get("event_id")),
            "at": str(event.get("timestamp", "")),
            "type": str(event.get("event_type", "")),
            "agent": str((event.get("provenance") or {}).get("agent", "")),
            "source": str((event.get("provenance") or {}).get("source", "")),
            "what": summary_of(event),
            "deps": [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else [],
            "body": event,
        }
        if isinstance(data.get("ended_at"), str):
            item["end"] = data["ended_at"]
        elif isinstance(data.get("duration_ms"), (int, float)) and not isinstance(data.get("duration_ms"), bool):
            item["ms"] = data["duration_ms"]
        if event.get("event_type") == "error" or (event.get("failure_ledger") and data.get("kind") != "handoff"):
            item["failed"] = True
        if data.get("kind") == "handoff":
            item["handoff"] = f"{data.get('from_agent', '?')} → {data.get('to_agent', '?')}"
        commitments = [c for c in event.get("open_commitments", []) if isinstance(c, dict)]
        if commitments:
            item["commitments"] = [
                {
                    "text": str(c.get("commitment", "")),
                    "status": str(c.get("status", "pending")),
                    "open": now.get("status") not in CLOSED_STATUSES,
                    "now": str(now.get("status", "pending")),
                }
                for c in commitments
                for now in [latest.get(str(c.get("id") or c.get("commitment")), c)]
            ]
        events.append(item)
    return {"session": session, "events": events, "failures": len(failures), "commits": list(commits)}


def page(sessions: list[dict[str, Any]], *, title: str) -> str:
    """The HTML page of *sessions* (``session_data`` of each)."""
    nonce = secrets.token_urlsafe(16)
    data = orjson.dumps({"title": title, "sessions": sessions}, default=str).decode().translate(_ESCAPES)
    policy = f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'none'"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{html.escape(title)}</title>\n<style nonce="{nonce}">{_STYLE}</style></head>\n'
        '<body data-ready="no"><header><h1 id="title"></h1><div id="controls">'
        '<label>agent <select id="agent"><option value="">all</option></select></label> '
        '<span id="types"></span> <input id="search" type="search" placeholder="search the events">'
        ' <span id="shown"></span></div></header><main id="sessions"></main>\n'
        f'<script type="application/json" id="data">{data}</script>\n'
        f'<script nonce="{nonce}">{_SCRIPT}</script>\n</body></html>\n'
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 16px;z-index:2}
h1{font-size:16px;margin:0 0 6px} #types label{margin-right:8px} #search{width:18em}
section.session{margin:12px 16px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px}
section.session h2{font-size:15px;margin:4px 0} .meta{color:#555;font-size:12px}
.axis{position:relative;height:44px;border-bottom:1px solid #ccc;margin:8px 0;background:#f4f6f8}
.mark{position:absolute;top:14px;height:14px;min-width:2px;background:#5b8def;border-radius:2px;opacity:.85}
.mark.failed{background:#d93025;top:4px;height:36px;width:2px} .mark.decision{background:#188038;top:6px}
.mark.commitment{background:#f9ab00;top:30px;height:8px} .mark.handoff{background:#8430ce;top:0;height:44px;width:3px}
.mark.user_message{background:#444;top:0;height:10px}
ol.events{list-style:none;margin:0;padding:0;font-size:13px}
li.event{content-visibility:auto;contain-intrinsic-size:auto 22px;display:grid;grid-template-columns:12em 9em 8em 1fr;gap:6px;padding:2px 4px;border-top:1px solid #eee}
li.event.failed{background:#fdecea} li.event:target{outline:2px solid #5b8def}
li.event .what{white-space:pre-wrap;word-break:break-word} .deps a{margin-right:6px;font-size:11px}
.commitments{grid-column:4;font-size:12px} .open{color:#b06000} .closed{color:#188038}
details{grid-column:1/-1} pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:6px;margin:2px 0}
.commits{font-size:12px;margin:2px 0 6px} .commits code{background:#eef;padding:0 3px}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var errors = 0;
  window.addEventListener("error", function () { errors += 1; document.body.dataset.errors = String(errors); });
  var started = performance.now();
  var data = JSON.parse(document.getElementById("data").textContent);
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function ms(stamp) { var t = Date.parse(stamp); return isNaN(t) ? null : t; }
  document.getElementById("title").textContent = data.title;
  document.title = data.title;
  var agents = {}, types = {}, entries = [];
  var main = document.getElementById("sessions");
  data.sessions.forEach(function (s) {
    var section = el("section", "session");
    section.appendChild(el("h2", "", s.session));
    var times = [];
    s.events.forEach(function (e) {
      var a = ms(e.at); if (a !== null) times.push(a);
      var b = e.end ? ms(e.end) : (a !== null && e.ms ? a + e.ms : null); if (b !== null) times.push(b);
    });
    var t0 = times.length ? Math.min.apply(null, times) : 0, t1 = times.length ? Math.max.apply(null, times) : 1;
    var span = Math.max(t1 - t0, 1);
    var who = {};
    s.events.forEach(function (e) { if (e.agent && e.agent !== "user") who[e.agent] = 1; });
    section.appendChild(el("div", "meta", s.events.length + " events · " + Object.keys(who).join(", ") + " · " +
      s.failures + " failure(s)" + (times.length ? " · " + new Date(t0).toISOString() + " to " +
      new Date(t1).toISOString() : "")));
    if (s.commits.length) {
      var commits = el("div", "commits", "commits: ");
      s.commits.forEach(function (c) {
        commits.appendChild(el("code", "", c.sha.slice(0, 12)));
        commits.appendChild(document.createTextNode(" " + (c.subject || "") + "  "));
      });
      section.appendChild(commits);
    }
    var axis = el("div", "axis");
    section.appendChild(axis);
    var list = el("ol", "events");
    s.events.forEach(function (e) {
      agents[e.agent] = 1; types[e.type] = 1;
      var a = ms(e.at);
      var kind = e.failed ? "failed" : (e.handoff ? "handoff" : e.type);
      if (a !== null) {
        var mark = el("a", "mark " + kind);
        mark.href = "#e-" + e.id;
        mark.title = e.type + " " + e.what;
        var b = e.end ? ms(e.end) : (e.ms ? a + e.ms : a);
        mark.style.left = (100 * (a - t0) / span) + "%";
        if (e.type === "tool_call" && b !== null && b > a) mark.style.width = Math.max(100 * (b - a) / span, 0.2) + "%";
        axis.appendChild(mark);
      }
      var li = el("li", "event" + (e.failed ? " failed" : ""));
      li.id = "e-" + e.id;
      li.dataset.agent = e.agent; li.dataset.type = e.type;
      li.appendChild(el("span", "at", e.at.replace("T", " ").slice(0, 23)));
      li.appendChild(el("span", "type", e.type + (e.failed && e.type !== "error" ? " ✗" : "")));
      li.appendChild(el("span", "agent", e.agent));
      var what = el("span", "what", (e.handoff ? "handoff " + e.handoff + ": " : "") + (e.what || e.source));
      if (e.end || e.ms) {
        var dur = e.end ? ms(e.end) - a : e.ms;
        if (dur !== null && !isNaN(dur)) what.appendChild(el("span", "meta", "  (" + (dur / 1000).toFixed(3) + " s)"));
      }
      if (e.deps.length) {
        var deps = el("span", "deps", "  ← ");
        e.deps.forEach(function (d) { var link = el("a", "", d.slice(-8)); link.href = "#e-" + d; deps.appendChild(link); });
        what.appendChild(deps);
      }
      li.appendChild(what);
      if (e.commitments) {
        var box = el("div", "commitments");
        e.commitments.forEach(function (c) {
          box.appendChild(el("div", c.open ? "open" : "closed", (c.open ? "◻ " : "☑ ") + c.status + (c.now && c.now !== c.status ? " (now " + c.now + ")" : "") + ": " + c.text));
        });
        li.appendChild(box);
      }
      var details = el("details");
      details.appendChild(el("summary", "", "event"));
      details.addEventListener("toggle", function () {
        if (details.open && details.childNodes.length === 1) details.appendChild(el("pre", "", JSON.stringify(e.body, null, 2)));
      });
      li.appendChild(details);
      li.searchText = (e.type + " " + e.agent + " " + e.source + " " + e.what + " " + e.id).toLowerCase();
      entries.push(li);
      list.appendChild(li);
    });
    section.appendChild(list);
    main.appendChild(section);
  });
  var select = document.getElementById("agent");
  Object.keys(agents).sort().forEach(function (a) { var o = el("option", "", a); o.value = a; select.appendChild(o); });
  var typeBox = document.getElementById("types");
  var checks = [];
  Object.keys(types).sort().forEach(function (t) {
    var label = el("label"); var box = el("input"); box.type = "checkbox"; box.checked = true; box.value = t;
    label.appendChild(box); label.appendChild(document.createTextNode(" " + t)); typeBox.appendChild(label);
    checks.push(box);
  });
  var search = document.getElementById("search"), shown = document.getElementById("shown");
  function apply() {
    var agent = select.value, needle = search.value.toLowerCase(), allowed = {}, count = 0;
    checks.forEach(function (c) { if (c.checked) allowed[c.value] = 1; });
    entries.forEach(function (li) {
      var ok = (!agent || li.dataset.agent === agent) && allowed[li.dataset.type] &&
        (!needle || li.searchText.indexOf(needle) >= 0);
      li.hidden = !ok; if (ok) count += 1;
    });
    shown.textContent = count + " of " + entries.length + " events";
  }
  select.addEventListener("change", apply); search.addEventListener("input", apply);
  checks.forEach(function (c) { c.addEventListener("change", apply); });
  apply();
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  document.body.dataset.errors = String(errors);
  document.body.dataset.ready = "yes";
  // the first frame drawn with the entries: milliseconds since navigation started (benchmarks/)
  requestAnimationFrame(function () {
    setTimeout(function () { document.body.dataset.paintedMs = String(Math.round(performance.now())); }, 0);
  });
})();
"""
