"""Git hook entry points; each module has ``main(argv) -> int``."""
