"""Shared fixtures, in propcache's style: each hands a test the module under
test, with ids ``cython`` and ``python``.

- ``engine``: the engine (``check_request``, ``Decision``, ``Matcher``);
- ``adapters``: the middleware's per-request pieces built on it.

The compiled modules must load unless CORSFAST_NO_EXTENSIONS is set: a
missing extension fails the run here instead of quietly testing the twin
against itself. With CORSFAST_NO_EXTENSIONS=1 the twins are live, and the
compiled modules are still tested beside them when they are installed (a
pure wheel has none). The middleware and drop-ins run on the live pieces;
CI runs the whole suite once per engine.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Iterator

import pytest

from corsfast import _adapters_py, _engine, _engine_py

ENGINES: dict[str, ModuleType] = {"python": _engine_py}
ADAPTERS: dict[str, ModuleType] = {"python": _adapters_py}
try:
    ENGINES["cython"] = importlib.import_module("corsfast._engine_c")
    ADAPTERS["cython"] = importlib.import_module("corsfast._adapters_c")
except ImportError:
    if not _engine.NO_EXTENSIONS:
        raise  # the compiled engine should be here: fail, never test the twin twice
IDS = sorted(ENGINES)


@pytest.fixture(params=IDS, ids=IDS)
def engine(request: pytest.FixtureRequest) -> ModuleType:
    """The engine module under test."""
    return ENGINES[request.param]


@pytest.fixture(params=IDS, ids=IDS)
def adapters(request: pytest.FixtureRequest) -> ModuleType:
    """The adapter pieces under test (corsfast._adapters_c or its twin)."""
    return ADAPTERS[request.param]


@pytest.fixture
def current_event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A current loop of its own for the test: Falcon's ASGI test client asks
    for the current one, which Python 3.10 has none of after an asyncio.run()."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()
