"""Bridges from coding agents to session logs: one module per agent (``claude_code``, ``codex``)
holding the mapping its transcript importer and its live hook share (``live``), both on
sessionlog's public API. This package imports nothing on its own: the hook's fast path
(``client``) must start in a few milliseconds.
"""
