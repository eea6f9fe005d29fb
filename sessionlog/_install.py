"""Plain git hook shims, for repositories that do not use the pre-commit framework."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _git
from .errors import StorageError

MARKER = "# sessionlog hook shim"
HOOKS = {
    "pre-commit": ("sessionlog.hooks.check", ""),
    "pre-merge-commit": ("sessionlog.hooks.check", ""),
    "pre-push": ("sessionlog.hooks.check", '--pre-push "$@"'),
    "prepare-commit-msg": ("sessionlog.hooks.prepare_commit_msg", '"$@"'),
}
RETIRED = ("post-commit",)  # shims earlier versions installed
# The stages the framework runs sessionlog-check at. The trailer hook is a light
# shim beside the framework (`sessionlog init`): each framework stage costs a
# commit about 0.3 s of framework start-up (benchmarks/README.md).
FRAMEWORK_INSTALL = "pre-commit install --hook-type pre-commit --hook-type pre-merge-commit --hook-type pre-push"
TRAILER_HOOK = "prepare-commit-msg"
GITATTRIBUTES_LINE = ".ai-agents/sessions/** -text"


def shim(hook: str, python: str = sys.executable) -> str:
    """The text of one hook shim: the interpreter sessionlog was installed with runs the hook module.

    Recording the interpreter makes the hook independent of ``PATH`` (an IDE
    or a GUI client commits without the virtual environment activated).
    """
    module, rest = HOOKS[hook]
    py = shlex.quote(python)
    head = f"#!/bin/sh\n{MARKER} ({hook}); installed by `sessionlog install-hooks`\n"
    return (
        head
        + (_TRAILERS_LEFT if hook == "prepare-commit-msg" else "")
        + f"if command -v {py} >/dev/null 2>&1; then\n"
        + f"    exec {py} -m {module} {rest}".rstrip()
        + "\nfi\n"
        + f'echo "sessionlog: {python} is gone; run \\`sessionlog install-hooks\\` again" >&2\n'
        + "exit 1\n"
    )


# In a `git commit` the commit hook runs first and works the trailers out
# (_repo_events.leave_trailers); adding them then needs no second Python start-up.
# Their first line is the HEAD they were left at: a commit aborted after the commit
# hook lends them to no other. Without them (--no-verify, cherry-pick, rebase) the
# Python hook works them out itself.
_TRAILERS_LEFT = """left=$(git rev-parse --git-path sessionlog/trailers) || exit 0
if [ -f "$left" ]; then
    message=$1 source=$2 sha=$3
    head=$(git rev-parse -q --verify HEAD)
    { IFS= read -r made_at; set --; while IFS= read -r line; do set -- "$@" --trailer "$line"; done; } < "$left"
    rm -f "$left"
    if [ "$made_at" = "$head" ]; then
        [ $# -gt 0 ] || exit 0
        # git writes a merge message without a final newline: start a trailer block, not the subject
        [ -z "$(tail -c 1 "$message")" ] || echo >> "$message"
        exec git interpret-trailers --in-place --if-exists doNothing "$@" "$message"
    fi
    set -- "$message" ${source:+"$source"} ${sha:+"$sha"}
fi
"""


def hooks_dir(root: Path) -> Path:
    return Path(_git.run(("rev-parse", "--path-format=absolute", "--git-path", "hooks"), cwd=root).decode().strip())


def install(root: Path, *, hooks: Sequence[str] = tuple(HOOKS), force: bool = False) -> tuple[list[str], bool]:
    """Write the shims for *hooks* into the repository's hooks folder; return what was done and whether it was.

    The repository itself is set up by ``set_up_repository``.

    If another tool's hook (the pre-commit framework's, say) sits where a shim
    goes, nothing is changed unless *force*: then the other hook is kept
    beside as ``<hook>.pre-sessionlog``.
    """
    folder = hooks_dir(root)
    foreign = [
        hook for hook in hooks if (folder / hook).exists() and MARKER not in (folder / hook).read_text(errors="replace")
    ]
    if foreign and not force:
        framework = any("pre-commit" in (folder / h).read_text(errors="replace") for h in foreign)
        advice = (
            f"the pre-commit framework manages these hooks: list sessionlog-check in .pre-commit-config.yaml, "
            f"run `{FRAMEWORK_INSTALL}`, then `sessionlog init`"
            if framework
            else "use --force to move them aside (kept as <hook>.pre-sessionlog)"
        )
        return [f"{hook}: a hook of another tool is there" for hook in foreign] + [
            f"nothing installed: {advice}"
        ], False
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for hook in hooks:
        path = folder / hook
        if hook in foreign:
            path.replace(path.with_name(f"{hook}.pre-sessionlog"))
        path.write_text(shim(hook))
        path.chmod(0o755)
        done.append(f"{hook}: installed ({sys.executable})")
    for hook in RETIRED:
        path = folder / hook
        if path.exists() and MARKER in path.read_text(errors="replace"):
            path.unlink()
            done.append(f"{hook}: removed (no longer needed)")
    return done, True


def set_up_repository(root: Path) -> list[str]:
    """Keep git from rewriting line endings in session logs, and start logging commits from now."""
    from ._repo_events import mark_logged

    done = []
    attributes = root / ".gitattributes"
    if attributes.is_symlink() or (attributes.exists() and not attributes.is_file()):
        raise StorageError(f"{attributes} is not a regular file; sessionlog never writes through a link")
    text = attributes.read_text() if attributes.exists() else ""
    if GITATTRIBUTES_LINE not in text.splitlines():
        attributes.write_text(text + ("" if not text or text.endswith("\n") else "\n") + GITATTRIBUTES_LINE + "\n")
        done.append(f".gitattributes: added `{GITATTRIBUTES_LINE}` (commit it)")
    mark_logged(root)
    return done
