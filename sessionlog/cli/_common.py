"""What the commands share: where the sessions are, JSON in and out."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from sessionlog.core.logger import SessionLogger
from sessionlog.errors import UsageError


def out_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def dir_of(args: argparse.Namespace) -> Path | None:
    """The sessions folder ``--dir`` names, or None for the default."""
    return Path(args.dir) if args.dir else None


def json_arg(name: str, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"--{name.replace('_', '-')}: not valid JSON: {exc}") from None


def logger_of(args: argparse.Namespace) -> SessionLogger:
    return SessionLogger(dir_of(args))


def repo_root() -> Path:
    from sessionlog.git import exe as _git

    root = _git.toplevel()
    if root is None:
        raise UsageError("not inside a git work tree")
    return root


def for_people() -> bool:
    """Colour and tables: on a terminal, unless NO_COLOR is set, when rich is installed
    (``pip install 'agent-sessionlog[color]'``). Piped output stays plain text."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return False
    return importlib.util.find_spec("rich") is not None


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """A table for people: columns padded to their widest cell; the first row is the header."""
    if for_people():
        from rich.console import Console
        from rich.table import Table

        table = Table(*rows[0], header_style="bold", box=None)
        for row in rows[1:]:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
