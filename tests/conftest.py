"""Shared fixtures. ``engine`` runs a test once per loaded engine, with ids
``cython`` and ``python``; with CORSFAST_NO_EXTENSIONS=1 only the twin is
loaded, so only ``python`` runs."""

from __future__ import annotations

from types import ModuleType

import pytest

from corsfast import _engine

ENGINES = {module.ENGINE_NAME: module for module in _engine.LOADED}


@pytest.fixture(params=sorted(ENGINES), ids=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> ModuleType:
    """The engine module under test: has ``check_request`` and ``Decision``."""
    return ENGINES[request.param]


@pytest.fixture
def adapters(engine: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Run the ASGI and WSGI middleware on ``engine``'s per-request pieces
    (the compiled ones, or the twins in corsfast/_adapters_py.py)."""
    import corsfast.asgi
    import corsfast.wsgi
    from corsfast import _adapters_py

    pieces = engine if engine.ENGINE_NAME == "cython" else _adapters_py
    monkeypatch.setattr(corsfast.asgi, "asgi_decide", pieces.asgi_decide)
    monkeypatch.setattr(corsfast.asgi.CORSMiddleware, "__call__", pieces.asgi_call)
    monkeypatch.setattr(corsfast.wsgi.CORSMiddleware, "__call__",
                        pieces.WsgiCore.__call__)
    return pieces
