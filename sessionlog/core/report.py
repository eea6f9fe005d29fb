"""Printing findings: ``path:LINE: message`` for people, annotations for GitHub, JSON for machines."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TextIO

import orjson

from sessionlog.core.verify import Finding, printable

FORMATS = ("text", "github", "json")


def default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def render(
    findings: Sequence[Finding],
    fmt: str,
    out: TextIO | None = None,
    *,
    files: Sequence[dict[str, object]] | None = None,
) -> None:
    """The one report shape of the hook, ``ci`` and ``verify``: ``path:LINE: message`` lines,
    GitHub annotations, or ``{"ok", "findings": [{"path", "line", "message"}]}`` (with *files*,
    what was checked per file, as ``"files"``)."""
    out = out or sys.stdout  # looked up now: callers may have redirected it
    if fmt == "json":
        rows = [{"path": printable(f.path), "line": f.line or None, "message": f.message} for f in findings]
        document: dict[str, object] = {"ok": not findings, "findings": rows}
        if files is not None:
            document["files"] = list(files)
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for f in findings:
        if fmt == "github":
            where = f"file={_escape(printable(f.path), property_value=True)}" + (f",line={f.line}" if f.line else "")
            out.write(f"::error {where},title=sessionlog::{_escape(f.message)}\n")
        else:
            out.write((f"{f}" if f.line else f"{printable(f.path)}: {f.message}") + "\n")


# Control characters (C0 but newline and tab, DEL, C1) and the Unicode controls that reorder or
# hide text: a log holds what tools printed, and a terminal obeys what it is sent (clear the
# screen, write the clipboard, hide text, make links).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """*text* safe to print on a terminal: every control character shown as its escape
    (``\\x1b``, ``\\u202e``), newlines and tabs kept."""
    return _CONTROLS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
