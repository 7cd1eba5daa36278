"""CORS for ``aiohttp.web`` apps: a middleware, and aiohttp-cors's API.

>>> from corsfast.contrib.aiohttp import cors_middleware
>>> cors = cors_middleware(allow_origins=["https://app.example.com"])
>>> app = web.Application(middlewares=[cors])
>>> app.on_response_prepare.append(cors.on_response_prepare)

(``cors.install(app)`` does both.) The middleware answers preflights
before the handler runs, so no OPTIONS route is needed; every other
response gets the decision's headers from the ``on_response_prepare``
signal, which aiohttp sends just before a response's first byte: returned
responses, raised and returned ``web.HTTPException``\\ s, the 500 aiohttp
sends (and logs) when a handler raises, and a ``web.StreamResponse`` the
handler prepares itself.

For aiohttp-cors users, the same names as ``aiohttp_cors``:

>>> from corsfast.contrib import aiohttp as aiohttp_cors
>>> cors = aiohttp_cors.setup(app, defaults={"*": aiohttp_cors.ResourceOptions()})
>>> cors.add(app.router.add_route("GET", "/hello", handler))

(see corsfast/contrib/_aiohttp_cors.py and docs/aiohttp.md). Every decision
is the engine's; this module reads the request and writes the answer.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Union

from aiohttp import web

from .._engine import check_request
from .._logging import log_refusal
from .._policy import Policy, PolicyOptions, policy_from_arguments
from .._router import Router
from .._version import __version__
from ._aiohttp_cors import (
    AIOHTTP_CORS,
    APP_CONFIG_KEY,
    CorsConfig,
    CorsViewMixin,
    ResourceOptions,
    WildcardCredentialsWarning,
    custom_cors,
    setup,
)
from ._aiohttp_io import Answer, decide, exposes_response, request_values, write

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "CORSMiddleware", "cors_middleware",
    # aiohttp-cors's API
    "APP_CONFIG_KEY", "AIOHTTP_CORS", "CorsConfig", "CorsViewMixin", "ResourceOptions",
    "WildcardCredentialsWarning", "custom_cors", "setup", "__version__",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_UNWIRED_WARNING = (
    "corsfast.contrib.aiohttp: the middleware runs but its on_response_prepare "
    "hook is not connected, so streamed responses and the 500 aiohttp sends "
    "when a handler raises carry no CORS headers; use cors.install(app), or "
    "app.on_response_prepare.append(cors.on_response_prepare)"
)


def _is_websocket(request: web.BaseRequest) -> bool:
    """A websocket handshake, as aiohttp's WebSocketResponse reads one."""
    return request.headers.get("Upgrade", "").strip().lower() == "websocket"


class CORSMiddleware:
    """An aiohttp middleware (new style, as ``@web.middleware`` makes)
    plus the ``on_response_prepare`` hook that writes the answers.

    ``policy`` is a :class:`corsfast.Policy` or :class:`corsfast.Router`
    (by ``request.path``, as aiohttp gives it); without one,
    ``policy_kwargs`` are :class:`~corsfast.Policy`'s arguments.

    - ``preflight_passthrough``: preflights reach the handler (an OPTIONS
      route), whose response gets the decision's headers.
    - ``block_refused``: actual requests whose origin is refused (or
      malformed) get 403 without reaching the handler.
    - ``check_websocket``: a websocket handshake whose Origin the policy
      does not allow gets 403 before the handler runs; one without Origin
      (not from a browser) goes through.
    - ``log_refusals``: log each refusal with its fix on the ``corsfast``
      logger (request values escaped).
    """

    __middleware_version__ = 1  # what @web.middleware marks: (request, handler)
    __slots__ = ("policy", "_single", "_router", "_passthrough", "_block_refused",
                 "_check_websocket", "_log_refusals", "_decides", "_wired", "_expose")

    def __init__(
        self,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        check_websocket: bool = False,
        log_refusals: bool = False,
        **policy_kwargs: Unpack[PolicyOptions],
    ) -> None:
        policy = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
        if not isinstance(policy, (Policy, Router)):
            raise TypeError(f"policy: expected a corsfast.Policy or corsfast.Router, "
                            f"got {type(policy).__name__}")
        self.policy: Union[Policy, Router] = policy
        self._single = policy if isinstance(policy, Policy) else None
        self._router = policy if isinstance(policy, Router) else None
        self._passthrough = bool(preflight_passthrough)
        self._block_refused = bool(block_refused)
        self._check_websocket = bool(check_websocket)
        self._log_refusals = bool(log_refusals)
        # Requests other than OPTIONS the middleware must decide itself.
        self._decides = self._block_refused or self._check_websocket
        self._wired: Optional[bool] = None  # the hook seen connected (or not)
        self._expose = (exposes_response(policy) if self._single is not None else
                        any(exposes_response(p) for p in policy.routes().values()))  # type: ignore[union-attr]

    def install(self, app: web.Application) -> web.Application:
        """Run first among ``app``'s middlewares and connect the hook."""
        app.middlewares.insert(0, self)
        app.on_response_prepare.append(self.on_response_prepare)
        return app

    def _policy_for(self, request: web.BaseRequest) -> Optional[Policy]:
        single = self._single
        if single is not None:
            return single
        return self._router.lookup(request.path)  # type: ignore[union-attr]

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        policy = self._single
        if policy is None:
            policy = self._router.lookup(request.path)  # type: ignore[union-attr]
            if policy is None:  # no policy for this path: not ours
                return await handler(request)
        if request.method == "OPTIONS" or self._decides:
            answer = self._answer(policy, request)
            if answer is not None:
                return answer
        if self._wired is not True:
            return await self._unwired(request, handler)
        return await handler(request)

    def _answer(self, policy: Policy, request: web.Request) -> Optional[Answer]:
        """A preflight's answer, or a refusal the options ask for."""
        decision = decide(policy, request)
        if decision.preflight:
            if self._passthrough:
                return None
            status = decision.status
        elif decision.allowed or not (
                self._block_refused or (self._check_websocket and _is_websocket(request))):
            return None
        else:
            status = 403
        if self._log_refusals and not decision.allowed:
            self._log(request, decision, policy)
        return Answer(status=status, headers=decision.headers)

    async def on_response_prepare(self, request: web.BaseRequest,
                                  response: web.StreamResponse) -> None:
        """The ``on_response_prepare`` hook: the decision's headers go on
        the response before its first byte."""
        if type(response) is Answer:
            return  # answered by the middleware, headers and all
        if self._wired is not True:
            self._wired = True
        policy = self._single
        if policy is None:
            policy = self._router.lookup(request.path)  # type: ignore[union-attr]
            if policy is None:
                return
        decision = check_request(policy, *request_values(request))
        if decision.preflight and not self._passthrough:
            return  # the middleware answers preflights (not in this app's chain)
        if decision.allowed:
            write(response, decision, self._expose and exposes_response(policy))
            return
        if self._log_refusals:
            self._log(request, decision, policy)
        write(response, decision)

    async def _unwired(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Until the hook has run once: is it connected? If not, write the
        answer here, on what the handler returns or raises."""
        if self._wired is None:
            apps = request.match_info.apps
            if any(self.on_response_prepare in app.on_response_prepare for app in apps):
                self._wired = True
                return await handler(request)
            warnings.warn(_UNWIRED_WARNING, RuntimeWarning, stacklevel=2)
            self._wired = False
        policy = self._policy_for(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            write(exc, decide(policy, request), self._expose and exposes_response(policy))
            raise
        if not response.prepared:
            write(response, decide(policy, request),
                  self._expose and exposes_response(policy))
        return response

    def _log(self, request: web.BaseRequest, decision: Any, policy: Policy) -> None:
        method, origin, acrm, acrh, acrpn = request_values(request)
        log_refusal(decision, method, origin, request.path, acrm, acrh, acrpn,
                    policy=policy)


def cors_middleware(
    policy: Union[Policy, Router, None] = None,
    **kwargs: Any,
) -> CORSMiddleware:
    """``CORSMiddleware(policy, **kwargs)``: the middleware for
    ``web.Application(middlewares=[...])``; connect its hook too
    (``app.on_response_prepare.append(cors.on_response_prepare)``), or use
    ``cors_middleware(...).install(app)``."""
    return CORSMiddleware(policy, **kwargs)
