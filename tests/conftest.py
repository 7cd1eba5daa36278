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
