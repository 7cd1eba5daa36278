"""Build and load the benchmark floor, ``benchmarks/_noop.pyx``.

``load()`` returns its ``noop_check``. The module is compiled on first use
with Cython's ``pyximport`` into ``benchmarks/build/`` (outside the package,
and ignored by git); once built, it is loaded straight from its file, so a
process under callgrind never imports Cython. ``python benchmarks/noop.py``
builds it ahead of time; the scripts that start several processes do that
first, so that they never race to compile it. Needs Cython and a C compiler
(``pip install -e '.[bench]'`` brings Cython).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
PYX = HERE / "_noop.pyx"
BUILD = HERE / "build"


def _built() -> Path | None:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = [p for p in BUILD.glob("**/_noop*") if p.name.endswith(suffixes)
             and p.stat().st_mtime >= PYX.stat().st_mtime]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _compile() -> None:
    try:
        import pyximport
    except ImportError:
        raise ImportError("building the benchmark floor needs Cython: pip install Cython "
                          "(or pip install -e '.[bench]')") from None
    sys.path.insert(0, str(HERE))
    hooks = pyximport.install(build_dir=str(BUILD), language_level=3, inplace=False)
    try:
        import _noop  # noqa: F401  (compiles it)
    finally:
        pyximport.uninstall(*hooks)
        sys.path.remove(str(HERE))
        sys.modules.pop("_noop", None)


def load() -> Callable[..., Any]:
    """``noop_check`` from the built module, compiled first if need be."""
    path = _built()
    if path is None:
        _compile()
        path = _built()
        assert path is not None, "pyximport built no module"
    spec = importlib.util.spec_from_file_location("_noop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.noop_check  # type: ignore[no-any-return]


if __name__ == "__main__":
    load()
    print(f"built {_built()}")
