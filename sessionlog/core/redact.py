"""Secret detection and redaction, run on every event before it is written.

An append-only log that is committed can never be cleaned, so secrets are
removed before the first byte reaches disk. The rules are gitleaks' default
rule set (``rules/gitleaks.toml``, MIT, see ``rules/LICENSE-gitleaks``) plus
sessionlog's own (``rules/sessionlog.toml``), in gitleaks' format: an RE2
regex, keywords, an entropy floor and allowlists per rule.

Every regex runs on RE2, so no input makes a rule slower than linear. Rules
are keyword-gated as in gitleaks: one RE2 set search over the serialized
event finds which keywords occur; no keyword, no walk (the ordinary event).
Otherwise every string of the event — keys, values, the source — is searched
with the RE2 set again, and only the rules whose keywords it holds run. A
rule's regex is compiled the first time one of its keywords is seen.

Values under secret-named keys (``password``, ``dbPassword``,
``client_secret``...) are masked whatever their type.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from sessionlog.core.jsonpath import json_path
from sessionlog.errors import ConfigError


class SecretPattern(NamedTuple):
    """An extra kind of secret: a regular expression in RE2 syntax, run on every string.

    If the pattern has a group named ``secret``, only that group is replaced;
    otherwise the whole match is.
    """

    kind: str
    regex: str


# Extra patterns a SessionLogger applies by default: none; the rule files are the defaults.
DEFAULT_SECRET_PATTERNS: tuple[SecretPattern, ...] = ()

BUNDLED_RULES = ("gitleaks.toml", "sessionlog.toml")
_RULES_DIR = Path(__file__).parents[1] / "rules"

# Keys whose value is a secret whatever it holds: the last word of the key, in any of
# snake_case, kebab-case, dotted or camelCase, is one of these.
_SECRET_KEY_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "accesskey",
    "access_key",
    "privatekey",
    "private_key",
    "secretkey",
    "secret_key",
    "authorization",
    "cookie",
    "set-cookie",
    "credentials",
)
_SECRET_KEY = (
    r"(?:^|[_.\- ])(?:pass(?:wd|word|phrase)?|pwd|secret|token|api_?key|access_?key|private_?key|secret_?key"
    r"|authorization|(?:set-)?cookie|credentials?)$"
)


@functools.lru_cache(maxsize=4096)  # keys repeat from event to event
def is_secret_key(key: str) -> bool:
    """``dbPassword``, ``client_secret``, ``X-Api-Key``, ``refreshToken``: yes; ``max_tokens``: no."""
    snake = _compiled(r"([a-z0-9])([A-Z])").sub(r"\1_\2", key).lower()
    return _compiled(_SECRET_KEY).search(snake) is not None


def mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


@dataclass(frozen=True)
class Allowlist:
    """gitleaks' per-rule allowlist: a finding is dropped when its criteria hold (any, or all with AND)."""

    regexes: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    target: str = "secret"  # "secret", "match" or "line"
    condition: str = "OR"

    def allows(self, secret: str, match: str, line: str) -> bool:
        checks: list[bool] = []
        if self.regexes:
            text = {"match": match, "line": line}.get(self.target, secret)
            checks.append(any(_compiled(r).search(text) is not None for r in self.regexes))
        if self.stopwords:
            lowered = secret.lower()
            checks.append(any(word in lowered for word in self.stopwords))
        if not checks:
            return False
        return all(checks) if self.condition.upper() == "AND" else any(checks)


@dataclass(frozen=True)
class Rule:
    id: str
    regex: str
    keywords: tuple[str, ...] = ()
    entropy: float | None = None
    secret_group: int = 0
    allowlists: tuple[Allowlist, ...] = ()


@functools.cache
def _compiled(regex: str) -> Any:
    import re2

    return re2.compile(regex)


@functools.cache
def _compiled_bytes(regex: str) -> Any:
    """*regex* for searching UTF-8 bytes (the RE2 wrapper searches bytes without re-encoding them)."""
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(regex.encode(), options=options)


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


class RuleError(ConfigError):
    """A rule file that cannot be used."""


def read_toml(text: str, origin: str) -> dict[str, Any]:
    import tomllib  # only for a repository's own rules: the bundled ones are read as JSON

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{origin}: not TOML: {exc}") from exc


def bundled_documents() -> dict[str, Any]:
    """The bundled rule files as parsed documents. They are read from ``rules/bundled.json``,
    which ``python -m sessionlog.core.redact`` regenerates from the TOML files (parsing 3,000
    lines of TOML would cost every commit ~30 ms)."""
    return dict(orjson.loads((_RULES_DIR / "bundled.json").read_bytes()))


def parse_rules(
    doc: dict[str, Any], origin: str, *, compile_now: bool, lines: Sequence[int] = ()
) -> tuple[list[Rule], set[str], Allowlist | None]:
    """The rules of one gitleaks-format document, the rule ids its ``[extend] disabledRules``
    names, and its global allowlist. Bundled rules are compiled when first needed; a user's
    file (*compile_now*) is checked whole now, every regex compiled and every field's type,
    so a bad file is reported when it is loaded (``origin:LINE: what``, *lines* being where
    each ``[[rules]]`` table starts), never in the middle of an append."""
    rules: list[Rule] = []
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RuleError(f"{origin}: rules must be [[rules]] tables")
    for number, raw in enumerate(raw_rules, 1):
        where = f"{origin}:{lines[number - 1]}" if number <= len(lines) else origin
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise RuleError(f"{where}: rule {number} has no id")
        if compile_now:
            _check_rule(raw, f"{where}: rule {raw['id']}")
        if "path" in raw or "regex" not in raw:
            continue  # file-path rules: an event has no path
        allows = tuple(_allowlist(a) for a in raw.get("allowlists", []) if not a.get("paths") or a.get("regexes"))
        rules.append(
            Rule(
                raw["id"],
                raw["regex"],
                tuple(str(k).lower() for k in raw.get("keywords", [])),
                float(raw["entropy"]) if "entropy" in raw else None,
                int(raw.get("secretGroup", 0)),
                allows,
            )
        )
    extend = doc.get("extend", {})
    disabled = extend.get("disabledRules", []) if isinstance(extend, dict) else None
    if compile_now and not _strings(disabled):
        raise RuleError(f"{origin}: [extend] disabledRules must be a list of rule ids")
    glob = doc.get("allowlist")
    if compile_now and glob is not None:
        _check_allowlist(glob, f"{origin}: [allowlist]")
    return rules, set(disabled or []), _allowlist(glob) if isinstance(glob, dict) else None


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_regex(regex: object, where: str) -> None:
    if not isinstance(regex, str):
        raise RuleError(f"{where}: a regex must be a string, not {type(regex).__name__}")
    try:
        _compiled(regex)
    except Exception as exc:  # re2.error
        raise RuleError(f"{where}: not an RE2 regex: {exc}") from exc


def _check_rule(raw: dict[str, Any], where: str) -> None:
    """Every field a rule may have, of the type gitleaks gives it (a user's file is checked whole)."""
    if "regex" in raw:
        _check_regex(raw["regex"], where)
    if not _strings(raw.get("keywords", [])):
        raise RuleError(f"{where}: keywords must be a list of strings")
    entropy = raw.get("entropy", 0)
    if isinstance(entropy, bool) or not isinstance(entropy, int | float):
        raise RuleError(f"{where}: entropy must be a number")
    group = raw.get("secretGroup", 0)
    if isinstance(group, bool) or not isinstance(group, int) or group < 0:
        raise RuleError(f"{where}: secretGroup must be a whole number")
    allowlists = raw.get("allowlists", [])
    if not isinstance(allowlists, list):
        raise RuleError(f"{where}: allowlists must be [[rules.allowlists]] tables")
    for index, allow in enumerate(allowlists, 1):
        _check_allowlist(allow, f"{where}: allowlist {index}")


def _check_allowlist(raw: object, where: str) -> None:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: must be a table")
    for key in ("regexes", "stopwords", "paths"):
        if not _strings(raw.get(key, [])):
            raise RuleError(f"{where}: {key} must be a list of strings")
    for regex in raw.get("regexes", []):
        _check_regex(regex, where)
    if raw.get("regexTarget", "secret") not in ("secret", "match", "line"):
        raise RuleError(f"{where}: regexTarget must be secret, match or line")
    if raw.get("condition", "OR") not in ("OR", "AND"):
        raise RuleError(f"{where}: condition must be OR or AND")


def _allowlist(raw: dict[str, Any]) -> Allowlist:
    return Allowlist(
        tuple(raw.get("regexes", [])),
        tuple(str(w).lower() for w in raw.get("stopwords", [])),
        str(raw.get("regexTarget", "secret")),
        str(raw.get("condition", "OR")),
    )


def rule_lines(text: str) -> list[int]:
    """The line each ``[[rules]]`` table of a TOML text starts on, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*rules\s*\]\]", line)]


@dataclass(eq=False)  # hashed by identity: results are cached per rule set
class RuleSet:
    """Rules indexed by keyword, with one RE2 set that finds the keywords."""

    rules: list[Rule]
    allowlist: Allowlist | None = None
    _ungated: list[Rule] = field(init=False, default_factory=list)
    _by_keyword: list[list[Rule]] = field(init=False, default_factory=list)
    _keywords: Any = field(init=False, default=None)
    _words: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        import re2

        index: dict[str, int] = {}
        options = re2.Options()
        options.case_sensitive = False
        self._keywords = re2.Set.SearchSet(options)
        for word in [*_SECRET_KEY_WORDS]:  # a secret-named key wakes the walk too
            index.setdefault(word, self._keywords.Add(re2.escape(word)))
        for rule in self.rules:
            if not rule.keywords:
                self._ungated.append(rule)
            for word in rule.keywords:
                if word not in index:
                    index[word] = self._keywords.Add(re2.escape(word))
        self._keywords.Compile()
        self._words = list(index)  # position = the keyword's index in the set
        self._by_keyword = [[] for _ in index]
        for rule in self.rules:
            for word in rule.keywords:
                if rule not in self._by_keyword[index[word]]:
                    self._by_keyword[index[word]].append(rule)

    @property
    def has_ungated(self) -> bool:
        return bool(self._ungated)

    def needs_walk(self, encoded: bytes, words: Sequence[int]) -> bool:
        """Whether an event whose serialized form is *encoded* (holding keywords *words*) may
        hold a secret, decided on the whole event at once instead of string by string.

        The event's strings all appear verbatim, quoted, in its JSON once the escapes are
        undone. A rule that matches inside one of them matches there too: its anchors
        (``\\b``, an end written as ``$`` or a quote) hold the same beside a ``"``. Rules whose
        regex has other anchors are not trusted to this and always send the event to the walk.
        """
        if self._ungated:
            return True
        rules = {id(r): r for w in words for r in self._by_keyword[w]}
        key_words = [w for w in words if self._words[w] in _SECRET_KEY_WORDS]
        if any(not _body_safe(r.regex) for r in rules.values()):
            return True
        if rules:
            text = encoded if b"\\" not in encoded else _unescape(encoded).encode("utf-8", "surrogatepass")
            if any(_compiled_bytes(r.regex).search(text) is not None for r in rules.values()):
                return True
        if key_words:
            raw = encoded.decode("utf-8", "surrogatepass")
            return any(is_secret_key(_unescape(k.encode())) for k in _compiled(_JSON_KEY).findall(raw))
        return False

    def may_match(self, text: str, words: Sequence[int]) -> bool:
        """False when no rule can match *text*: it holds none of *words* and no rule is ungated."""
        if self._ungated:
            return True
        lowered = text.lower()
        return any(self._words[w] in lowered for w in words)

    def hit_words(self, encoded: bytes | str) -> tuple[int, ...]:
        """The keywords (their indexes) that occur in *encoded*, found in one pass."""
        return tuple(self._keywords.Match(encoded) or ())

    def findings(self, text: str, words: Sequence[int] | None = None) -> Iterator[tuple[int, int, str]]:
        """``(start, end, rule id)`` of each secret in *text*.

        *words*, the keywords already found in the whole event, narrow the search: a
        string that holds none of them (a substring test) cannot match any rule.
        """
        if words is None:
            present: Iterable[int] = self.hit_words(text)
        else:
            lowered = text.lower()  # keywords are ASCII; lower() folds as the set's case-blind match does
            present = [w for w in words if self._words[w] in lowered]
        candidates: list[Rule] = list(self._ungated)
        for hit in present:
            candidates += [r for r in self._by_keyword[hit] if r not in candidates]
        for rule in candidates:
            for match in _compiled(rule.regex).finditer(text):
                span = _secret_span(match, rule.secret_group)
                if span is None:
                    continue
                secret = text[span[0] : span[1]]
                if rule.entropy is not None and shannon_entropy(secret) < rule.entropy:
                    continue
                line = _line_around(text, match.start(), match.end())
                if self.allowlist is not None and self.allowlist.allows(secret, match.group(0), line):
                    continue
                if any(a.allows(secret, match.group(0), line) for a in rule.allowlists):
                    continue
                yield span[0], span[1], rule.id


_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# a JSON object key in an event's serialized form: a string followed by a colon
_JSON_KEY = r'"((?:[^"\\]|\\.)*)":'


def _unescape(encoded: bytes) -> str:
    """The serialized event with its JSON string escapes undone."""
    text = encoded.decode("utf-8", "surrogatepass")
    if "\\" not in text:
        return text
    return _JSON_ESCAPE.sub(lambda m: _JSON_ESCAPES.get(m.group(1)) or chr(int(m.group(1)[1:], 16)), text)


@functools.cache
def _body_safe(regex: str) -> bool:
    """True when *regex* has no anchor but ``\\b`` and an ending ``|$)``: a match inside a string
    is then a match in the whole serialized event too (see ``RuleSet.needs_walk``)."""
    rest = regex.replace("|$)", ")").replace("[^", "[")
    return not any(anchor in rest for anchor in ("^", "$", "\\A", "\\z", "\\Z", "(?m", "(?s"))


def _secret_span(match: Any, group: int) -> tuple[int, int] | None:
    """gitleaks' choice: the rule's secretGroup, else the first non-empty group, else the match."""
    if group and group <= len(match.groups()):
        start, end = match.span(group)
        return (start, end) if start < end else None
    for index in range(1, len(match.groups()) + 1):
        start, end = match.span(index)
        if start < end:
            return start, end
    start, end = match.span()
    return (start, end) if start < end else None


def _line_around(text: str, start: int, end: int) -> str:
    return text[text.rfind("\n", 0, start) + 1 : (text.find("\n", end) + 1 or len(text) + 1) - 1]


@functools.lru_cache(maxsize=16)
def load_rule_set(
    extra_files: tuple[str, ...] = (),
    patterns: tuple[SecretPattern, ...] = (),
    disabled: tuple[str, ...] = (),
    stamps: tuple[tuple[int, int], ...] = (),
    texts: tuple[tuple[str, str], ...] = (),
) -> RuleSet:
    """The bundled rules, plus the rules of *extra_files* (gitleaks format; their
    ``[extend] disabledRules`` and *disabled* turn rules off), plus *patterns*. *stamps*
    (each file's modification time and size) only key the cache: an edited file is read again."""
    rules: list[Rule] = []
    allow: Allowlist | None = None
    off = set(disabled)
    sources = list(bundled_documents().items())
    lines: dict[str, list[int]] = {}
    for extra in extra_files:
        try:
            text = Path(extra).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{extra}: cannot read: {exc}") from exc
        sources.append((extra, read_toml(text, extra)))
        lines[extra] = rule_lines(text)
    for origin, text in texts:  # rule files read from elsewhere (a commit, for ci)
        sources.append((origin, read_toml(text, origin)))
        lines[origin] = rule_lines(text)
    for origin, doc in sources:
        found, turned_off, glob = parse_rules(
            doc, origin, compile_now=origin not in BUNDLED_RULES, lines=lines.get(origin, ())
        )
        rules += found
        off |= turned_off
        if glob is not None and origin == BUNDLED_RULES[0]:
            allow = glob
    for pattern in patterns:
        regex = pattern.regex.replace("(?P<secret>", "(")  # RE2 names groups this way too, but one group is enough
        try:
            _compiled(regex)
        except Exception as exc:
            raise RuleError(f"secret pattern {pattern.kind}: not an RE2 regex: {exc}") from exc
        rules.append(Rule(pattern.kind, regex))
    return RuleSet([r for r in rules if r.id not in off], allow)


class Redactor:
    """Replace secrets in an event's keys and strings and say where they were."""

    def __init__(
        self,
        patterns: Iterable[SecretPattern] = DEFAULT_SECRET_PATTERNS,
        *,
        rule_files: Sequence[str | Path] = (),
        disabled: Sequence[str] = (),
        rule_texts: Sequence[tuple[str, str]] = (),
    ) -> None:
        files = tuple(str(p) for p in rule_files)
        stamps = tuple((s.st_mtime_ns, s.st_size) for s in (os.stat(f) for f in files))
        self.rules = load_rule_set(files, tuple(patterns), tuple(disabled), stamps, tuple(rule_texts))

    def might_contain_secret(self, encoded: bytes) -> bool:
        """Cheap test on the serialized event; False means certainly clean.

        Sound because every rule needs one of its keywords in the match, and
        orjson escapes no character a keyword holds.
        """
        return self.rules.has_ungated or bool(self.rules.hit_words(encoded))

    def find(self, event: dict[str, Any]) -> list[str]:
        """``"<kind> at <path>"`` for each secret in a decoded event, its session id included;
        the event is left as it is. Searches the decoded strings, so a JSON escape
        (``\\u0067hp_...``) hides nothing."""
        hits = self.redact(dict(event))  # keyword search first; rebuilds nested values, never mutates them
        hits += [{"path": "$.session_id", "kind": k} for k in self.scrub(str(event.get("session_id", "")))[1]]
        return sorted({f"{hit['kind']} at {hit['path']}" for hit in hits})

    def _scrub_key(self, key: str) -> tuple[str, list[str]]:
        return _scrub_key_cached(self.rules, key) if len(key) <= 128 else self.scrub(key)

    def scrub(self, text: str, words: Sequence[int] | None = None) -> tuple[str, list[str]]:
        """*text* with its secrets masked, and the rule ids that fired (see ``RuleSet.findings``)."""
        return _scrub(self.rules, text, words)

    def clean_text(self, text: str) -> str:
        """*text* as it may be kept: every secret masked, those in base64 runs included. For a
        caller that must cut a long text: redact first, so no secret is cut in half."""
        found: list[dict[str, str]] = []
        return self.scrub(self._decoded_secrets(text, (), found))[0]

    def redact(self, event: dict[str, Any], encoded: bytes | None = None) -> list[dict[str, str]]:
        """Redact *event* in place (*encoded*: its serialized form, when at hand); return
        ``[{"path", "kind"}, ...]`` of what was removed."""
        encoded = encoded if encoded is not None else orjson.dumps(event)
        words = self.rules.hit_words(encoded)
        found: list[dict[str, str]] = []
        has_base64 = _compiled_bytes(_BASE64_RUN).search(encoded) is not None
        if not has_base64 and (not (words or self.rules.has_ungated) or not self.rules.needs_walk(encoded, words)):
            return found
        for key, value in list(event.items()):
            if key in ("event_id", "timestamp", "session_id", "redactions"):
                continue
            event[key] = self._walk(value, (key,), found, words)
        return found

    def _decoded_secrets(self, text: str, path: tuple[str | int, ...], found: list[dict[str, str]]) -> str:
        """*text* as it may be kept when it holds something encoded: a JSON document (kubectl's
        last-applied annotation, a printed config) is walked decoded, secret-named fields
        included, and written again if anything in it was masked; each base64 run that
        decodes to text holding a secret (``base64 .env``) is masked whole."""
        text = self._json_inside(text, path, found)
        if len(text) < _BASE64_MIN or _compiled(_BASE64_RUN).search(text) is None:
            return text
        out: list[str] = []
        at = 0
        for match in _compiled(_BASE64_RUN).finditer(text):
            plain = _as_text(match.group(0))
            kinds = self.scrub(plain)[1] if plain is not None else []
            if kinds:
                out += [text[at : match.start()], mask(f"base64:{kinds[0]}")]
                found += [{"path": json_path(path), "kind": f"base64:{kind}"} for kind in dict.fromkeys(kinds)]
                at = match.end()
        return "".join([*out, text[at:]]) if out else text

    def _json_inside(self, text: str, path: tuple[str | int, ...], found: list[dict[str, str]]) -> str:
        if len(text) < 8 or not (text[0] in "{[" or text[0].isspace()):
            return text  # the common case, decided without copying the string
        stripped = text.strip()
        if len(stripped) < 8 or stripped[0] not in "{[" or stripped[-1] not in "}]" or '"' not in stripped:
            return text
        try:
            inner = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return text
        words = self.rules.hit_words(stripped)
        seen: list[dict[str, str]] = []
        clean = self._walk(inner, (*path, "<json>"), seen, words)
        if clean is inner:
            return text
        found += seen
        return orjson.dumps(clean).decode()

    def _walk(self, value: Any, path: tuple[str | int, ...], found: list[dict[str, str]], words: Sequence[int]) -> Any:
        """*value* with its secrets masked; the very object when there were none."""
        if isinstance(value, str):
            value = self._decoded_secrets(value, path, found)
            if not self.rules.may_match(value, words):
                return value  # the common case, kept cheap: no keyword of this event in this string
            clean, kinds = self.scrub(value, words)
            found += [{"path": json_path(path), "kind": kind} for kind in dict.fromkeys(kinds)]
            return clean
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, child in value.items():
                name, kinds = self._scrub_key(key)
                if kinds:
                    found += [{"path": json_path((*path, "<key>")), "kind": kind} for kind in dict.fromkeys(kinds)]
                    while name in out:
                        name += "'"
                if is_secret_key(name) and _maskable(child):
                    found.append({"path": json_path((*path, name)), "kind": "secret_field"})
                    out[name] = mask("secret_field")
                else:
                    out[name] = self._walk(child, (*path, name), found, words)
                changed = changed or name != key or out[name] is not child
            return out if changed else value
        if isinstance(value, (list, tuple)):
            items = [self._walk(child, (*path, i), found, words) for i, child in enumerate(value)]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value


@functools.lru_cache(maxsize=4096)  # keys repeat from event to event
def _scrub_key_cached(rules: RuleSet, key: str) -> tuple[str, list[str]]:
    return _scrub(rules, key)


def _scrub(rules: RuleSet, text: str, words: Sequence[int] | None = None) -> tuple[str, list[str]]:
    """*text* with every rule's matches masked, and the rules that matched.

    Matches are merged as spans (their union): a match that overlaps another is never
    dropped for it, so a short match (``TOKEN=-----BEGIN``) cannot leave the rest of a longer
    one (the private key after it) in the clear. A merged span is masked once, named after
    its first rule; every rule in it is reported.
    """
    spans = sorted(rules.findings(text, words))
    if not spans:
        return text, []
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last_start, last_end, kinds = merged[-1]
            merged[-1] = (last_start, max(last_end, end), kinds if kind in kinds else [*kinds, kind])
        else:
            merged.append((start, end, [kind]))
    out: list[str] = []
    found: list[str] = []
    at = 0
    for start, end, kinds in merged:
        out += [text[at:start], mask(kinds[0])]
        found += kinds
        at = end
    out.append(text[at:])
    return "".join(out), found


_BASE64_MIN = 40
_BASE64_RUN = r"[A-Za-z0-9+/]{40,}={0,2}"


def _as_text(run: str) -> str | None:
    """What a base64 run decodes to, when that is text (UTF-8, nearly all printable); else None."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def _maskable(value: Any) -> bool:
    """Under a secret-named key everything but nothing, a flag and a mask is a secret."""
    if value is None or isinstance(value, bool) or value in ("", [], {}):
        return False
    return not (isinstance(value, str) and value.startswith("[REDACTED"))


def _regenerate_bundled() -> None:
    """Maintainers: write ``rules/bundled.json`` from the bundled TOML files."""
    docs = {name: read_toml((_RULES_DIR / name).read_text(encoding="utf-8"), name) for name in BUNDLED_RULES}
    (_RULES_DIR / "bundled.json").write_bytes(orjson.dumps(docs) + b"\n")


if __name__ == "__main__":
    _regenerate_bundled()


def repo_redactor(sessions_dir: Path, patterns: Iterable[SecretPattern] = ()) -> Redactor:
    """The redactor for a sessions folder: the bundled rules and the repository's own."""
    from sessionlog.core.paths import repo_rules_for

    own = repo_rules_for(sessions_dir)
    return Redactor(tuple(patterns), rule_files=[own] if own.is_file() else [])
