"""`python -m bench` (`make bench`): every benchmark, one after the other, each printing its figures."""

from __future__ import annotations

import sys

from bench import chat_status, fanout, hostile, ingest, service_rss

if __name__ == "__main__":
    benchmarks = (
        ("ingest", ingest.main),
        ("chat status", chat_status.main),
        ("chat while hostile mail is read", hostile.main),
        ("fan-out", fanout.main),
        ("memory of the service", service_rss.main),
    )
    for name, run in benchmarks:
        print(f"\n== {name} ==", flush=True)
        sys.argv = [sys.argv[0]]
        run()
