"""Falcon middleware for WSGI (``falcon.App``) and ASGI (``falcon.asgi.App``).

>>> import falcon
>>> from corsfast.contrib.falcon import CORSMiddleware
>>> app = falcon.App(middleware=[CORSMiddleware(allow_origins=["https://app.example.com"])])

It takes Falcon's own ``CORSMiddleware`` arguments (``allow_origins``,
``expose_headers``, ``allow_credentials`` as ``None``, a list or a string of
origins, ``allow_private_network``) and answers as Falcon's does: a
preflight's methods come from the matched route (its ``Allow``, from its
responders or a custom ``on_options``), so a route without one refuses it,
requested headers are echoed once validated, and ``max_age`` is 86400.
``CORSMiddleware(allow_origins="*")`` is therefore ``cors_enable=True``.

Given ``allow_methods`` (or a :class:`corsfast.Policy` or
:class:`corsfast.Router`) it answers preflights from that list in
``process_request``, before routing, as :class:`corsfast.wsgi.CORSMiddleware`
does; every other ``Policy`` keyword argument is taken too, with
``preflight_passthrough``, ``block_refused`` and ``log_refusals``. The
decision's headers are written in ``process_response`` through Falcon's
header API, which Falcon also runs for error responses. docs/falcon.md
lists where the answers differ from Falcon's.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional, Union

from .._dialect import Dialect
from .._engine import adapters, check_request
from .._headers import TOUCHED, write_over
from .._logging import log_environ_refusal, log_refusal
from .._policy import ConfigError, Policy, policy_from_arguments, warn_if_no_origin
from .._reason import Reason
from .._router import Router

__all__ = ["CORSMiddleware", "FALCON"]

_KEY = "corsfast.decision"  # where the decision waits between the two hooks
_wsgi_decide = adapters.wsgi_decide

# How Falcon's CORSMiddleware answers differ from corsfast's own, as data
# (corsfast/_dialect.py): the requested header names are echoed as sent, a
# preflight that asked for none still gets "access-control-allow-headers: *",
# and "*" is sent only to requests with an Origin (so with "vary: origin").
FALCON = Dialect("falcon", echo_request_headers=True, unasked_allow_headers="*",
                 vary_with_static_star=True)

# The route-aware defaults, as cors_enable=True answers: any header a
# browser may ask for (authorization must be named), a day of caching.
_ROUTE_DEFAULTS = {"allow_headers": ("*", "authorization"), "max_age": 86400,
                   "dialect": FALCON}
_DEFERRED = object()      # a preflight waiting for the route's Allow
_NO_ROUTE = "no route"    # no route, or one without Allow: every preflight refused
_MAX_DERIVED = 256        # policies kept per distinct Allow value
_FALLBACK = (Reason.NOT_CORS, Reason.ORIGIN_NOT_ALLOWED)


def _credentials(kwargs: dict[str, Any]) -> Optional[list[str]]:
    """Falcon's ``allow_credentials``: ``None``, ``"*"``, an origin or a list
    of them (corsfast's ``True``/``False`` pass through). Returns the origins
    that get credentials when Falcon's list form is used, else None; the
    keyword arguments are left with a bool."""
    given = kwargs.get("allow_credentials")
    if given is None or isinstance(given, bool):
        kwargs["allow_credentials"] = bool(given)
        return None
    star = kwargs.get("allow_origins", "*") == "*"
    if given == "*":
        if star:
            raise ConfigError([
                "allow_credentials='*' with allow_origins='*' would send every "
                "origin's own name back with credentials, so any site could read "
                "responses as the user; list the trusted origins instead: "
                "allow_credentials=['https://app.example.com'], or "
                "allow_origins=[...] with allow_credentials=True"])
        kwargs["allow_credentials"] = True
        return None
    listed = [given] if isinstance(given, str) else list(given)
    if "*" in listed:
        raise ConfigError(["allow_credentials: '*' passed to allow_credentials "
                           "inside a list; list the origins that get credentials"])
    kwargs["allow_credentials"] = False
    if not star:  # credentials only for origins allow_origins lets in
        allowed = kwargs["allow_origins"]
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        listed = [origin for origin in listed if origin in allowed]
    return listed


class _Policies:
    """What one middleware decides with: a Policy, or (with Falcon's list of
    credentialed origins) a credentialed Policy asked first and the plain
    one for every origin it does not allow; in route-aware mode, one pair
    per set of methods a route allows, built on first use."""

    __slots__ = ("kwargs", "credentialed", "derived")

    def __init__(self, kwargs: dict[str, Any], credentialed: Optional[list[str]]) -> None:
        self.kwargs = kwargs
        self.credentialed = credentialed
        self.derived: dict[Any, tuple[Optional[Policy], Policy]] = {}

    def pair(self, methods: Any) -> tuple[Optional[Policy], Policy]:
        """The (credentialed or None, plain) policies for ``methods``."""
        found = self.derived.get(methods)
        if found is None:
            try:
                found = self._build(methods)
            except ConfigError:
                if methods is None or methods is _NO_ROUTE:
                    raise
                # An Allow no policy can list (CONNECT, a bad token): the
                # route allows no preflight.
                found = self.pair(_NO_ROUTE)
            if len(self.derived) < _MAX_DERIVED:
                self.derived[methods] = found
        return found

    def _build(self, methods: Any) -> tuple[Optional[Policy], Policy]:
        kwargs = dict(self.kwargs)
        if methods is _NO_ROUTE:
            # Not even GET, HEAD or POST: the route answers no preflight.
            kwargs["allow_methods"] = ()
            kwargs["dialect"] = dataclasses.replace(
                kwargs.get("dialect", FALCON), always_allowed_methods=())
        elif methods is not None:
            kwargs["allow_methods"] = methods
        if self.credentialed is None:
            return None, Policy(**kwargs)
        dialect = kwargs.get("dialect", FALCON)
        if kwargs.get("allow_origins", "*") == "*":
            # The answer now depends on the origin: caches must key on it.
            kwargs["dialect"] = dataclasses.replace(dialect, vary_with_static_star=True)
        plain = Policy(**kwargs)
        try:
            credentialed = Policy(**{**kwargs, "allow_origins": self.credentialed,
                                     "allow_credentials": True})
        except ConfigError as exc:
            # The entries at fault are the user's allow_credentials ones.
            raise ConfigError([re.sub(r"^allow_origins\b", "allow_credentials", line)
                               for line in exc.errors]) from None
        return credentialed, plain


def _route_methods(resp: Any, req_succeeded: bool) -> Any:
    """The methods the matched route allows, from the ``Allow`` its
    responder set (Falcon's default OPTIONS responder, or the resource's own
    ``on_options``); ``_NO_ROUTE`` when the route failed or set no ``Allow``."""
    allow = resp.get_header("Allow") if req_succeeded else None
    methods = tuple(m.strip(" \t") for m in allow.split(",")) if allow else ()
    return tuple(m for m in methods if m) or _NO_ROUTE


def _answer(resp: Any, status: Any) -> None:
    """Answer in process_request: an empty body, and Falcon skips routing
    and the responder."""
    resp.status = status
    resp.text = None
    resp.data = b""
    resp.complete = True


def _write(resp: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """The decision's headers over the resource's, through Falcon's API; a
    resource's own allow-origin stands, as in Falcon."""
    existing = resp.headers  # a copy, keys lowercase
    if TOUCHED.isdisjoint(existing):
        # The usual case: the resource set no CORS header and no vary.
        resp.set_headers(ours)
        return
    write_over(list(existing), lambda: existing.get("vary"), resp.set_header,
               resp.delete_header, ours, keep_app_origin=True)


class CORSMiddleware:
    """CORS for Falcon apps, decided by the corsfast engine.

    On ``falcon.App`` (WSGI) Falcon calls ``process_request`` and
    ``process_response``; on ``falcon.asgi.App`` the ``*_async`` hooks.
    """

    __slots__ = ("policy", "preflight_passthrough", "block_refused", "log_refusals",
                 "route_aware", "_policies", "_router", "_single")

    def __init__(
        self,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        log_refusals: bool = False,
        **policy_kwargs: Any,
    ) -> None:
        self.route_aware = policy is None and "allow_methods" not in policy_kwargs
        self._router: Optional[Router] = None
        if policy is None:
            kwargs = dict(policy_kwargs)
            if self.route_aware:
                kwargs = {**_ROUTE_DEFAULTS, **kwargs}
            kwargs.setdefault("allow_origins", "*")  # Falcon's default
            origins = kwargs["allow_origins"]
            if not isinstance(origins, str):
                origins = kwargs["allow_origins"] = list(origins)
            if not isinstance(origins, str) and "*" in origins:
                raise ConfigError(["allow_origins: '*' passed to allow_origins "
                                   "inside a list; write allow_origins='*' for "
                                   "every origin"])
            credentialed = _credentials(kwargs)
            self._policies: Optional[_Policies] = _Policies(kwargs, credentialed)
            # Built now, so that a bad option fails here and not at a request.
            pair = self._policies.pair(() if self.route_aware else None)
            self.policy: Union[Policy, Router] = pair[1]
            self._single: Optional[Policy] = (
                pair[1] if pair[0] is None and not self.route_aware else None)
            warn_if_no_origin("CORSMiddleware", [p for p in pair if p is not None])
        else:
            policy = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
            if not isinstance(policy, (Policy, Router)):
                raise TypeError("CORSMiddleware: policy must be a corsfast.Policy or "
                                f"corsfast.Router, got {type(policy).__name__}")
            self.policy = policy
            self._policies = None
            self._router = policy if isinstance(policy, Router) else None
            self._single = policy if isinstance(policy, Policy) else None
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        self.log_refusals = bool(log_refusals)

    def _pair(self, path: str, methods: Any) -> tuple[Optional[Policy], Optional[Policy]]:
        if self._policies is not None:
            return self._policies.pair(methods)
        if self._router is not None:
            return None, self._router.lookup(path)
        return None, self.policy  # type: ignore[return-value]

    def _act(self, resp: Any, decision: Any) -> None:
        if decision.preflight:
            if not self.preflight_passthrough:
                _answer(resp, decision.status)
        elif self.block_refused and not decision.allowed:
            _answer(resp, 403)

    def _finish(self, resp: Any, decision: Any, req_succeeded: bool) -> None:
        """A deferred preflight, decided with the route's methods; an error
        response (no route, a raising responder) keeps its status."""
        resp.delete_header("Allow")
        if req_succeeded and not self.preflight_passthrough:
            resp.status = decision.status
            resp.text = None
            resp.data = b""
        _write(resp, decision.headers)

    # -- WSGI (falcon.App) ---------------------------------------------------------------

    def _decide_environ(self, env: Any, methods: Any) -> tuple[Any, Optional[Policy]]:
        single = self._single  # one policy for every request: no pair to find
        if single is not None:
            return _wsgi_decide(single, env), single
        credentialed, plain = self._pair(env.get("PATH_INFO", ""), methods)
        if credentialed is not None:
            decision = _wsgi_decide(credentialed, env)
            if decision.reason not in _FALLBACK:
                return decision, credentialed
        if plain is None:
            return None, None
        return _wsgi_decide(plain, env), plain

    def process_request(self, req: Any, resp: Any) -> None:
        env = req.env
        decision, policy = self._decide_environ(env, () if self.route_aware else None)
        if decision is None:
            return
        if decision.preflight and self.route_aware:
            env[_KEY] = _DEFERRED
            return
        env[_KEY] = decision
        if self.log_refusals and not decision.allowed:
            log_environ_refusal(decision, env, policy)
        self._act(resp, decision)

    def process_response(self, req: Any, resp: Any, resource: Any,
                         req_succeeded: bool) -> None:
        env = req.env
        decision = env.get(_KEY)
        if decision is _DEFERRED:
            decision, policy = self._decide_environ(
                env, _route_methods(resp, req_succeeded))
            if self.log_refusals and not decision.allowed:
                log_environ_refusal(decision, env, policy)
            self._finish(resp, decision, req_succeeded)
        elif decision is not None:
            _write(resp, decision.headers)

    # -- ASGI (falcon.asgi.App) ----------------------------------------------------------

    def _decide_request(self, req: Any,
                        methods: Any) -> tuple[Any, Optional[Policy], tuple[Any, ...]]:
        single = self._single  # one policy for every request: no pair to find
        credentialed: Optional[Policy] = None
        plain: Optional[Policy] = single
        if single is None:
            credentialed, plain = self._pair(req.scope.get("path", ""), methods)
        if plain is None:
            return None, None, ()
        # Falcon has already read the scope's headers (an ASGI server may
        # give them as a one-shot iterable): ask its request for them.
        get = req.get_header
        origin = get("Origin")
        method = req.method
        asked: tuple[Any, ...] = ()
        if origin is not None and method == "OPTIONS":
            asked = (get("Access-Control-Request-Method"),
                     get("Access-Control-Request-Headers"),
                     get("Access-Control-Request-Private-Network"))
        if credentialed is not None:
            decision = check_request(credentialed, method, origin, *asked)
            if decision.reason not in _FALLBACK:
                return decision, credentialed, asked
        return check_request(plain, method, origin, *asked), plain, asked

    def _log(self, req: Any, decision: Any, policy: Any, asked: tuple[Any, ...]) -> None:
        log_refusal(decision, req.method, req.get_header("Origin"), req.scope.get("path"),
                    *asked, policy=policy)

    async def process_request_async(self, req: Any, resp: Any) -> None:
        decision, policy, asked = self._decide_request(
            req, () if self.route_aware else None)
        if decision is None:
            return
        scope = req.scope
        if decision.preflight and self.route_aware:
            scope[_KEY] = _DEFERRED
            return
        if self.log_refusals and not decision.allowed:
            self._log(req, decision, policy, asked)
        scope[_KEY] = decision
        self._act(resp, decision)

    async def process_response_async(self, req: Any, resp: Any, resource: Any,
                                     req_succeeded: bool) -> None:
        decision = req.scope.get(_KEY)
        if decision is _DEFERRED:
            decision, policy, asked = self._decide_request(
                req, _route_methods(resp, req_succeeded))
            if self.log_refusals and not decision.allowed:
                self._log(req, decision, policy, asked)
            self._finish(resp, decision, req_succeeded)
        elif decision is not None:
            _write(resp, decision.headers)
