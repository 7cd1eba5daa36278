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
    if NO_EXTENSIONS:
        assert corsfast.ENGINE == "python"
        assert corsfast.check_request.__module__ == "corsfast._engine_py"
        assert [m.ENGINE_NAME for m in _engine.LOADED] == ["python"]
    else:
        assert corsfast.ENGINE == "cython", "the compiled engine did not load"
        from corsfast import _engine_c

        assert corsfast.check_request is _engine_c.check_request
        assert corsfast.Decision is _engine_c.Decision
        assert _engine_c.__file__.endswith((".so", ".pyd"))
        assert [m.ENGINE_NAME for m in _engine.LOADED] == ["cython", "python"]


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
