"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]
"""One decoded session line: a JSON object."""
