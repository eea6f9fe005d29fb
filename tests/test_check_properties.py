"""Any change to committed bytes of a log is refused; any append through the library passes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from gitrepo import Repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionlog.commits.check import Checker

mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("drop"), st.integers(min_value=0), st.just(0)),
    st.tuples(st.just("swap"), st.integers(min_value=0), st.integers(min_value=0)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just(0)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.just(0)),
)


def committed_repo(tmp: Path, lines: int) -> Repo:
    repo = Repo(tmp / "repo")
    repo.log("s", lines)
    repo.commit("base")
    return repo


def mutate(data: bytes, kind: str, a: int, b: int) -> bytes:
    rows = data.splitlines(keepends=True)
    if kind == "flip":
        i = a % len(data)
        return data[:i] + bytes([data[i] ^ b]) + data[i + 1 :]
    if kind == "drop":
        del rows[a % len(rows)]
    elif kind == "swap":
        i, j = a % len(rows), b % len(rows)
        if rows[i] == rows[j]:
            j = (i + 1) % len(rows)
        rows[i], rows[j] = rows[j], rows[i]
    elif kind == "truncate":
        return data[: a % len(data)]
    else:
        rows.insert(a % len(rows), rows[a % len(rows)])
    return b"".join(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=2, max_value=6), mutations, st.integers(min_value=0, max_value=3))
def test_any_edit_of_committed_bytes_is_refused(lines: int, mutation: tuple[str, int, int], appended: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = committed_repo(Path(tmp), lines)
        path = repo.file("s")
        changed = mutate(path.read_bytes(), *mutation)
        path.write_bytes(changed)
        if appended:
            repo.log("s", appended)  # an honest append after the tampering hides nothing
        repo.git("add", "-A")
        with Checker(repo.path) as checker:
            assert checker.check_index(), mutation


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4))
def test_appends_through_the_library_always_pass(batches: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = committed_repo(Path(tmp), 1)
        for n in batches:
            repo.log("s", n)
            repo.git("add", "-A")
            with Checker(repo.path) as checker:
                assert checker.check_index() == []
            repo.git("commit", "-q", "-m", "more")
