"""Secret redaction, run on every event before it is written.

An append-only log that is committed can never be cleaned, so secrets are
removed before the first byte reaches disk. Two passes keep this cheap: one
RE2 search over the serialized event (a sound superset of every default
pattern, in JSON encoding), and only when it fires, a walk over the event's
strings with the exact patterns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ._jsonpath import json_path


class SecretPattern(NamedTuple):
    """A kind of secret and the regular expression (Python syntax) that finds it.

    If the pattern has a group named ``secret``, only that group is replaced;
    otherwise the whole match is.
    """

    kind: str
    regex: str


_ASSIGN_KEYS = r"pass(?:wd|word|phrase)?|pwd|secret|client_secret|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token|token|private[_-]?key"

DEFAULT_SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    SecretPattern("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    SecretPattern(
        "aws_secret_access_key", r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})"
    ),
    SecretPattern("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    SecretPattern("anthropic_api_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    SecretPattern("openai_api_key", r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    SecretPattern("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    SecretPattern("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),
    SecretPattern("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    SecretPattern("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    SecretPattern("bearer_token", r"(?i)\b(?:bearer|token)\s+(?P<secret>(?!\[REDACTED)[A-Za-z0-9._~+/-]{20,}=*)"),
    SecretPattern(
        "assignment",
        rf"(?i)(?:\b|_)(?:{_ASSIGN_KEYS})\b[\"']?\s*[:=]\s*(?P<q>[\"']?)(?P<secret>(?!\[REDACTED)[^\s\"',;&]{{3,}})",
    ),
)


# Sound superset of DEFAULT_SECRET_PATTERNS as they appear in orjson output
# (token characters are never escaped; quotes become \" and whitespace \n, \t).
# Provider prefixes are case-sensitive, as their patterns are: a case-blind
# "ACCA" would fire on one lowercase hex event id in ~200.
@functools.cache
def default_trigger() -> Any:
    """The compiled prefilter (RE2 is imported on first use: hooks that never redact skip it)."""
    import re2

    return re2.compile(
        rb"-----BEGIN|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|sk-|xox[abposr]-|hooks\.slack|AIza|eyJ"
        rb"|(?i:aws_?secret|(?:bearer|token)(?:\s|\\[nrt])|(?:"
        + _ASSIGN_KEYS.encode()
        + rb"|authorization|cookie)(?:\\?[\"']|\s|\\[nrt])*[:=])"
    )


# Keys whose string value is a secret whatever it looks like.
_SECRET_KEY = re.compile(rf"(?i)(?:^|[_-])(?:{_ASSIGN_KEYS}|authorization|cookie|set-cookie)$")


def _mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


class Redactor:
    """Replace secrets in an event's strings and say where they were."""

    def __init__(self, patterns: Iterable[SecretPattern] = DEFAULT_SECRET_PATTERNS) -> None:
        self.patterns: Sequence[tuple[str, re.Pattern[str]]] = [(p.kind, re.compile(p.regex)) for p in patterns]
        default = tuple(patterns) == DEFAULT_SECRET_PATTERNS if isinstance(patterns, tuple) else False
        self._trigger = default_trigger() if default else None

    def might_contain_secret(self, encoded: bytes) -> bool:
        """Cheap test on the serialized event; False means certainly clean."""
        if self._trigger is None:
            return True
        return self._trigger.search(encoded) is not None

    def redact(self, event: dict[str, Any]) -> list[dict[str, str]]:
        """Redact *event* in place; return ``[{"path", "kind"}, ...]`` of what was removed."""
        found: list[dict[str, str]] = []
        for key, value in list(event.items()):
            if key in ("event_id", "timestamp", "session_id", "redactions"):
                continue
            event[key] = self._walk(value, (key,), found)
        return found

    def _walk(self, value: Any, path: tuple[str | int, ...], found: list[dict[str, str]]) -> Any:
        if isinstance(value, str):
            return self._scrub(value, path, found)
        if isinstance(value, dict):
            out = {}
            for key, child in value.items():
                if isinstance(key, str) and isinstance(child, str) and child and _SECRET_KEY.search(key):
                    if child.startswith("[REDACTED"):
                        out[key] = child
                    else:
                        found.append({"path": json_path((*path, key)), "kind": "secret_field"})
                        out[key] = _mask("secret_field")
                else:
                    out[key] = self._walk(child, (*path, key), found)
            return out
        if isinstance(value, (list, tuple)):
            return [self._walk(child, (*path, i), found) for i, child in enumerate(value)]
        return value

    def _scrub(self, text: str, path: tuple[str | int, ...], found: list[dict[str, str]]) -> str:
        for kind, pattern in self.patterns:
            if pattern.search(text) is None:
                continue
            mask = _mask(kind)

            def replace(match: re.Match[str], mask: str = mask) -> str:
                if "secret" in (match.re.groupindex or {}):
                    start, end = match.span("secret")
                    whole_start = match.start()
                    return match.group(0)[: start - whole_start] + mask + match.group(0)[end - whole_start :]
                return mask

            text = pattern.sub(replace, text)
            found.append({"path": json_path(path), "kind": kind})
        return text
