"""Plain git hook shims, for repositories that do not use the pre-commit framework."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sessionlog.errors import ConfigError, GitError, StorageError, UsageError
from sessionlog.git import exe as _git

MARKER = "# sessionlog hook shim"
HOOKS = {
    "pre-commit": ("sessionlog.hooks.fast", "check"),
    "pre-merge-commit": ("sessionlog.hooks.fast", "check"),
    "pre-push": ("sessionlog.hooks.fast", 'check --pre-push "$@"'),
    "prepare-commit-msg": ("sessionlog.hooks.prepare_commit_msg", '"$@"'),
}
RETIRED = ("post-commit",)  # shims earlier versions installed
# The stages the framework runs sessionlog-check at. The trailer hook is a light
# shim beside the framework (`sessionlog init`): each framework stage costs a
# commit about 0.3 s of framework start-up (benchmarks/README.md).
FRAMEWORK_STAGES = ("pre-commit", "pre-merge-commit", "pre-push")
FRAMEWORK_INSTALL = "pre-commit install " + " ".join(f"--hook-type {stage}" for stage in FRAMEWORK_STAGES)
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
            else "use --force to move them aside (kept as <hook>.pre-sessionlog); until then no hook stages "
            "session lines, so commit them with `git add -A && git commit` (or `sessionlog flush` first), "
            "not `git commit -a`"
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
    from sessionlog.commits.events import mark_logged

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


FRAMEWORK_CONFIG = ".pre-commit-config.yaml"
_LISTED = re.compile(r"^\s*-\s*id:\s*sessionlog-check\s*(?:#.*)?$", re.M)


def framework_entry(url: str, rev: str, indent: str = "") -> str:
    return f"{indent}- repo: {url}\n{indent}  rev: {rev}\n{indent}  hooks:\n{indent}  - id: sessionlog-check\n"


def merge_framework_entry(root: Path, url: str | None, rev: str | None) -> list[str]:
    """Make the repository's pre-commit config list sessionlog-check; return what was done.

    The entry is appended as text, so the file's comments and layout stay as they
    were; where that cannot be done safely (``repos`` is not the last key, or no
    ``--repo``/``--rev`` was given) the entry to add is named instead.
    """
    config = root / FRAMEWORK_CONFIG
    if config.is_symlink() or not config.is_file():
        raise StorageError(f"{config} is not a regular file; sessionlog never writes through a link")
    text = config.read_text()
    if _LISTED.search(text):
        return [f"{FRAMEWORK_CONFIG}: lists sessionlog-check already"]
    if url is None or rev is None:
        raise UsageError(
            f"{FRAMEWORK_CONFIG} does not list sessionlog-check: add this under `repos:`, or run "
            "`sessionlog init --repo URL --rev REV` to have it added:\n"
            + framework_entry("https://github.com/<owner>/sessionlog", "<tag or sha>")
        )
    keys = re.findall(r"^([A-Za-z_][\w-]*):", text, re.M)
    first_item = re.search(r"^([ \t]*)- repo:", text, re.M)
    if not keys or keys[-1] != "repos":
        raise UsageError(
            f"{FRAMEWORK_CONFIG}: `repos:` is not its last key; add this to it by hand:\n" + framework_entry(url, rev)
        )
    indent = first_item.group(1) if first_item else ""
    merged = text + ("" if text.endswith("\n") else "\n") + framework_entry(url, rev, indent)
    _check_yaml(merged, url)
    _write_atomically(config, merged)
    return [f"{FRAMEWORK_CONFIG}: added sessionlog-check ({url} at {rev})"]


def _check_yaml(text: str, url: str) -> None:
    """With PyYAML at hand (the framework depends on it), make sure the merged file parses as meant."""
    try:
        import yaml
    except ImportError:
        return
    try:
        repos = yaml.safe_load(text).get("repos", [])
    except (yaml.YAMLError, AttributeError) as exc:
        raise UsageError(f"{FRAMEWORK_CONFIG}: cannot add the entry safely ({exc}); add it by hand") from exc
    if not any(isinstance(r, dict) and r.get("repo") == url for r in repos):
        raise UsageError(f"{FRAMEWORK_CONFIG}: cannot add the entry safely; add it by hand")


def install_framework_hooks(root: Path) -> list[str]:
    """Run the framework's own install for the stages sessionlog-check uses, when it is at hand."""
    exe = shutil.which("pre-commit")
    if exe is None:
        return [f"the pre-commit framework is not on PATH: run `{FRAMEWORK_INSTALL}`"]
    args = [a for t in FRAMEWORK_STAGES for a in ("--hook-type", t)]
    proc = subprocess.run([exe, "install", *args], cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise GitError(f"`{FRAMEWORK_INSTALL}` failed: {(proc.stderr or proc.stdout).strip()}")
    return [f"framework hooks installed ({', '.join(FRAMEWORK_STAGES)})"]


# The agents' hook events sessionlog logs (one command dispatches on the event name).
# Where each agent's hooks are registered and the command they run; the events come from the
# agent's own module (HOOK_EVENTS), the list its handler dispatches on.
AGENT_HOOKS = {
    "claude-code": (Path(".claude", "settings.json"), "sessionlog hook claude-code", "claude_code"),
    "codex": (Path(".codex", "hooks.json"), "sessionlog hook codex", "codex"),
    "gemini-cli": (Path(".gemini", "settings.json"), "sessionlog hook gemini-cli", "gemini_cli"),
}
_TIMEOUT = {"gemini-cli": 10_000}  # Gemini CLI counts a hook's timeout in milliseconds, the others in seconds


def agent_events(agent: str) -> tuple[str, ...]:
    """The hook events *agent* sends that sessionlog handles: one list, for registering and handling."""
    import importlib

    module = importlib.import_module(f"sessionlog.agents.{AGENT_HOOKS[agent][2]}")
    return tuple(module.HOOK_EVENTS)


_TOOL_EVENTS = ("PostToolUse", "PostToolUseFailure", "PermissionDenied", "BeforeTool", "AfterTool")


def merge_agent_hooks(root: Path, agent: str) -> list[str]:
    """Register ``sessionlog hook <agent>`` for the agent's events in its project settings,
    keeping everything else there; a second run changes nothing. A settings file that is
    not a JSON object is reported and left as it is."""
    import json

    relative, command, _ = AGENT_HOOKS[agent]
    events = agent_events(agent)
    path = root / relative
    doc, hooks = _json_section(path, "hooks")
    added = []
    for event in events:
        entries = hooks.setdefault(event, [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: hooks.{event} is not a list; it was left as it is")
        if any(
            isinstance(h, dict) and h.get("command") == command
            for entry in entries
            if isinstance(entry, dict)
            for h in entry.get("hooks", [])
        ):
            continue
        entry: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": _TIMEOUT.get(agent, 10)}]}
        if event in _TOOL_EVENTS:
            entry = {"matcher": "*", **entry}
        entries.append(entry)
        added.append(event)
    if not added:
        return [f"{relative}: {command} is registered already"]
    _write_atomically(path, json.dumps(doc, indent=2) + "\n")
    return [f"{relative}: {command} registered for {', '.join(added)}"]


def register_mcp(root: Path) -> list[str]:
    """Register ``sessionlog mcp`` with Claude Code (``.mcp.json``) and Codex (``.codex/config.toml``),
    keeping what those files hold; a second run changes nothing."""
    import json
    import tomllib

    done = []
    claude = root / ".mcp.json"
    doc, servers = _json_section(claude, "mcpServers")
    if "sessionlog" in servers:
        done.append(".mcp.json: sessionlog is registered already")
    else:
        servers["sessionlog"] = {"command": "sessionlog", "args": ["mcp", "--agent", "claude_code"]}
        _write_atomically(claude, json.dumps(doc, indent=2) + "\n")
        done.append(".mcp.json: sessionlog mcp registered for Claude Code")
    codex = root / ".codex" / "config.toml"
    text = codex.read_text("utf-8") if codex.is_file() and not codex.is_symlink() else ""
    try:
        servers_toml = tomllib.loads(text).get("mcp_servers", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{codex} is not valid TOML ({exc}); it was left as it is") from exc
    if "sessionlog" in servers_toml:
        done.append(".codex/config.toml: sessionlog is registered already")
    else:
        block = '[mcp_servers.sessionlog]\ncommand = "sessionlog"\nargs = ["mcp", "--agent", "codex"]\n'
        _write_atomically(
            codex, text + ("\n" if text and not text.endswith("\n") else "") + ("\n" if text else "") + block
        )
        done.append(".codex/config.toml: sessionlog mcp registered for Codex")
    return done


def _json_section(path: Path, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An agent's JSON settings file (empty when missing) and its object *key*, created if
    absent; a file that is not such an object is reported and left as it is."""
    import json

    if path.is_symlink():
        raise StorageError(f"{path} is a symlink; sessionlog never writes through a link")
    doc: Any = {}
    if path.exists():
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc}); it was left as it is") from exc
    section = doc.setdefault(key, {}) if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f'{path}: expected a JSON object with a "{key}" object; it was left as it is')
    return doc, section


def _write_atomically(path: Path, text: str) -> None:
    if path.is_symlink():
        raise StorageError(f"{path} is a symlink; sessionlog never writes through a link")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with open(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
