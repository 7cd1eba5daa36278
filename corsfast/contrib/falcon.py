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
``preflight_passthrough``, ``block_refused`` and the live-policy and
reporting options of :class:`corsfast.wsgi.CORSMiddleware`
(``log_refusals``, ``on_refusal``, ``debug``, ``shadow``, ``on_shadow``;
``reconfigure`` and ``stats``). The
decision's headers are written in ``process_response`` through Falcon's
header API, which Falcon also runs for error responses. docs/falcon.md
lists where the answers differ from Falcon's.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from .._engine import adapters, check_request
from .._headers import TOUCHED, write_over
from .._live import KEEP, Controls, OnRefusal, OnShadow, Reporter, Shadow
from .._policy import ConfigError, Policy, policy_from_arguments, warn_if_no_origin
from .._reason import Reason
from .._router import Router
from ._falcon_options import FALCON, NO_ROUTE, ROUTE_DEFAULTS, Policies, credentials
from ._live import environ_of, tally_for

__all__ = ["CORSMiddleware", "FALCON"]

# Where the decision waits between the two hooks; for a preflight waiting
# for the route's Allow, the _State that decides it.
_KEY = "corsfast.decision"
_wsgi_decide = adapters.wsgi_decide

_FALLBACK = (Reason.NOT_CORS, Reason.ORIGIN_NOT_ALLOWED)


def _route_methods(resp: Any, req_succeeded: bool) -> Any:
    """The methods the matched route allows, from the ``Allow`` its
    responder set (Falcon's default OPTIONS responder, or the resource's own
    ``on_options``); ``NO_ROUTE`` when the route failed or set no ``Allow``."""
    allow = resp.get_header("Allow") if req_succeeded else None
    methods = tuple(m.strip(" \t") for m in allow.split(",")) if allow else ()
    return tuple(m for m in methods if m) or NO_ROUTE


def _answer(resp: Any, status: Any, body: Optional[bytes]) -> None:
    """Answer here: an empty body (or ``debug``'s words), and in
    process_request Falcon then skips routing and the responder."""
    resp.status = status
    resp.text = None
    resp.data = body or b""
    if body:
        resp.content_type = "text/plain; charset=utf-8"
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


class _State:
    """What one request decides with, read once by ``process_request`` and,
    for a preflight deferred to ``process_response``, stashed beside the
    request so that the second hook decides with the same one: the ``Live``
    value (corsfast/_live.py: the policy or router, counters, shadow), the
    Falcon-option policies (``policies``, None once reconfigured), and the
    shortcuts the hooks take. ``reconfigure`` builds a new one."""

    __slots__ = ("live", "policies", "single", "router", "route_aware", "tally", "shadow")

    live: Any
    policies: Optional[Policies]
    single: Optional[Policy]
    router: Optional[Router]
    route_aware: bool
    tally: Any
    shadow: Any

    def __init__(self, live: Any, policies: Optional[Policies], route_aware: bool,
                 single: Optional[Policy]) -> None:
        set_ = object.__setattr__
        target = live.policy
        set_(self, "live", live)
        set_(self, "policies", policies)
        set_(self, "route_aware", route_aware)
        set_(self, "single", single)
        set_(self, "router", target if policies is None and isinstance(target, Router)
             else None)
        set_(self, "tally", live.tally if self.router is None else None)
        set_(self, "shadow", live.shadow)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("_State is immutable; build a new one")

    def pair(self, path: str, methods: Any) -> tuple[Optional[Policy], Optional[Policy]]:
        if self.policies is not None:
            return self.policies.pair(methods)
        if self.router is not None:
            return None, self.router.lookup(path)
        return None, self.live.policy

    def count(self, decision: Any, policy: Optional[Policy]) -> None:
        tally = self.tally
        (tally_for(self.live, policy) if tally is None else tally).add(decision)


class CORSMiddleware:
    """CORS for Falcon apps, decided by the corsfast engine.

    On ``falcon.App`` (WSGI) Falcon calls ``process_request`` and
    ``process_response``; on ``falcon.asgi.App`` the ``*_async`` hooks.

    ``log_refusals=True`` logs each refusal with its fix;
    ``on_refusal(decision, info)`` gets each one with escaped values;
    ``debug=True`` puts what to change in a refused preflight's body;
    ``shadow`` (a Policy or Router) is decided beside the enforced policy
    and each disagreement handed to ``on_shadow(info)``. :meth:`reconfigure`
    puts a corsfast ``Policy`` or ``Router`` in force while requests run,
    in place of the Falcon options the middleware was built with (the
    route-aware preflight answers end with them); :meth:`stats` reads the
    decision counters (docs/falcon.md "Live policies").
    """

    __slots__ = ("preflight_passthrough", "block_refused", "log_refusals", "debug",
                 "_controls", "_state", "_report", "_reporter", "_shadow")

    def __init__(
        self,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        log_refusals: bool = False,
        on_refusal: Optional[OnRefusal] = None,
        debug: bool = False,
        shadow: Union[Policy, Router, None] = None,
        on_shadow: Optional[OnShadow] = None,
        **policy_kwargs: Any,
    ) -> None:
        route_aware = policy is None and "allow_methods" not in policy_kwargs
        policies: Optional[Policies] = None
        if policy is None:
            kwargs = dict(policy_kwargs)
            if route_aware:
                kwargs = {**ROUTE_DEFAULTS, **kwargs}
            kwargs.setdefault("allow_origins", "*")  # Falcon's default
            origins = kwargs["allow_origins"]
            if not isinstance(origins, str):
                origins = kwargs["allow_origins"] = list(origins)
            if not isinstance(origins, str) and "*" in origins:
                raise ConfigError(["allow_origins: '*' passed to allow_origins "
                                   "inside a list; write allow_origins='*' for "
                                   "every origin"])
            credentialed = credentials(kwargs)
            policies = Policies(kwargs, credentialed)
            # Built now, so that a bad option fails here and not at a request.
            pair = policies.pair(() if route_aware else None)
            target: Union[Policy, Router] = pair[1]
            single = pair[1] if pair[0] is None and not route_aware else None
            if single is not None:
                policies = None  # one policy: nothing Falcon-specific left
            warn_if_no_origin("CORSMiddleware", [p for p in pair if p is not None])
        else:
            target = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
            single = target if isinstance(target, Policy) else None
        self._controls = Controls("CORSMiddleware", any_lookup=False)
        self._state = _State(self._controls.build(target, shadow), policies, route_aware,
                             single)
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        self.log_refusals = bool(log_refusals)
        self.debug = bool(debug)
        self._reporter = Reporter(log_refusals, on_refusal, debug)
        self._report = self._reporter.wsgi if self._reporter.active else None
        self._shadow = Shadow(on_shadow)

    # -- live configuration ------------------------------------------------------------

    @property
    def policy(self) -> Union[Policy, Router]:
        """The policy or router in force (built from Falcon's options, the
        policy for origins without credentials and, route-aware, for a route
        that allows no method)."""
        return self._state.live.policy  # type: ignore[no-any-return]

    @property
    def route_aware(self) -> bool:
        """Whether preflights take their methods from the matched route."""
        return bool(self._state.route_aware)

    def reconfigure(self, policy: Union[Policy, Router], *, shadow: Any = KEEP) -> None:
        """Serve every later request with ``policy`` (a corsfast Policy or
        Router), in place of whatever was in force, Falcon's options
        included: one reference swap, so each request (both of its hooks)
        sees the old configuration or the new one. ``shadow`` replaces the
        shadow policy (None drops it); left out, the shadow in force stays.
        A TypeError leaves everything as it was."""
        if shadow is KEEP:
            old = self._state.shadow
            shadow = None if old is None else old.policy
        live = self._controls.build(policy, shadow)
        self._state = _State(live, None, False, policy if isinstance(policy, Policy) else None)

    def stats(self) -> dict[str, Any]:
        """Decisions counted by kind and Reason name since the middleware
        was built; with a router, ``routes`` holds the same per prefix."""
        return self._controls.stats(self._state.live)

    # -- shared by both protocols ------------------------------------------------------

    def _act(self, resp: Any, decision: Any, body: Optional[bytes]) -> None:
        if decision.preflight:
            if not self.preflight_passthrough:
                _answer(resp, decision.status, body)
        elif self.block_refused and not decision.allowed:
            _answer(resp, 403, None)

    def _finish(self, resp: Any, decision: Any, req_succeeded: bool,
                body: Optional[bytes]) -> None:
        """A deferred preflight, decided with the route's methods; an error
        response (no route, a raising responder) keeps its status."""
        resp.delete_header("Allow")
        if req_succeeded and not self.preflight_passthrough:
            resp.status = decision.status
            resp.text = None
            resp.data = body or b""
            if body:
                resp.content_type = "text/plain; charset=utf-8"
        _write(resp, decision.headers)

    # -- WSGI (falcon.App) ---------------------------------------------------------------

    def _decide_environ(self, state: _State, env: Any,
                        methods: Any) -> tuple[Any, Optional[Policy]]:
        single = state.single  # one policy for every request: no pair to find
        if single is not None:
            return _wsgi_decide(single, env), single
        credentialed, plain = state.pair(env.get("PATH_INFO", ""), methods)
        if credentialed is not None:
            decision = _wsgi_decide(credentialed, env)
            if decision.reason not in _FALLBACK:
                return decision, credentialed
        if plain is None:
            return None, None
        return _wsgi_decide(plain, env), plain

    def _reported(self, state: _State, env: Any, decision: Any,
                  policy: Optional[Policy]) -> Optional[bytes]:
        """Report a refusal and a disagreement; the debug body of a refused
        preflight, or None."""
        if state.shadow is not None:
            self._shadow.wsgi(decision, env, state.shadow)
        if self._report is not None and not decision.allowed:
            return self._report(decision, env, policy)
        return None

    def process_request(self, req: Any, resp: Any) -> None:
        env = req.env
        state = self._state  # read once: this request sees one configuration
        decision, policy = self._decide_environ(
            state, env, () if state.route_aware else None)
        if decision is None:
            return
        if decision.preflight and state.route_aware:
            env[_KEY] = state  # decided in process_response, with this state
            return
        env[_KEY] = decision
        tally = state.tally  # None with a router: the route's counters
        (tally_for(state.live, policy) if tally is None else tally).add(decision)
        body = None
        if state.shadow is not None or (self._report is not None and not decision.allowed):
            body = self._reported(state, env, decision, policy)
        self._act(resp, decision, body)

    def process_response(self, req: Any, resp: Any, resource: Any,
                         req_succeeded: bool) -> None:
        env = req.env
        decision = env.get(_KEY)
        if type(decision) is _State:
            state = decision
            decision, policy = self._decide_environ(
                state, env, _route_methods(resp, req_succeeded))
            state.count(decision, policy)
            body = self._reported(state, env, decision, policy)
            self._finish(resp, decision, req_succeeded, body)
        elif decision is not None:
            _write(resp, decision.headers)

    # -- ASGI (falcon.asgi.App) ----------------------------------------------------------

    def _decide_request(self, state: _State, req: Any,
                        methods: Any) -> tuple[Any, Optional[Policy], tuple[Any, ...]]:
        single = state.single  # one policy for every request: no pair to find
        credentialed: Optional[Policy] = None
        plain: Optional[Policy] = single
        if single is None:
            credentialed, plain = state.pair(req.scope.get("path", ""), methods)
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

    def _settled_async(self, state: _State, req: Any, decision: Any,
                       policy: Optional[Policy], asked: tuple[Any, ...]) -> Optional[bytes]:
        """Count a final decision of an ASGI request, and report it as
        ``_reported`` does, with the values of Falcon's request (built into
        an environ only when there is more to do)."""
        tally = state.tally  # None with a router: the route's counters
        (tally_for(state.live, policy) if tally is None else tally).add(decision)
        shadowed = state.shadow is not None
        if shadowed or (self._report is not None and not decision.allowed):
            env = environ_of(req.method, req.get_header("Origin"),
                             req.scope.get("path"), asked)
            if shadowed:
                self._shadow.wsgi(decision, env, state.shadow)
            if self._report is not None and not decision.allowed:
                return self._report(decision, env, policy)
        return None

    async def process_request_async(self, req: Any, resp: Any) -> None:
        state = self._state  # read once: this request sees one configuration
        decision, policy, asked = self._decide_request(
            state, req, () if state.route_aware else None)
        if decision is None:
            return
        scope = req.scope
        if decision.preflight and state.route_aware:
            scope[_KEY] = state  # decided in process_response, with this state
            return
        scope[_KEY] = decision
        self._act(resp, decision, self._settled_async(state, req, decision, policy, asked))

    async def process_response_async(self, req: Any, resp: Any, resource: Any,
                                     req_succeeded: bool) -> None:
        decision = req.scope.get(_KEY)
        if type(decision) is _State:
            state = decision
            decision, policy, asked = self._decide_request(
                state, req, _route_methods(resp, req_succeeded))
            body = self._settled_async(state, req, decision, policy, asked)
            self._finish(resp, decision, req_succeeded, body)
        elif decision is not None:
            _write(resp, decision.headers)
