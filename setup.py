"""Build corsfast: the compiled engine by default, a pure-Python build on request.

The compiled engine is one extension module, ``corsfast._engine_c``, built
from ``src/_engine_c.pyx``. Set ``CORSFAST_NO_EXTENSIONS=1`` to build a pure
wheel (the engine then runs as its pure-Python twin). There is no silent
fallback: when the compiled build was asked for and cannot be made, the
build fails and says why.
"""

import os
import sys

from setuptools import Extension, setup

PURE = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")


def _extensions():
    if PURE:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError as exc:  # pragma: no cover - build-time guard
        raise SystemExit(
            "corsfast: Cython is required to build the compiled engine "
            "(pip install Cython), or set CORSFAST_NO_EXTENSIONS=1 for a "
            "pure-Python build"
        ) from exc
    macros = []
    if os.environ.get("CORSFAST_CYTHON_TRACE"):
        macros.append(("CYTHON_TRACE_NOGIL", "1"))
    ext = Extension(
        "corsfast._engine_c",
        ["src/_engine_c.pyx"],
        define_macros=macros,
    )
    return cythonize(
        [ext],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "linetrace": bool(os.environ.get("CORSFAST_CYTHON_TRACE")),
        },
        annotate=bool(os.environ.get("CORSFAST_CYTHON_ANNOTATE")),
    )


extensions = _extensions()
print(
    "corsfast: building the "
    + ("compiled (Cython) engine" if extensions else "pure-Python engine only")
    + f" for {sys.implementation.name} {sys.version.split()[0]}",
    file=sys.stderr,
)

setup(ext_modules=extensions)
