#!/usr/bin/env python
"""Build or update Puente's index from the knowledge folder (a thin shim over bot.ingestion).

    python ingest.py [--knowledge DIR] [--data-dir DIR] [--rebuild]
"""

from bot.ingestion.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
