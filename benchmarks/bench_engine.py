"""Engine level: one CORS decision per call, a new set of argument objects each.

corsfast's ``check_request``, the compiled no-op floor taking the same
arguments (``benchmarks/_noop.pyx``), and each peer's own decision function
where it has one. Groups are named ``engine: <scenario>``. The pure-Python
twin's rows come from ``pytest benchmarks/ --engine python``.
"""

from __future__ import annotations

import pytest
from peers import ENGINE_ENTRIES
from scenarios import SCENARIOS


@pytest.mark.parametrize("entry", ENGINE_ENTRIES, ids=[e.name for e in ENGINE_ENTRIES])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.key for s in SCENARIOS])
def test_engine(timed, scenario, entry):
    timed(entry, scenario, f"engine: {scenario.title}", level="engine")
