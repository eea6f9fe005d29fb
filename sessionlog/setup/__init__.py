"""Setting a repository up: hook shims, the pre-commit framework's config, agent settings, MCP."""
