"""The one place `dingtalk_stream` is imported.

The SDK reads its OpenAPI origin from DINGTALK_OPENAPI_ENDPOINT once, when it is imported, so the variable
is set here from [dingtalk] openapi_url before the first import. A process that talks to a second origin
later (tests do) keeps the first one in the SDK; ccerbot's own calls take the configured origin each time.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from types import ModuleType

log = logging.getLogger(__name__)
VARIABLE = "DINGTALK_OPENAPI_ENDPOINT"


def load(openapi_url: str) -> ModuleType:
    """`dingtalk_stream`, imported with its OpenAPI origin set to `openapi_url`."""
    origin = openapi_url.rstrip("/")
    if "dingtalk_stream" not in sys.modules:
        os.environ[VARIABLE] = origin
    module = importlib.import_module("dingtalk_stream")
    if origin != module.utils.DINGTALK_OPENAPI_ENDPOINT:
        log.info("dingtalk_stream was imported with %s; ccerbot's calls go to %s", VARIABLE, origin)
    return module
