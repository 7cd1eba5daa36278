"""Pick the live engine: the compiled modules, or their pure-Python twins.

The twins serve when ``CORSFAST_NO_EXTENSIONS`` is set (to anything but ""
or "0"), when the interpreter is not CPython, or when the extensions are
not installed (a pure wheel). ``engine`` matches requests; ``adapters``
holds the middleware's per-request pieces built on it.
"""

import os
import sys
from typing import TYPE_CHECKING

__all__ = ["ENGINE", "NO_EXTENSIONS", "Decision", "adapters", "check_request", "engine"]

NO_EXTENSIONS = (os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
                 or sys.implementation.name != "cpython")

if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _adapters_py as adapters
    from . import _engine_py as engine
else:
    try:
        from . import _adapters_c as adapters
        from . import _engine_c as engine
    except ImportError:  # a pure wheel: the twins serve
        from . import _adapters_py as adapters
        from . import _engine_py as engine

ENGINE: str = engine.ENGINE_NAME
check_request = engine.check_request
Decision = engine.Decision
