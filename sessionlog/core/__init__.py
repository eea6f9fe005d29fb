"""The core: ids, the schema, secret rules and redaction, the append pipeline, the hash chain,
the store and its segments, readers, queries, the logger, archives. It imports nothing above it."""
