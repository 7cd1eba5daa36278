"""The compiled engine is the live one after a normal install; the twin when
CORSFAST_NO_EXTENSIONS is set."""

from __future__ import annotations

import os
import subprocess
import sys

import corsfast
from corsfast import _engine

NO_EXTENSIONS = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")


def test_live_engine_matches_the_environment() -> None:
    from corsfast import Policy

    if NO_EXTENSIONS:
        assert corsfast.ENGINE == "python"
        assert corsfast.check_request.__module__ == "corsfast._engine_py"
        assert _engine.adapters.__name__ == "corsfast._adapters_py"
        assert type(Policy()._matcher).__module__ == "corsfast._engine_py"
    else:
        assert corsfast.ENGINE == "cython", "the compiled engine did not load"
        from corsfast import _adapters_c, _engine_c

        assert corsfast.check_request is _engine_c.check_request
        assert corsfast.Decision is _engine_c.Decision
        assert _engine.adapters is _adapters_c
        for module in (_engine_c, _adapters_c):
            assert module.__file__.endswith((".so", ".pyd"))
        assert type(Policy()._matcher) is _engine_c.Matcher


def test_environment_switch_selects_the_twin() -> None:
    code = "import corsfast; print(corsfast.ENGINE)"
    env = dict(os.environ, CORSFAST_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "python"
    # "0" means "not set": the compiled engine, which the test run installed.
    env["CORSFAST_NO_EXTENSIONS"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "cython"
