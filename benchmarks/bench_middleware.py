"""Middleware level: a whole request through an app's ASGI or WSGI callable,
in process (no server, no test client), a new scope or environ each time.

Each family is one app measured bare, wrapped by corsfast's generic
middleware, with corsfast's drop-in for its framework, and with each peer
that fits it (Starlette's CORSMiddleware and asgi-cors around a plain ASGI
app, wsgicors around a plain WSGI app, the framework peers inside their own
framework). Overhead is wrapped minus bare, from the same run;
``benchmarks/render.py`` does the subtraction. Groups are named
``<family>: <scenario>``.
"""

from __future__ import annotations

import pytest
from peers import FAMILIES
from scenarios import SCENARIOS

CASES = [(fam, entry) for fam in FAMILIES for entry in fam.entries]


@pytest.mark.parametrize(
    "family,entry", CASES, ids=[f"{fam.key}-{entry.name}" for fam, entry in CASES])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.key for s in SCENARIOS])
def test_middleware(timed, scenario, family, entry):
    timed(entry, scenario, f"{family.title}: {scenario.title}",
          level="middleware", family=family.key, interface=family.interface)
