"""WSGI middleware: read the CORS request headers, ask the engine, write
the answer (docs/spec.md "Middleware").

>>> from corsfast.wsgi import CORSMiddleware
>>> app = CORSMiddleware(app, allow_origins=["https://app.example.com"])

The middleware decides nothing itself. Per request it reads ``Origin`` and,
for ``OPTIONS``, the three ``Access-Control-Request-*`` headers from the
environ, calls :func:`corsfast.check_request` once, and then either answers a
preflight directly or adds the decision's headers to the application's
response: CORS headers the application set are replaced, ``vary`` is merged
token by token.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Protocol, Union

from . import _adapters_py
from ._engine import adapters
from ._live import KEEP, Controls, OnRefusal, OnShadow, Reporter, Shadow
from ._policy import Policy, PolicyOptions, policy_from_arguments
from ._resolver import SyncOriginResolver
from ._router import Router

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CORSMiddleware", "past_middleware"]

Header = tuple[str, str]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Lookup(Protocol):
    def lookup(self, path: str) -> Optional[Policy]: ...


_ERROR_STATUS = "500 Internal Server Error"
_ERROR_BODY = b"Internal Server Error"
_ERROR_TAIL: tuple[Header, ...] = (
    ("content-type", "text/plain; charset=utf-8"),
    ("content-length", str(len(_ERROR_BODY))),
)
answer = adapters.answer


# -- the middleware ---------------------------------------------------------------


class CORSMiddleware(adapters.WsgiCore):
    """Wrap a WSGI application with a CORS policy (docs/spec.md "Adapters").

    ``policy`` is a :class:`corsfast.Policy` or a router: a
    :class:`corsfast.Router`, or any object whose ``lookup(path)`` returns
    a ``Policy`` or None; without one, the keyword arguments build a
    ``Policy`` (typed by ``PolicyOptions``, so a type checker reports a
    misspelt one). With a router, ``lookup`` gets ``PATH_INFO`` as the server
    gives it, and requests it gives None for pass through untouched.

    ``preflight_passthrough=True`` hands preflights to the application and
    adds the decision's headers to its answer instead of answering them here.
    ``block_refused=True`` answers actual requests from refused (or
    malformed) origins with 403 without calling the application: CORS alone
    only stops the browser from reading the response, never the request's
    side effects. ``log_refusals=True`` logs each refused request at INFO on
    the ``corsfast`` logger with the fix in words, request values escaped
    (corsfast/_logging.py); ``on_refusal(decision, info)`` gets each refusal
    with escaped values; ``debug=True`` puts what to change in a refused
    preflight's body (development only); ``shadow`` is a second policy
    evaluated beside the enforced one, each disagreement logged and handed
    to ``on_shadow(info)``; ``allow_origin_resolver`` is a plain function
    ``fn(origin) -> bool`` (or a :class:`corsfast.SyncOriginResolver`) asked
    about an origin the policy refuses, behind its caches
    (docs/resolvers.md). :meth:`reconfigure` swaps the policy while
    requests run; :meth:`stats` reads the decision counters (docs/spec.md
    "Live policies (for gateways)", "Observability").

    Each request runs ``WsgiCore.__call__`` (compiled, or its twin in
    corsfast/_adapters_py.py): it reads the live configuration once, asks
    the engine once, then a preflight is answered here or the application
    runs with ``start_response`` wrapped in a ``StartResponseHook``, and a
    lazy body comes back in a ``GuardedBody`` (a CORS-carrying 500 if it
    fails before its first chunk).
    """

    __slots__ = ("_controls", "preflight_passthrough", "block_refused", "log_refusals",
                 "debug", "resolver")

    def __init__(
        self,
        app: WSGIApp,
        policy: Union[Policy, Router, _Lookup, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        log_refusals: bool = False,
        on_refusal: Optional[OnRefusal] = None,
        debug: bool = False,
        shadow: Union[Policy, Router, _Lookup, None] = None,
        on_shadow: Optional[OnShadow] = None,
        allow_origin_resolver: Union[SyncOriginResolver, Callable[[str], object],
                                     None] = None,
        **policy_kwargs: Unpack[PolicyOptions],
    ) -> None:
        policy = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
        resolver = allow_origin_resolver
        if resolver is not None and not isinstance(resolver, SyncOriginResolver):
            resolver = SyncOriginResolver(resolver)
        self.resolver = resolver
        self._controls = Controls("CORSMiddleware", any_lookup=True,
                                  verdict=None if resolver is None else resolver.lookup)
        live = self._controls.build(policy, shadow)
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        self.log_refusals = bool(log_refusals)
        self.debug = bool(debug)
        reporter = Reporter(log_refusals, on_refusal, debug)
        super().__init__(
            app,
            live,
            self.preflight_passthrough,
            self.block_refused,
            reporter.wsgi if reporter.active else None,
            Shadow(on_shadow).wsgi,
            _send_error,
            None if resolver is None else resolver.resolve,
        )

    @property
    def policy(self) -> Union[Policy, Router, _Lookup]:
        """The policy or router in force."""
        return self._live.policy  # type: ignore[no-any-return]

    def reconfigure(self, policy: Union[Policy, Router, _Lookup], *,
                    shadow: Any = KEEP) -> None:
        """Serve every later request with ``policy``: one reference swap,
        so each request sees the old policy or the new one, never a mix.
        ``shadow`` replaces the shadow policy (None drops it); left out,
        the shadow in force stays."""
        if shadow is KEEP:
            old = self._live.shadow
            shadow = None if old is None else old.policy
        live = self._controls.build(policy, shadow)
        self.configure(live)

    def stats(self) -> dict[str, Any]:
        """Decisions counted by kind and Reason name since the middleware
        was built; with a router, ``routes`` holds the same per prefix."""
        return self._controls.stats(self._live)


# The hook types the middleware hands the application as start_response
# (the compiled one and its twin).
_HOOKS = frozenset({adapters.StartResponseHook, _adapters_py.StartResponseHook})


def past_middleware(start_response: StartResponse) -> StartResponse:
    """The server's own ``start_response`` behind this middleware's hook.

    An application that answers CORS itself for some responses (a view
    decorator, say) starts those responses through it; the middleware then
    leaves their headers alone. Anything that is not the hook comes back
    unchanged.
    """
    if type(start_response) in _HOOKS:
        return start_response.start_response  # type: ignore[attr-defined, no-any-return]
    return start_response


def _send_error(start_response: StartResponse, ours: tuple[Header, ...]) -> None:
    """Send a 500 carrying the CORS headers, before the caller re-raises.

    Called from an ``except`` block. ``exc_info`` lets this replace a status
    the application already set; when its headers are already on the wire
    the server re-raises the exception instead, so nothing is sent twice. The
    body goes out through ``write`` so the response is complete on the wire
    even though the server then sees the exception (and logs it).
    """
    headers = list(ours)
    headers.extend(_ERROR_TAIL)
    try:
        write = start_response(_ERROR_STATUS, headers, sys.exc_info())
        write(_ERROR_BODY)
    except Exception:
        # Headers already sent (the server re-raised), or the client went
        # away: the caller re-raises the application's own exception.
        pass
