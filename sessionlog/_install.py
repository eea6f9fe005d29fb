"""Plain git hook shims, for repositories that do not use the pre-commit framework."""

from __future__ import annotations

from pathlib import Path

from . import _git

MARKER = "# sessionlog hook shim"
HOOKS = {
    "pre-commit": "sessionlog-check",
    "pre-merge-commit": "sessionlog-check",
    "pre-push": 'sessionlog-check --pre-push "$@"',
    "prepare-commit-msg": 'sessionlog-prepare-commit-msg "$@"',
    "post-commit": "sessionlog-log-commit",
}


def shim(hook: str) -> str:
    """The text of one hook shim: run the installed console script, or the module as a fallback."""
    command = HOOKS[hook]
    script, _, rest = command.partition(" ")
    module = {
        "sessionlog-check": "sessionlog.hooks.check",
        "sessionlog-log-commit": "sessionlog.hooks.log_commit",
        "sessionlog-prepare-commit-msg": "sessionlog.hooks.prepare_commit_msg",
    }[script]
    return (
        "#!/bin/sh\n"
        f"{MARKER} ({hook}); installed by `sessionlog install-hooks`\n"
        f"if command -v {script} >/dev/null 2>&1; then\n"
        f"    exec {command}\n"
        "fi\n"
        f"exec python3 -m {module} {rest}".rstrip()
        + "\n"
    )


def install(root: Path, *, force: bool = False) -> list[str]:
    """Write the shims into the repository's hooks folder; return what was done, one line per hook.

    A hook that is not a sessionlog shim is left alone unless *force*; then it
    is kept beside as ``<hook>.pre-sessionlog``.
    """
    hooks_dir = Path(
        _git.run(("rev-parse", "--path-format=absolute", "--git-path", "hooks"), cwd=root).decode().strip()
    )
    hooks_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for hook in HOOKS:
        path = hooks_dir / hook
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            if not force:
                done.append(f"{hook}: skipped, a hook of another tool is there (use --force to move it aside)")
                continue
            path.replace(path.with_name(f"{hook}.pre-sessionlog"))
        path.write_text(shim(hook))
        path.chmod(0o755)
        done.append(f"{hook}: installed")
    return done
