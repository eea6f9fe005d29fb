from __future__ import annotations

from sessionlog.cli import main

raise SystemExit(main())
