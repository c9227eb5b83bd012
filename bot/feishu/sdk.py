"""The one place `lark_oapi` is imported.

`lark_oapi.ws.client` takes an event loop when it is imported (`asyncio.get_event_loop()`, module-level
`loop`) and runs every long connection on it with `run_until_complete`. Imported in a thread that runs a
loop (the service's, a test server's), it would take that one and never run. It is therefore imported here,
in a short-lived thread of its own, where the SDK makes itself a fresh loop; nothing else imports it.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def load() -> ModuleType:
    """`lark_oapi`, with its long connection's loop its own."""
    with _lock:
        if "lark_oapi" not in sys.modules:
            failure: list[BaseException] = []

            def import_it() -> None:
                try:
                    importlib.import_module("lark_oapi")
                except BaseException as error:  # re-raised in the caller's thread
                    failure.append(error)

            thread = threading.Thread(target=import_it, name="lark-import", daemon=True)
            thread.start()
            thread.join()
            if failure:
                raise failure[0]
        return sys.modules["lark_oapi"]
