from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionlog import SessionLogger

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SESSIONLOG_SHARED", REPO.parent / "shared"))


_MISSING = (
    f"uses the reference files and transcripts of {SHARED}, which this checkout does not have "
    "(set SESSIONLOG_SHARED to that folder)"
)


def shared(*parts: str) -> Path:
    """A file of the shared reference folder; a test that needs one is skipped, with one reason
    for all of them (pytest -ra folds identical reasons into one line), when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(_MISSING)
    return path


@pytest.fixture
def sessions_dir(tmp_path: Path) -> Path:
    return tmp_path / ".ai-agents" / "sessions"


@pytest.fixture
def logger(sessions_dir: Path) -> Iterator[SessionLogger]:
    with SessionLogger(sessions_dir) as lg:
        yield lg


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One PRE_COMMIT_HOME for the run: the framework builds each hook environment once."""
    if shutil.which("pre-commit") is None and not (Path(sys.executable).parent / "pre-commit").exists():
        pytest.skip("the pre-commit framework is not installed")
    return str(tmp_path_factory.mktemp("pre-commit-home"))
