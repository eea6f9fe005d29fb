"""Secret redaction, measured in one run:

1. Recall: for every rule (gitleaks' defaults and sessionlog's own), samples generated from
   the rule's own regex (as gitleaks generates its test samples, `secrets.NewSecret(regex)`)
   that the rule itself counts as secrets (entropy floor and allowlists applied) are appended
   through a real SessionLogger, bare and in an assignment; a sample counts as caught when
   its secret is nowhere in the bytes on disk.
2. False positives: every string (keys and values) of the real Claude Code and Codex
   transcripts in ../shared/fixtures/transcripts is scanned; each string a rule would change
   is listed with its rule.
3. Linear time: adversarial input for the old hand-written JWT pattern (Python re) against
   the RE2 rule set, at growing sizes.
4. Cost on ordinary events: appends/s with redaction on and off.

Usage: python benchmarks/bench_redaction.py [--samples 12]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning

from sessionlog import SessionLogger
from sessionlog._redact import Redactor, Rule, _compiled, _secret_span, load_rule_set, shannon_entropy

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "transcripts"
OLD_JWT = r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # the pattern issue 7 timed


def samples_for(regex: str, count: int) -> list[str]:
    out: list[str] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.from_regex(regex, fullmatch=True))
    def collect(sample: str) -> None:
        out.append(sample)

    collect()
    return out


def rule_positive(rule: Rule, sample: str) -> str | None:
    """The secret in *sample* when the rule itself reports it (entropy floor and allowlists applied)."""
    if "\n" in sample or "\r" in sample:
        return None
    match = _compiled(rule.regex).search(sample)
    span = _secret_span(match, rule.secret_group) if match else None
    if match is None or span is None:
        return None
    secret = sample[span[0] : span[1]]
    if len(secret) < 6 or (rule.entropy is not None and shannon_entropy(secret) < rule.entropy):
        return None
    allowlists = [*rule.allowlists, *([load_rule_set().allowlist] if load_rule_set().allowlist else [])]
    if any(a is not None and a.allows(secret, match.group(0), sample) for a in allowlists):
        return None
    return secret


def recall(count: int) -> None:
    rules = load_rule_set().rules
    caught = missed = unmeasured = keywordless = 0
    missed_rules: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp) / "s", spool=False) as logger:
        for rule in rules:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    re.compile(rule.regex)
                found = samples_for(rule.regex, count)
            except Exception:  # noqa: BLE001 - Go syntax Python's re (and so hypothesis) cannot read
                unmeasured += 1
                continue
            for sample in found:
                secret = rule_positive(rule, sample)
                if secret is None:
                    continue
                if rule.keywords and not any(k in sample.lower() for k in rule.keywords):
                    keywordless += 1  # gitleaks runs a rule only where one of its keywords is
                    continue
                for text in (sample, f'{rule.id.replace("-", "_")}_token = "{sample}"'):
                    session = f"r{caught + missed}"
                    result = logger.append_event(session, "tool_call", "codex", "bench", data={"out": text})
                    if not result.ok:
                        continue
                    if secret in logger.session_path(session).read_text():
                        missed += 1
                        missed_rules[rule.id] += 1
                    else:
                        caught += 1
    total = caught + missed
    print(f"recall: {caught}/{total} = {caught / total:.1%} of rule-generated secrets never reached disk")
    print(f"  rules: {len(rules)}; {unmeasured} not measurable (regex syntax Python's re cannot generate from)")
    print(f"  {keywordless} generated samples hold none of their rule's keywords (skipped, as gitleaks skips them)")
    if missed_rules:
        print("  missed by rule:", ", ".join(f"{k} {v}" for k, v in missed_rules.most_common(12)))


def false_positives() -> None:
    redactor = Redactor()
    strings = changed = 0
    hits: collections.Counter[str] = collections.Counter()
    examples: list[str] = []

    def walk(value: object) -> None:
        nonlocal strings, changed
        if isinstance(value, dict):
            for key, child in value.items():
                walk(key)
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)
        elif isinstance(value, str):
            strings += 1
            clean, kinds = redactor.scrub(value)
            if kinds:
                changed += 1
                hits.update(kinds)
                at = clean.find("[REDACTED")
                examples.append(f"{kinds[0]}: …{clean[max(at - 50, 0) : at + 40]!r}…")

    files = sorted(TRANSCRIPTS.rglob("*.jsonl"))
    lines = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines += 1
                walk(json.loads(line))
    print(
        f"false positives: {changed} of {strings} strings changed ({changed / max(strings, 1):.3%}) "
        f"in {lines} lines of {len(files)} real transcripts"
    )
    for kind, n in hits.most_common():
        print(f"  {kind}: {n}")
    for example in examples[:10]:
        print(f"    {example}")


def linear_time() -> None:
    redactor = Redactor()
    old = re.compile(OLD_JWT)
    print(f"{'adversarial -eyJ run':>22} {'old pattern, Python re s':>25} {'RE2 rule set s':>15}")
    for size in (10_000, 20_000, 40_000):
        text = "-eyJ" * (size // 4)
        started = time.perf_counter()
        old.search(text)
        t_old = time.perf_counter() - started
        started = time.perf_counter()
        redactor.scrub(text)
        t_new = time.perf_counter() - started
        print(f"{size:>19} B {t_old:25.3f} {t_new:15.4f}")
    big = "-eyJ" * (1 << 18)
    started = time.perf_counter()
    redactor.scrub(big)
    print(f"{len(big):>19} B {'(not run: minutes)':>25} {time.perf_counter() - started:15.4f}")


def throughput(runs: int = 5, n: int = 3000) -> None:
    data = {"command": "pytest -q tests/", "output": "collected 120 items\n120 passed in 3.2s", "exit_code": 0}
    figures: dict[str, list[float]] = {"redaction on": [], "redaction off": []}
    for _ in range(runs):
        for name, redact in (("redaction on", True), ("redaction off", False)):
            with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp), redact=redact, spool=False) as lg:
                started = time.perf_counter()
                for _ in range(n):
                    lg.append_event("s", "tool_call", "codex", "Bash", data=data)
                figures[name].append(n / (time.perf_counter() - started))
    on, off = (statistics.median(figures[k]) for k in ("redaction on", "redaction off"))
    print(f"ordinary events: {on:,.0f} appends/s with redaction, {off:,.0f} without ({on / off:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=12, help="samples generated per rule")
    args = parser.parse_args()
    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    recall(args.samples)
    false_positives()
    linear_time()
    throughput()


if __name__ == "__main__":
    main()
