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
5. Recall on a leak corpus of realistic shapes (tests/leak_corpus.py: printed .env files,
   registry logins, passphrases, JSON inside JSON, percent-encoded redirects, base64 of a
   .env, service-account keys, tokens of a vendor's prefix but not its canonical length), and
   the cost per append of an ordinary event and of a long tool output, for this code and, in
   the same run, for an earlier revision (--before, in a git worktree).

Usage: python benchmarks/bench_redaction.py [--samples 12] [--before REV]
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
from sessionlog.core.redact import Redactor, Rule, _compiled, _secret_span, load_rule_set, shannon_entropy

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
    with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp) / "s", segments=False) as logger:
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
            with tempfile.TemporaryDirectory() as tmp, SessionLogger(Path(tmp), redact=redact, segments=False) as lg:
                started = time.perf_counter()
                for _ in range(n):
                    lg.append_event("s", "tool_call", "codex", "Bash", data=data)
                figures[name].append(n / (time.perf_counter() - started))
    on, off = (statistics.median(figures[k]) for k in ("redaction on", "redaction off"))
    print(f"ordinary events: {on:,.0f} appends/s with redaction, {off:,.0f} without ({on / off:.2f}x)")


# Runs under this code or an earlier revision's (both take SessionLogger(folder, redact=...)).
_CORPUS_AND_COST = r"""
import json, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from leak_corpus import LEAKS, leaked
from sessionlog import SessionLogger
caught = total = 0
with tempfile.TemporaryDirectory() as tmp:
    logger = SessionLogger(Path(tmp), redact=True)
    for n, (printed, secrets) in enumerate(LEAKS):
        logger.append_event(f"c{n}", "tool_call", "codex", "Bash", data={"output": printed})
        total += len(secrets)
        caught += len(secrets) - len(leaked((Path(tmp) / f"c{n}.jsonl").read_text(), secrets))
events = {
    "ordinary event": {"command": "pytest -q tests/", "output": "collected 120 items; 120 passed in 3.2s"},
    "16 KB tool output": {"command": "cat log", "output": ("INFO request served in 12 ms token_count=3 " * 400)[:16000]},
}
cost = {}
for name, data in events.items():
    rates = []
    for _ in range(5):
        with tempfile.TemporaryDirectory() as tmp:
            lg = SessionLogger(Path(tmp), redact=True)
            started = time.perf_counter()
            for _ in range(1500):
                lg.append_event("s", "tool_call", "codex", "Bash", data=data)
            rates.append(1500 / (time.perf_counter() - started))
    cost[name] = statistics.median(rates)
print(json.dumps({"caught": caught, "total": total, "cost": cost}))
"""


def corpus_and_cost(before: str | None) -> None:
    """The leak corpus and the cost per append, for this code and (with *before*) an earlier revision."""
    import subprocess
    import sys

    project = Path(__file__).resolve().parents[1]
    tests = str(project / "tests")
    runs = {"this code": str(project)}
    with tempfile.TemporaryDirectory() as tmp:
        if before:
            old = Path(tmp) / "before"
            subprocess.run(["git", "worktree", "add", "-q", "--detach", str(old), before], cwd=project, check=True)
            runs[f"before ({before[:12]})"] = str(old)
        try:
            results = {}
            for name, root in runs.items():
                proc = subprocess.run(
                    [sys.executable, "-c", _CORPUS_AND_COST, tests],
                    capture_output=True, text=True, check=False, env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
                    cwd=tmp,  # not the project folder, whose sessionlog/ would come first on sys.path
                )  # fmt: skip
                if proc.returncode != 0:
                    raise SystemExit(f"{name}: {proc.stderr}")
                results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        finally:
            if before:
                subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=project, check=False)
    print(f"{'code':24} {'leak corpus caught':>20} {'ordinary/s':>12} {'16 KB output/s':>16}")
    for name, r in results.items():
        print(
            f"{name:24} {r['caught']:>9}/{r['total']:<10} {r['cost']['ordinary event']:>12,.0f}"
            f" {r['cost']['16 KB tool output']:>16,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=12, help="samples generated per rule")
    parser.add_argument("--before", help="an earlier revision to compare the corpus and the cost with")
    parser.add_argument("--only-corpus", action="store_true", help="only the leak corpus and the cost per append")
    args = parser.parse_args()
    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    if not args.only_corpus:
        recall(args.samples)
        false_positives()
        linear_time()
        throughput()
    corpus_and_cost(args.before)


if __name__ == "__main__":
    main()
