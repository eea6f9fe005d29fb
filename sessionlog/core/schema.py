"""The event schema: loading it and checking events against it.

A compiled validator (jsonschema-rs) decides; the reference implementation
(jsonschema) is imported only when an event fails, to explain why.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sessionlog.core.jsonpath import json_path, unrepresentable
from sessionlog.errors import ConfigError

SCHEMA_RESOURCE = "session-event.schema.json"
# The event's optional blocks, in the order append_event takes them.
OPTIONAL_BLOCKS = (
    "data",
    "causal_steps",
    "active_constraints",
    "failure_ledger",
    "open_commitments",
    "key_entities",
    "dependencies",
)


@functools.lru_cache(maxsize=1)
def builtin_schema() -> dict[str, Any]:
    """Return the schema shipped inside the package."""
    # A plain path, not importlib.resources: it costs hooks ~7 ms of imports, and
    # the package is always installed as files (hatch builds no zipped wheels).
    text = (Path(__file__).parents[1] / "schemas" / SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class SchemaError(ConfigError):
    """A schema file that cannot be loaded or is not a valid JSON Schema."""


_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


def outside_references(schema: Any, where: str = "$") -> list[str]:
    """``"<path>: <reference>"`` for each reference that leaves the schema document.

    A schema a repository carries is written by whoever wrote the repository:
    a reference to ``http://...`` or ``file://...`` would make every hook and CI
    run fetch it (and echo what came back). Only ``#...`` references inside the
    document are followed.
    """
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(schema, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _REF_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
                    found.append(f"{path}.{key}: {value}")
                elif isinstance(value, (dict, list)):
                    stack.append((value, f"{path}.{key}"))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node))
    return sorted(found)


def _has_patterns(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(k in ("pattern", "patternProperties") or _has_patterns(v) for k, v in schema.items())
    return isinstance(schema, list) and any(_has_patterns(v) for v in schema)


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"sessionlog never retrieves schema resources ({uri})")


class EventSchema:
    """One JSON Schema, compiled, with human-readable failure messages.

    Compiled offline (nothing is ever retrieved) and with a linear-time regex
    engine for ``pattern``, so a schema from a stranger's repository can neither
    reach the network nor stall a check.
    """

    def __init__(self, schema: dict[str, Any], *, name: str = "the event schema") -> None:
        self.schema = schema
        self.name = name
        outside = outside_references(schema)
        if outside:
            raise SchemaError(
                f"{name}: references outside the schema are refused (sessionlog never fetches URLs or reads "
                f"other files): {', '.join(outside[:5])}; put the definitions under $defs and refer to them as #/$defs/..."
            )
        import jsonschema_rs  # deferred: importing it costs a hook that never validates ~11 ms

        try:
            self._fast = jsonschema_rs.validator_for(
                schema,
                validate_formats=True,
                retriever=_refuse_retrieval,
                # ours may look ahead; a repository's gets the linear-time engine
                pattern_options=None if name == _BUILTIN_NAME else jsonschema_rs.RegexOptions(),
            )
        except (ValueError, jsonschema_rs.ValidationError) as exc:
            raise SchemaError(f"{name} is not a valid JSON Schema: {_first_line(exc)}") from exc

    @classmethod
    def from_file(cls, path: Path) -> EventSchema:
        try:
            schema = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaError(f"{path}: cannot load schema: {exc}") from exc
        if not isinstance(schema, dict):
            raise SchemaError(f"{path}: a schema must be a JSON object")
        return cls(schema, name=str(path))

    def is_valid(self, event: Any) -> bool:
        try:
            return bool(self._fast.is_valid(event))
        except ValueError:  # a value jsonschema-rs cannot even convert (non-str key)
            return False

    def error(self, event: Any) -> str | None:
        """Return ``"$.path: message"`` for an invalid event (the best match), None for a valid one."""
        found = self.errors(event, best_only=True)
        return found[0] if found else None

    def errors(self, event: Any, *, best_only: bool = False) -> list[str]:
        """Every ``"$.path: message"`` of an invalid event, in document order (as check-jsonschema
        reports them); none for a valid one."""
        if self.is_valid(event):
            return []
        problem = unrepresentable(event)
        if problem is not None:
            return [problem]
        return self._explain(event, best_only=best_only) or [f"rejected by {self.name}"]

    def _explain(self, event: Any, *, best_only: bool) -> list[str]:
        if self.name != _BUILTIN_NAME and _has_patterns(self.schema):
            # a repository's patterns are not run through Python's backtracking re
            fast = [f"{json_path(e.instance_path)}: {e.message}" for e in self._fast.iter_errors(event)]
            return fast[:1] if best_only else fast
        import jsonschema  # deferred: ~90 ms to import, needed only for messages

        cls = jsonschema.validators.validator_for(self.schema)
        validator = cls(self.schema, format_checker=cls.FORMAT_CHECKER)
        if best_only:
            best = jsonschema.exceptions.best_match(validator.iter_errors(event))
            return [] if best is None else [f"{json_path(best.absolute_path)}: {best.message}"]
        ordered = sorted(validator.iter_errors(event), key=lambda e: [str(p) for p in e.absolute_path])
        return [f"{json_path(e.absolute_path)}: {e.message}" for e in ordered]


class SchemaSet:
    """The built-in schema plus, optionally, a repository's own on top of it."""

    def __init__(self, extra: EventSchema | None = None) -> None:
        self.builtin = _builtin_event_schema()
        self.extra = extra

    def is_valid(self, event: Any) -> bool:
        """The fast verdict; ``error`` explains a False."""
        return self.builtin.is_valid(event) and (self.extra is None or self.extra.is_valid(event))

    def error(self, event: Any) -> str | None:
        problem = self.builtin.error(event)
        if problem is None and self.extra is not None:
            problem = self.extra.error(event)
            if problem is not None:
                problem = f"{problem} (rule of {self.extra.name})"
        return problem

    def errors(self, event: Any) -> list[str]:
        """Every schema error of *event*: the built-in schema's, then the repository's."""
        found = self.builtin.errors(event)
        if self.extra is not None:
            found += [f"{problem} (rule of {self.extra.name})" for problem in self.extra.errors(event)]
        return found


@functools.lru_cache(maxsize=1)
def _builtin_event_schema() -> EventSchema:
    return EventSchema(builtin_schema(), name=_BUILTIN_NAME)


_BUILTIN_NAME = "the built-in event schema"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_schemas(repo_schema: Path | None) -> SchemaSet:
    """Return the schemas an event must pass: built-in, plus *repo_schema* if it exists."""
    if repo_schema is not None and repo_schema.is_file():
        extra = EventSchema.from_file(repo_schema)
        if _old_id_patterns(extra.schema):
            raise SchemaError(
                f"{repo_schema} is the original implementation's schema: its event_id pattern "
                f"{ORIGINAL_ID_PATTERN} refuses the 32-digit ids sessionlog writes, so every append would fail. "
                "Run `sessionlog migrate` to widen it (every other rule is kept)."
            )
        return SchemaSet(extra)
    return SchemaSet()


ORIGINAL_ID_PATTERN = "^evt_[0-9a-f]{8}$"


def _old_id_patterns(schema: Any) -> list[dict[str, Any]]:
    """The ``event_id`` property schemas that carry the original implementation's pattern."""
    found: list[dict[str, Any]] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                event_id = props.get("event_id")
                if isinstance(event_id, dict) and event_id.get("pattern") == ORIGINAL_ID_PATTERN:
                    found.append(event_id)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def migrate_schema_file(path: Path) -> list[str]:
    """Upgrade a repository schema written for the original implementation in place; return
    what changed (nothing when there is nothing to migrate). Every other rule is kept."""
    try:
        schema = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{path}: cannot load schema: {exc}") from exc
    old = _old_id_patterns(schema)
    if not old:
        return []
    wide = builtin_schema()["properties"]["event_id"]["pattern"]
    for event_id in old:
        event_id["pattern"] = wide
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".migrating", dir=path.parent)  # O_EXCL, never a link
    with open(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return [f"{path}: event_id pattern {ORIGINAL_ID_PATTERN} widened to {wide} ({len(old)} place(s))"]


BLOCKS_START = "<!-- optional blocks: generated from the schema by `python -m sessionlog.core.schema`; do not edit -->"
BLOCKS_END = "<!-- end of optional blocks -->"


def blocks_markdown() -> str:
    """The shape of each optional block, as a Markdown table generated from the built-in schema."""
    props = builtin_schema()["properties"]
    rows = ["| block | shape | fields (required in bold) |", "|---|---|---|"]
    for name in OPTIONAL_BLOCKS:
        block = props[name]
        if block.get("type") == "array":
            shape, item = "list of objects", block["items"]
        elif "additionalProperties" in block and isinstance(block["additionalProperties"], dict):
            shape, item = "object: name -> object", block["additionalProperties"]
        else:
            shape, item = "object", block
        fields = [
            _field(key, spec, key in item.get("required", [])) for key, spec in item.get("properties", {}).items()
        ]
        rows.append(f"| `{name}` | {shape} | {', '.join(fields) or 'free-form'} |")
    return "\n".join(rows)


def _field(name: str, spec: dict[str, Any], required: bool) -> str:
    kind = spec.get("type", "any")
    if kind == "array":
        kind = f"list of {spec.get('items', {}).get('type', 'any')}"
    if "enum" in spec:
        kind = " \\| ".join(str(v) for v in spec["enum"])
    if spec.get("format"):
        kind += f" ({spec['format']})"
    label = f"**`{name}`**" if required else f"`{name}`"
    return f"{label}: {kind}"


def _write_blocks_into_readme(readme: Path) -> None:
    text = readme.read_text("utf-8")
    start, end = text.index(BLOCKS_START), text.index(BLOCKS_END)
    readme.write_text(text[: start + len(BLOCKS_START)] + "\n" + blocks_markdown() + "\n" + text[end:], "utf-8")


if __name__ == "__main__":
    _write_blocks_into_readme(Path(__file__).resolve().parents[2] / "README.md")
