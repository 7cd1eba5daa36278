"""Pick the live engine: the compiled one, or its pure-Python twin.

The twin is used when ``CORSFAST_NO_EXTENSIONS`` is set (to anything but
"" or "0"), when the interpreter is not CPython, or when the extension is
not installed (a pure wheel). Both engines build a core for every Policy,
so tests can run either against the same policies.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from . import _engine_py

NO_EXTENSIONS = (
    os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
    or sys.implementation.name != "cpython"
)

_live: ModuleType = _engine_py
if not TYPE_CHECKING and not NO_EXTENSIONS:
    try:
        from . import _engine_c as _live
    except ImportError:  # a pure wheel: the twin serves
        pass

ENGINE: str = _live.ENGINE_NAME
LOADED: tuple[ModuleType, ...] = (
    (_live,) if _live is _engine_py else (_live, _engine_py)
)
check_request = _live.check_request
Decision = _live.Decision
