"""Build corsfast: the compiled engine by default, a pure-Python build on request.

Two extension modules are built from src/corsfast/: ``corsfast._engine_c``
(the engine: matching requests against a policy's tables) and
``corsfast._adapters_c`` (the middleware's per-request pieces, which reach
the engine through src/corsfast/_engine_c.pxd), and ``corsfast._verdicts_c``
(the origin resolver's verdict cache, whose lookup is on the request path). Set
``CORSFAST_NO_EXTENSIONS=1`` to build a pure wheel (everything then runs as
its pure-Python twin). There is no silent fallback: when the compiled build
was asked for and cannot be made, the build fails and says why.
"""

import os
import sys

from setuptools import Extension, setup

PURE = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
MODULES = ("_engine_c", "_adapters_c", "_verdicts_c")


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
    trace = bool(os.environ.get("CORSFAST_CYTHON_TRACE"))
    macros = [("CYTHON_TRACE_NOGIL", "1")] if trace else []
    extensions = [
        Extension(f"corsfast.{name}", [f"src/corsfast/{name}.pyx"],
                  define_macros=macros)
        for name in MODULES
    ]
    return cythonize(
        extensions,
        include_path=["src"],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "linetrace": trace,
        },
        annotate=bool(os.environ.get("CORSFAST_CYTHON_ANNOTATE")),
    )


extensions = _extensions()
print(
    "corsfast: building the "
    + ("compiled (Cython) engine and adapters" if extensions
       else "pure-Python engine only")
    + f" for {sys.implementation.name} {sys.version.split()[0]}",
    file=sys.stderr,
)

setup(ext_modules=extensions)
