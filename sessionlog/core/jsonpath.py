"""JSON-path strings for error messages, and the JSON-representability check."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_DEPTH = 64
_INT64 = (-(2**63), 2**64 - 1)


def json_path(parts: Iterable[str | int]) -> str:
    """Render path parts as ``$.data.items[2]`` (check-jsonschema's notation)."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def unrepresentable(value: Any, path: tuple[str | int, ...] = ()) -> str | None:
    """Return ``"$.path: why"`` for the first value JSON cannot carry, else None.

    JSON has no NaN or Infinity, object keys are strings, and integers beyond
    64 bits are not portable; anything that is not a dict, list, tuple, str,
    int, float, bool or None has no JSON form at all.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            return f"{json_path(where)}: nested deeper than {MAX_DEPTH} levels"
        if item is None or isinstance(item, (str, bool)):
            continue
        if isinstance(item, int):
            if not _INT64[0] <= item <= _INT64[1]:
                return f"{json_path(where)}: integer {item} does not fit in 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{json_path(where)}: {item!r} is not a JSON number (JSON has no NaN or Infinity)"
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return (
                        f"{json_path(where)}: key {key!r} is a {type(key).__name__}; JSON object keys must be strings"
                    )
                stack.append((child, (*where, key)))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
        else:
            return f"{json_path(where)}: a {type(item).__name__} has no JSON representation"
    return None
