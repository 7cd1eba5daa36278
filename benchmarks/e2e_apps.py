"""The tiny apps that ``benchmarks/e2e.py`` serves, one variant per process.

The variant comes from the environment: ``CORSFAST_E2E_VARIANT`` is
``bare``, ``corsfast`` or a peer's name; ``CORSFAST_E2E_APP`` is ``plain``
(a bare ASGI/WSGI callable) or ``flask``. ``app`` is the ASGI application,
``wsgi_app`` the WSGI one. The policy is the "simple allowed" scenario of
``corsfast/_bench.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import corsfast  # noqa: F401
except ImportError:  # served from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corsfast import _bench as b

VARIANT = os.environ.get("CORSFAST_E2E_VARIANT", "bare")
APP = os.environ.get("CORSFAST_E2E_APP", "plain")
SCENARIO = next(s for s in b.SCENARIOS if s.key == "simple")


def _asgi():
    bare = b.bare_asgi_app()
    return {
        "bare": lambda: bare,
        "corsfast": lambda: b.corsfast_asgi(bare, SCENARIO),
        "starlette": lambda: b._starlette_mw(bare, SCENARIO),
        "asgi-cors": lambda: b.asgi_cors_app(bare, SCENARIO),
    }[VARIANT]()


def _wsgi():
    if APP == "flask":
        return {
            "bare": lambda: b.flask_app(),
            "corsfast": lambda: b.corsfast_wsgi(b.flask_app(), SCENARIO),
            "flask-cors": lambda: b.flask_app(SCENARIO),
        }[VARIANT]()
    bare = b.bare_wsgi_app()
    return {
        "bare": lambda: bare,
        "corsfast": lambda: b.corsfast_wsgi(bare, SCENARIO),
        "wsgicors": lambda: b.wsgicors_app(bare, SCENARIO),
    }[VARIANT]()


def __getattr__(name: str):
    # Built on first use, so one module serves either interface.
    if name == "app":
        value = _asgi()
    elif name == "wsgi_app":
        value = _wsgi()
    else:
        raise AttributeError(name)
    globals()[name] = value
    return value
