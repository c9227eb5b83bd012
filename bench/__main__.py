"""`python -m bench`: every benchmark that needs no extra server, one after the other."""

from __future__ import annotations

import sys

from bench import ingest

if __name__ == "__main__":
    sys.argv = [sys.argv[0]]
    ingest.main()
