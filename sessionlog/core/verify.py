"""Checking session lines: JSON, schema, chain and secrets, with locations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sessionlog.core.chain import chain_problem
from sessionlog.core.reader import NotASessionFile, ParseError, decode_line, iter_lines, open_session_file
from sessionlog.core.redact import Redactor
from sessionlog.core.schema import SchemaSet
from sessionlog.core.segments import parse_name
from sessionlog.errors import GitError
from sessionlog.git import exe as _git

MAX_FINDINGS = 50  # per file


@dataclass(frozen=True)
class Finding:
    """One problem, located: renders as ``path:LINE: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{printable(self.path)}:{self.line}: {self.message}"


def printable(path: str) -> str:
    """A path as text any terminal takes: bytes of a name that is not UTF-8 shown as ``\\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _naive(stamp: object) -> bool:
    try:
        return isinstance(stamp, str) and datetime.fromisoformat(stamp).tzinfo is None
    except ValueError:
        return False


def session_id_of(path: str | Path) -> str | None:
    """The session a file (a segment, or an archive) belongs to, from its name."""
    parsed = parse_name(Path(path).name)
    return parsed[0] if parsed is not None else None


def first_line_of(path: str | Path) -> int:
    """The line of its session a segment starts at, from its name (1 for anything else)."""
    parsed = parse_name(Path(path).name)
    return parsed[1] if parsed is not None else 1


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
    notes: list[Finding] = field(default_factory=list)
    max_findings: int = MAX_FINDINGS

    def __post_init__(self) -> None:
        self.session_id = session_id_of(self.path)
        self._last_no = self.first_line - 1
        self.at(self.path)

    def at(self, path: str) -> None:
        """Report what follows as lines of *path*: lines are numbered in the session, and a
        segment's line N of the session is line ``N - start + 1`` of its file."""
        self.path = path
        self._offset = first_line_of(path) - 1

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
        self.findings.append(Finding(self.path, line_no - self._offset if line_no else 0, message))

    def _check(self, line_no: int, raw: bytes) -> None:
        event = decode_line(line_no, raw)
        if isinstance(event, ParseError):
            self._add(line_no, event.message)
            self.previous_line, self._last_no = raw, line_no
            return
        self.events += 1
        problems = self.schemas.errors(event)
        for found in problems:
            ambiguous = found.startswith("$.timestamp:") and _naive(event.get("timestamp"))
            self._add(line_no, found + (" (no UTC offset: ambiguous; queries read it as UTC)" if ambiguous else ""))
        known = line_no == 1 or (self.previous_line is not None and line_no == self._last_no + 1)
        if not known and "prev" in event and (self.previous_line is None or line_no > self._last_no + 1):
            self.notes.append(
                Finding(
                    self.path,
                    line_no - self._offset,
                    f"goes on from line {line_no - 1} of the session, which is not here (on another branch?)",
                )
            )
        problem = chain_problem(
            event,
            line_no,
            self.previous_line,
            self.session_id,
            chained_before=self.chained_before,
            previous_known=known,
        )
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
        self.previous_line, self._last_no = raw, line_no


@dataclass(frozen=True)
class VerifyReport:
    path: str
    findings: list[Finding]
    events: int
    unchained: int
    notes: list[Finding] = field(default_factory=list)

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
    """Check every line of a session file (or the numbered *lines* given for it, labelled
    *label*: an archive's); never raises for bad content."""
    if lines is None:
        return verify_segments([(first_line_of(path), path)], schemas, redactor=redactor)
    checker = LineChecker(label or str(path), schemas, redactor)
    checker.feed(lines)
    return VerifyReport(checker.path, checker.findings, checker.events, checker.unchained, checker.notes)


def verify_segments(
    found: list[tuple[int, Path]], schemas: SchemaSet, *, redactor: Redactor | None = None, label: str | None = None
) -> VerifyReport:
    """Check a session's segments ``(first line, path)`` in order, as one chain; each finding names
    its segment file and the line in it."""
    checker = LineChecker(label or (str(found[0][1]) if found else "(no segments)"), schemas, redactor)
    for start, path in found:
        checker.at(str(path))
        try:
            with open_session_file(path) as stream:
                checker.feed(iter_lines(stream, first_line=start))
        except OSError as exc:
            checker.findings.append(Finding(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        except NotASessionFile as exc:
            checker.findings.append(Finding(str(path), 0, str(exc)))
    return VerifyReport(label or checker.path, checker.findings, checker.events, checker.unchained, checker.notes)


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
