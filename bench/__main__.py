"""`python -m bench` (`make bench`): every benchmark, one after the other, each printing its figures."""

from __future__ import annotations

import sys

from bench import chat_status, fanout, ingest

if __name__ == "__main__":
    for name, run in (("ingest", ingest.main), ("chat status", chat_status.main), ("fan-out", fanout.main)):
        print(f"\n== {name} ==", flush=True)
        sys.argv = [sys.argv[0]]
        run()
