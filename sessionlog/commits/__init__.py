"""What happens to session logs in commits: the commit rules (``check``: committed lines may only
be appended to) and the commits logged as events (``events``). Above the core, beside the hooks."""
