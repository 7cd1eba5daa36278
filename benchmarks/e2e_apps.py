"""The tiny apps that ``benchmarks/e2e.py`` serves, one variant per process.

The variant comes from the environment: ``CORSFAST_E2E_VARIANT`` is
``bare``, ``headers``, ``corsfast`` or a peer's name; ``CORSFAST_E2E_APP`` is
``plain`` (a bare ASGI/WSGI callable) or ``flask``. ``app`` is the ASGI
application, ``wsgi_app`` the WSGI one. The policy is the "simple allowed"
scenario of ``corsfast/_bench.py``, and the apps and peers are the ones the
in-process benchmarks use.

``headers`` is the bare app sending, itself and unconditionally, the two
response headers corsfast adds to this request (``access-control-allow-origin``
and ``vary``): no CORS decision at all, only what the server pays to send
those headers; in the Flask app the view returns them, so Flask's own
handling of extra headers is in it too. A CORS layer can hardly cost less
than that on this request.
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
CORS_HEADERS = [(b"access-control-allow-origin", b.ORIGIN.encode()), (b"vary", b"origin")]
_HEADERS_ASGI = [(b"content-type", b"text/plain; charset=utf-8"),
                 (b"content-length", b"2"), *CORS_HEADERS]
_HEADERS_WSGI = [(k.decode(), v.decode()) for k, v in _HEADERS_ASGI]


async def _headers_asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS_ASGI})
    await send({"type": "http.response.body", "body": b"ok"})


def _headers_wsgi(environ, start_response):
    start_response("200 OK", list(_HEADERS_WSGI))
    return [b"ok"]


def _headers_flask():
    app = b.flask_app()
    view = app.view_functions["index"]
    extra = {k.decode(): v.decode() for k, v in CORS_HEADERS}
    app.view_functions["index"] = lambda: (view(), 200, extra)
    return app


def _asgi():
    bare = b.bare_asgi
    return {
        "bare": lambda: bare,
        "headers": lambda: _headers_asgi,
        "corsfast": lambda: b.corsfast_asgi(bare, SCENARIO),
        "starlette": lambda: b.starlette_cors(bare, SCENARIO),
        "asgi-cors": lambda: b.asgi_cors_app(bare, SCENARIO),
    }[VARIANT]()


def _wsgi():
    if APP == "flask":
        return {
            "bare": lambda: b.flask_app(),
            "headers": _headers_flask,
            "corsfast": lambda: b.corsfast_wsgi(b.flask_app(), SCENARIO),
            "flask-cors": lambda: b.flask_app(SCENARIO),
        }[VARIANT]()
    bare = b.bare_wsgi
    return {
        "bare": lambda: bare,
        "headers": lambda: _headers_wsgi,
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
