"""Engine level: one CORS decision per call.

corsfast's compiled ``check_request``, its pure-Python twin called directly
(``corsfast._engine_py.check_request`` on the same Policy), the no-op
compiled floor taking the same arguments, and each peer's own decision
function where it has one. Groups are named ``engine: <scenario>``.
"""

from __future__ import annotations

import pytest

from corsfast._bench import ENGINE_ENTRIES, SCENARIOS


@pytest.mark.parametrize("entry", ENGINE_ENTRIES, ids=[e.name for e in ENGINE_ENTRIES])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.key for s in SCENARIOS])
def test_engine(timed, scenario, entry):
    timed(entry, scenario, f"engine: {scenario.title}", level="engine")
