"""The project's own promises: hook ids, console scripts, docs, shims and CI stay in step."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml
from conftest import REPO

from sessionlog.setup.install import HOOKS, shim


def test_every_hook_id_has_a_console_script_and_a_readme_entry() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    readme = (REPO / "README.md").read_text()
    assert hooks
    for hook in hooks:
        assert hook["entry"].split()[0] in scripts, hook["id"]
        assert f"`{hook['id']}`" in readme, hook["id"]


def test_hook_shims_in_the_repo_match_what_install_hooks_writes() -> None:
    for hook in HOOKS:
        assert (REPO / "hooks" / hook).read_text() == shim(hook, "python3")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    setup, test = blocks[0].strip().splitlines()[:2]
    assert "sessionlog demo" in setup
    command = test.replace(".venv/bin/", "")
    assert command in (REPO / ".ci" / "run").read_text()


def test_ci_templates_run_the_range_check_on_every_commit() -> None:
    github = yaml.safe_load((REPO / "ci" / "github-actions.yml").read_text())
    steps = github["jobs"]["session-logs"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert "github.event.before" in steps[-1]["env"]["BASE"]
    assert "sessionlog ci --base" in steps[-1]["run"] and "--each-commit" in steps[-1]["run"]
    gitlab = yaml.safe_load((REPO / "ci" / "gitlab-ci.yml").read_text())
    assert any("sessionlog ci --base" in line and "--each-commit" in line for line in gitlab["sessionlog"]["script"])


def test_the_project_runs_its_own_check_hook() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert hooks["sessionlog-check"]["entry"] == "sessionlog-check"


def test_public_names_resolve_and_the_commit_hook_does_not_import_the_whole_library() -> None:
    import sessionlog

    for name in sessionlog.__all__:
        assert getattr(sessionlog, name) is not None
    # The hooks run on every commit: importing them must not load the logger, the archive
    # manager or the queries (each commit would pay for them).
    probe = (
        "import sys, sessionlog.hooks.check, sessionlog.hooks.prepare_commit_msg; "
        "print(sorted(m for m in ('sessionlog.core.logger', 'sessionlog.core.manage', 'sessionlog.core.queries') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bundled_rules_json_is_the_toml_files_parsed() -> None:
    """rules/bundled.json is what the hooks read; `python -m sessionlog.core.redact` regenerates it."""
    from sessionlog.core.redact import BUNDLED_RULES, bundled_documents

    folder = REPO / "sessionlog" / "rules"
    assert bundled_documents() == {name: tomllib.loads((folder / name).read_text()) for name in BUNDLED_RULES}
    assert (folder / "LICENSE-gitleaks").read_text().startswith("MIT License")


def test_the_readme_block_shapes_are_the_schemas() -> None:
    from sessionlog.core.schema import BLOCKS_END, BLOCKS_START, blocks_markdown

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index(BLOCKS_START) + len(BLOCKS_START) : readme.index(BLOCKS_END)]
    assert section.strip() == blocks_markdown(), "run `python -m sessionlog.core.schema` to regenerate it"


def test_the_agent_hook_fast_path_imports_only_the_standard_library() -> None:
    # `sessionlog hook` runs for every tool call: what the console script imports before handing
    # the payload to the warm runner must stay this small (benchmarks/bench_hook.py)
    out = _loaded_after("from sessionlog.cli import main; from sessionlog.agents import client")
    assert out == str(
        sorted(["sessionlog.agents", "sessionlog.agents.client", "sessionlog.cli", "sessionlog.git",
                "sessionlog.git.discovery", "sessionlog.warm"])
    )  # fmt: skip


def test_the_git_hook_shims_start_with_only_the_standard_library() -> None:
    out = _loaded_after("from sessionlog.hooks import fast")
    assert out == str(
        sorted(["sessionlog.git", "sessionlog.git.discovery", "sessionlog.hooks", "sessionlog.hooks.fast",
                "sessionlog.warm"])
    )  # fmt: skip


def _loaded_after(imports: str) -> str:
    """Which of sessionlog's modules (and its heavy dependencies) a fresh interpreter holds after *imports*."""
    probe = (
        f"import sys; {imports}; print(sorted(m for m in sys.modules "
        "if m.startswith(('sessionlog.', 'orjson', 'jsonschema', 're2', 'argparse'))))"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


def test_the_package_says_its_version() -> None:
    import tomllib

    import sessionlog

    assert sessionlog.__version__ == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_house_imports_only_downward_and_integrations_use_the_public_api() -> None:
    """Packages by layer: each imports only from the layers below it, and the integrations (agents,
    export, MCP) take the library only through ``sessionlog``'s public names."""
    import ast

    layers = ["errors", "git", "core", "commits", "warm", "hooks", "agents", "export", "mcp_server", "setup", "cli"]

    def layer_of(module: str) -> int | None:
        parts = module.split(".")
        if parts[0] != "sessionlog" or len(parts) < 2:
            return None
        return layers.index(parts[1]) if parts[1] in layers else None

    integrations = ("agents", "export", "mcp_server")
    for path in sorted((REPO / "sessionlog").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        own = layer_of(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                target = layer_of(node.module)
                assert node.level == 0, f"{module}: relative import"
                if target is not None:
                    assert target <= own, f"{module} imports {node.module}, a layer above it"
                if module.split(".")[1] in integrations and target is not None and target <= layers.index("commits"):
                    assert node.module == "sessionlog.errors", f"{module} imports {node.module}, not the public API"
