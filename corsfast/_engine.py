"""Pick the live engine: the compiled one, or its pure-Python twin.

The twin is used when ``CORSFAST_NO_EXTENSIONS`` is set (to anything but
"" or "0"), when the interpreter is not CPython, or when the extension is
not installed (a pure wheel). Both engines build a core for every Policy,
so tests can run either against the same policies. The middleware's
per-request pieces come from the same place as the engine.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from . import _adapters_py, _contrib_py, _engine_py

NO_EXTENSIONS = (
    os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
    or sys.implementation.name != "cpython"
)

_live: ModuleType = _engine_py
_adapters: ModuleType = _adapters_py
_contrib: ModuleType = _contrib_py
if not TYPE_CHECKING and not NO_EXTENSIONS:
    try:
        from . import _engine_c as _live
    except ImportError:  # a pure wheel: the twin serves
        pass
    else:
        _adapters = _live
        _contrib = _live

ENGINE: str = _live.ENGINE_NAME
# corsfast.Policy subclasses the compiled engine's Core, so that engine
# reads a policy's tables as C fields; the twin keeps its core in a slot.
if TYPE_CHECKING:
    PolicyBase = object
else:
    PolicyBase = object if _live is _engine_py else _live.Core


def register_policy_type(cls: type) -> None:
    """Tell the compiled engine which class corsfast.Policy is."""
    if PolicyBase is not object:
        _live._register_policy_type(cls)


def init_compiled_core(policy: object, tables: object) -> None:
    """Fill the compiled core a Policy inherits (nothing to do without one)."""
    if PolicyBase is not object:
        _live.Core._engine_init(policy, tables)
LOADED: tuple[ModuleType, ...] = (
    (_live,) if _live is _engine_py else (_live, _engine_py)
)

if TYPE_CHECKING:
    # Both engines share one API; type checkers read the twin's.
    from ._adapters_py import (
        ACTION_ANSWER_PREFLIGHT as ACTION_ANSWER_PREFLIGHT,
    )
    from ._adapters_py import (
        ACTION_REFUSE as ACTION_REFUSE,
    )
    from ._adapters_py import (
        AsgiCore as AsgiCore,
    )
    from ._adapters_py import (
        AsgiSend as AsgiSend,
    )
    from ._adapters_py import (
        WsgiCore as WsgiCore,
    )
    from ._adapters_py import (
        WsgiStartResponse as WsgiStartResponse,
    )
    from ._adapters_py import (
        asgi_call as asgi_call,
    )
    from ._adapters_py import (
        asgi_decide as asgi_decide,
    )
    from ._adapters_py import (
        asgi_prepare as asgi_prepare,
    )
    from ._adapters_py import (
        wsgi_answer as wsgi_answer,
    )
    from ._adapters_py import (
        wsgi_decide as wsgi_decide,
    )
    from ._contrib_py import (
        DjangoCore as DjangoCore,
    )
    from ._contrib_py import (
        DjangoState as DjangoState,
    )
    from ._contrib_py import (
        FalconCore as FalconCore,
    )
    from ._contrib_py import (
        django_write as django_write,
    )
    from ._contrib_py import (
        falcon_answer as falcon_answer,
    )
    from ._contrib_py import (
        falcon_write as falcon_write,
    )
    from ._engine_py import Decision as Decision
    from ._engine_py import check_request as check_request
else:
    check_request = _live.check_request
    Decision = _live.Decision
    asgi_decide = _adapters.asgi_decide
    asgi_prepare = _adapters.asgi_prepare
    asgi_call = _adapters.asgi_call
    AsgiCore = _adapters.AsgiCore
    ACTION_ANSWER_PREFLIGHT = _adapters.ACTION_ANSWER_PREFLIGHT
    ACTION_REFUSE = _adapters.ACTION_REFUSE
    wsgi_decide = _adapters.wsgi_decide
    wsgi_answer = _adapters.wsgi_answer
    AsgiSend = _adapters.AsgiSend
    WsgiStartResponse = _adapters.WsgiStartResponse
    WsgiCore = _adapters.WsgiCore
    DjangoCore = _contrib.DjangoCore
    DjangoState = _contrib.DjangoState
    FalconCore = _contrib.FalconCore
    django_write = _contrib.django_write
    falcon_answer = _contrib.falcon_answer
    falcon_write = _contrib.falcon_write
