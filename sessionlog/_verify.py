"""Checking session lines: JSON, schema, chain and secrets, with locations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import _git
from ._chain import chain_problem
from ._paths import SUFFIX
from ._reader import NotASessionFile, ParseError, decode_line, iter_lines, open_session_file
from ._redact import Redactor
from ._schema import SchemaSet
from .errors import GitError

MAX_FINDINGS = 50  # per file


@dataclass(frozen=True)
class Finding:
    """One problem, located: renders as ``path:LINE: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _naive(stamp: object) -> bool:
    try:
        return isinstance(stamp, str) and datetime.fromisoformat(stamp).tzinfo is None
    except ValueError:
        return False


def session_id_of(path: str | Path) -> str | None:
    name = Path(path).name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else None


@dataclass
class LineChecker:
    """Check lines of one session file in order, from any starting point.

    ``previous_line`` and ``first_line`` describe what precedes the first
    line fed (for a commit check: the last committed line and its number).
    """

    path: str
    schemas: SchemaSet
    redactor: Redactor | None = None
    first_line: int = 1
    previous_line: bytes | None = None
    chained_before: bool = False
    events: int = 0
    unchained: int = 0
    findings: list[Finding] = field(default_factory=list)
    max_findings: int = MAX_FINDINGS

    def __post_init__(self) -> None:
        self.session_id = session_id_of(self.path)

    def feed(self, lines: Iterable[tuple[int, bytes]]) -> list[Finding]:
        """Check *lines*; after ``max_findings`` problems the rest are only counted, so a
        hostile file cannot flood a CI log."""
        skipped, first_skipped = 0, 0
        for line_no, raw in lines:
            if len(self.findings) >= self.max_findings:
                skipped += 1
                first_skipped = first_skipped or line_no
                continue
            self._check(line_no, raw)
        if skipped:
            self._add(
                first_skipped,
                f"stopped after {self.max_findings} problems in this file; {skipped} more line(s) not checked",
            )
        return self.findings

    def _add(self, line_no: int, message: str) -> None:
        self.findings.append(Finding(self.path, line_no, message))

    def _check(self, line_no: int, raw: bytes) -> None:
        event = decode_line(line_no, raw)
        if isinstance(event, ParseError):
            self._add(line_no, event.message)
            self.previous_line = raw
            return
        self.events += 1
        problems = self.schemas.errors(event)
        for found in problems:
            ambiguous = found.startswith("$.timestamp:") and _naive(event.get("timestamp"))
            self._add(line_no, found + (" (no UTC offset: ambiguous; queries read it as UTC)" if ambiguous else ""))
        problem = chain_problem(event, line_no, self.previous_line, self.session_id, chained_before=self.chained_before)
        if problem is not None:
            self._add(line_no, problem)
        if "seq" in event:
            self.chained_before = True
        elif not problems:
            self.unchained += 1  # a valid line that predates the chain
        kinds = self.redactor.find(event) if self.redactor is not None else []
        if kinds:
            self._add(
                line_no,
                "unredacted secret: "
                + ", ".join(kinds)
                + " (log it through sessionlog, which redacts, or remove it before committing)",
            )
        self.previous_line = raw


@dataclass(frozen=True)
class VerifyReport:
    path: str
    findings: list[Finding]
    events: int
    unchained: int

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_file(
    path: Path,
    schemas: SchemaSet,
    *,
    redactor: Redactor | None = None,
    label: str | None = None,
    lines: Iterable[tuple[int, bytes]] | None = None,
) -> VerifyReport:
    """Check every line of a session file (or the numbered *lines* given for it); never raises for bad content."""
    checker = LineChecker(label or str(path), schemas, redactor)
    try:
        if lines is not None:
            checker.feed(lines)
        else:
            with open_session_file(path) as stream:
                checker.feed(iter_lines(stream))
    except OSError as exc:
        checker.findings.append(Finding(checker.path, 0, f"cannot read: {exc.strerror or exc}"))
    except NotASessionFile as exc:
        checker.findings.append(Finding(checker.path, 0, str(exc)))
    return VerifyReport(checker.path, checker.findings, checker.events, checker.unchained)


def anchor_problem(path: Path, rev: str = "HEAD") -> Finding | None:
    """Compare a session file with the version git holds at *rev*: that version must be a
    byte prefix of the file. None when it is, or when git holds no version there.

    The hash chain shows accidental damage and lines spliced in from elsewhere, but
    whoever rewrites a file can recompute every ``seq`` and ``prev`` after it. What git
    has committed (and a remote has received) is outside the file's reach: it is the
    anchor that shows such a rewrite.
    """
    top = _git.toplevel(path.parent)
    if top is None:
        return None
    try:
        relative = path.absolute().relative_to(top).as_posix()
        committed = _git.run(("cat-file", "blob", f"{rev}:{relative}"), cwd=top)
    except (ValueError, GitError):
        return None  # outside the work tree, or not committed at rev
    with open_session_file(path) as stream:
        current = stream.read()
    if current.startswith(committed):
        return None
    same = 0
    for old, new in zip(committed.splitlines(keepends=True), current.splitlines(keepends=True), strict=False):
        if old != new:
            break
        same += 1
    return Finding(
        str(path),
        same + 1,
        f"differs from the version committed at {rev} from this line on: committed lines were edited, dropped "
        "or reordered (a rewrite that recomputes the hash chain passes the chain check, not this one)",
    )
