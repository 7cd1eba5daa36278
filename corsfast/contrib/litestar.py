"""CORS for Litestar as a plugin: ``Litestar(handlers, plugins=[CORSPlugin(...)])``.

``CORSPlugin`` takes the fields of Litestar's ``CORSConfig`` (or a
``CORSConfig``, or a :class:`corsfast.Policy`), per-prefix policies
(``routes={"/api": policy}``) and per-handler ones (``opt={"cors": policy}``
on a route handler, or on a router, controller or the app, through
Litestar's layers). Litestar's own ``cors_config`` must stay unset.

This module only translates. A ``CORSConfig`` becomes one
:class:`corsfast.Policy` in the ``LITESTAR`` dialect (how Litestar's answers
differ from corsfast's own, as data the engine reads), and the plugin puts
:class:`corsfast.asgi.CORSMiddleware` first in the app's middleware, with
Litestar's exception layer inside it so that an error raised further in
(an auth middleware's 401, a handler's 500) comes back as Litestar's
response and gets its CORS headers. App middleware runs after routing, so
each route knows its handler; the policy of every handler is settled once,
when Litestar registers its route, and a request costs one dict lookup to
find it. Precedence, most specific first:

1. ``opt["cors"]`` of the handler (Litestar merges ``opt`` from app, router
   and controller into it); it covers the handler's whole path, all its
   methods and its preflight, because a preflight is routed to the path's
   ``OPTIONS`` handler and cannot tell which method's policy to use
   without reading the request. Two handlers of one path with different
   policies are a ``ConfigError``.
2. ``routes=``: a :class:`corsfast.Router` on the path Litestar routed
   (``scope["path"]`` after routing; a mounted app by its mount path).
3. The plugin's own policy; with only ``routes=`` given, paths no prefix
   covers get no CORS answer.

Requests Litestar's router refuses (no such path: 404, no such method:
405) never reach app middleware, so they carry no CORS headers, and a
preflight to a path that has no route is a 404; Litestar's own CORS wraps
the router. docs/litestar.md lists this and every other difference.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Iterable, Mapping, Optional, Union, cast

from litestar._asgi.utils import wrap_in_exception_handler
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.constants import DEFAULT_ALLOWED_CORS_HEADERS
from litestar.plugins import InitPluginProtocol
from litestar.plugins.base import ReceiveRoutePlugin
from litestar.routes import ASGIRoute, BaseRoute, HTTPRoute

from .._dialect import Dialect
from .._policy import ConfigError, Policy, PolicyWarning, warn_if_no_origin
from .._reason import Reason
from .._router import Router
from ..asgi import Answer, ASGIApp, Receive, Scope, Send
from ..asgi import CORSMiddleware as _CORSMiddleware

__all__ = ["CORSPlugin", "CORSMiddleware", "LITESTAR", "policy_from_config"]

# What Litestar's allow_methods=["*"] lists on a preflight.
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
MAX_AGE_LIMIT = 86400  # the most Policy takes (browsers cap lower still)
OPT_KEY = "cors"

# How Litestar's answers differ from corsfast's own, as data (see
# corsfast/_dialect.py): every preflight method must be listed (GET, HEAD
# and POST too); header values keep Litestar's spelling; a refused
# preflight knows every check it failed (for the 400 body); a plain-http
# origin with credentials is warned about, not refused. With
# allow_headers=["*"] the requested names are echoed
# (``dataclasses.replace(LITESTAR, echo_request_headers=True)``).
LITESTAR = Dialect(
    "litestar",
    always_allowed_methods=(),
    names_as_given=True,
    every_refusal_reason=True,
    insecure_origins_with_credentials=True,
)
_LITESTAR_ECHO = dataclasses.replace(LITESTAR, echo_request_headers=True)

_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
# Litestar's words after "Disallowed CORS ", in its order.
_REFUSAL_WORDS = (
    (Reason.METHOD_NOT_ALLOWED, "method"),
    (Reason.ORIGIN_NOT_ALLOWED, "Origin"),
    (Reason.HEADERS_NOT_ALLOWED, "headers"),
    (Reason.PRIVATE_NETWORK_NOT_ALLOWED, "private-network"),
    (Reason.MALFORMED_REQUEST, "request"),
)
_FIELDS = ("allow_origins", "allow_methods", "allow_headers", "allow_credentials",
           "allow_origin_regex", "expose_headers", "max_age")


# -- CORSConfig -> Policy ----------------------------------------------------------


def _names(value: Union[str, Iterable[Any], None]) -> list[Any]:
    """Litestar takes lists; a lone string is one item, not its letters."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _star_errors(origins: list[Any]) -> list[str]:
    """Entries where Litestar's '*' (any text) has no corsfast form."""
    errors = []
    for i, entry in enumerate(origins):
        if not isinstance(entry, str) or entry == "*" or "*" not in entry:
            continue
        scheme, _, rest = entry.rpartition("://")
        rest = rest[2:] if rest.startswith("*.") else rest
        rest = rest[:-2] if rest.endswith(":*") else rest
        if "*" not in scheme + rest:
            continue  # a subdomain or any-port pattern: the Policy checks it
        regex = r"[a-z0-9-]+".join(part.replace(".", r"\.") for part in entry.split("*"))
        errors.append(
            f"allow_origins[{i}] {entry!r}: Litestar reads '*' as any text, so this "
            f"would also admit {entry.replace('*', 'evil')!r}; corsfast takes '*' "
            f"only as the whole first label ('https://*.example.com') or the whole "
            f"port ('http://localhost:*'); for another shape give "
            f"allow_origin_regex=r'{regex}'")
    return errors


def policy_from_config(config: CORSConfig) -> Policy:
    """One Litestar ``CORSConfig`` as a Policy in the ``LITESTAR`` dialect."""
    origins: Any = _names(config.allow_origins)
    credentials = bool(config.allow_credentials)
    errors = _star_errors(origins)
    if "*" in origins:
        if credentials:
            # Litestar answers '*' and reflects any origin that sends a
            # cookie, with credentials; corsfast never reflects every origin.
            errors.append("allow_origins '*' with allow_credentials=True: a '*' origin "
                          "cannot carry credentials; list the trusted origins instead "
                          "(patterns such as 'https://*.example.com' work)")
        origins = "*"
    if errors:
        raise ConfigError(errors)
    methods = _names(config.allow_methods)
    headers = {h.lower() if isinstance(h, str) else h: h for h in _names(config.allow_headers)}
    echo = "*" in headers
    if echo:
        # Litestar echoes every requested name, Authorization included,
        # which a bare "*" does not cover
        # [https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name].
        allowed: list[Any] = ["*", "authorization"]
    else:
        # Litestar always allows its four safelisted names, as it spells them.
        headers.update((h.lower(), h) for h in DEFAULT_ALLOWED_CORS_HEADERS)
        allowed = sorted(headers.values(), key=str)
    max_age = config.max_age
    if isinstance(max_age, int) and not isinstance(max_age, bool) and max_age > MAX_AGE_LIMIT:
        warnings.warn(f"CORSPlugin: max_age={max_age} is above what any browser honours; "
                      f"corsfast sends {MAX_AGE_LIMIT}", UserWarning, stacklevel=3)
        max_age = MAX_AGE_LIMIT
    return Policy(
        allow_origins=origins,
        allow_origin_regex=config.allow_origin_regex,
        allow_methods=list(ALL_METHODS) if "*" in methods else sorted(set(methods), key=str),
        allow_headers=allowed,
        expose_headers=sorted(set(_names(config.expose_headers)), key=str),
        allow_credentials=credentials,
        max_age=max_age,
        dialect=_LITESTAR_ECHO if echo else LITESTAR,
    )


def _policy(value: Any, where: str) -> Policy:
    if isinstance(value, Policy):
        return value
    if isinstance(value, CORSConfig):
        return policy_from_config(value)
    raise ConfigError([f"{where}: expected a corsfast.Policy or a litestar CORSConfig, "
                       f"got {type(value).__name__}"])


# -- the middleware and the plugin ---------------------------------------------------


class CORSMiddleware(_CORSMiddleware):
    """:class:`corsfast.asgi.CORSMiddleware` with Litestar's answer to a
    refused preflight: 400, ``Disallowed CORS <the failed checks>``."""

    def preflight_response(self, decision: Any) -> Answer:
        if decision.allowed:
            return super().preflight_response(decision)
        failed = decision.reasons
        body = ("Disallowed CORS " + ", ".join(
            word for reason, word in _REFUSAL_WORDS if reason in failed)).encode()
        return 400, [_TEXT_PLAIN, (b"content-length", str(len(body)).encode())], body


class _Route:
    """The plugin's entry in one route's middleware stack: the middleware
    serving the handler Litestar routed to, one per policy (built with the
    stack, at start-up)."""

    __slots__ = ("_apps", "_chosen")

    def __init__(self, apps: list[ASGIApp], chosen: Mapping[Any, int]) -> None:
        self._apps = apps
        self._chosen = chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._apps[self._chosen.get(scope.get("route_handler"), 0)](scope, receive, send)


class CORSPlugin(InitPluginProtocol, ReceiveRoutePlugin):
    """CORS for a Litestar app from ``CORSConfig``'s fields (Litestar's
    defaults for those left out), a ``CORSConfig``, or a corsfast
    ``Policy``; ``routes`` maps path prefixes to policies; a handler's
    ``opt["cors"]`` overrides both for its path. ``log_refusals=True``
    logs each refusal with its fix."""

    __slots__ = ("_targets", "_index", "_chosen", "_log_refusals")

    def __init__(
        self,
        config: Union[CORSConfig, Policy, None] = None,
        *,
        allow_origins: Optional[Iterable[str]] = None,
        allow_methods: Optional[Iterable[str]] = None,
        allow_headers: Optional[Iterable[str]] = None,
        allow_credentials: Optional[bool] = None,
        allow_origin_regex: Optional[str] = None,
        expose_headers: Optional[Iterable[str]] = None,
        max_age: Optional[int] = None,
        routes: Optional[Mapping[str, Union[Policy, CORSConfig]]] = None,
        log_refusals: bool = False,
    ) -> None:
        given: dict[str, Any] = {name: value for name, value in zip(_FIELDS, (
            allow_origins, allow_methods, allow_headers, allow_credentials,
            allow_origin_regex, expose_headers, max_age)) if value is not None}
        if config is not None and given:
            raise TypeError(f"CORSPlugin got a config and CORSConfig fields "
                            f"({', '.join(given)}); pass one or the other")
        base: Optional[Policy] = None
        if config is not None:
            base = _policy(config, "CORSPlugin(config)")
        elif given or not routes:
            base = policy_from_config(CORSConfig(**given))
        target: Union[Policy, Router]
        if routes:
            table = {prefix: _policy(value, f"routes[{prefix!r}]")
                     for prefix, value in dict(routes).items()}
            if base is not None:
                if any(isinstance(p, str) and not p.rstrip("/") for p in table):
                    raise ConfigError(["routes['/']: the plugin's own policy covers '/' "
                                       "already; give it once"])
                table["/"] = base
            target = Router(table)
        else:
            target = cast(Policy, base)  # set above whenever routes are not given
        warn_if_no_origin("CORSPlugin", target)
        self._targets: list[Union[Policy, Router, None]] = [target]
        self._index: dict[Union[Policy, Router, None], int] = {target: 0}
        self._chosen: dict[Any, int] = {}  # route handler -> index in _targets
        self._log_refusals = bool(log_refusals)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Put the plugin first in the app's middleware; Litestar's own CORS
        must be off."""
        if app_config.cors_config is not None:
            raise ConfigError(["Litestar(cors_config=...) and CORSPlugin would both answer "
                               "CORS; pass the CORSConfig to CORSPlugin(config) and drop "
                               "cors_config"])
        app_config.middleware.insert(0, self._route_middleware)
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        """Settle the policy of each handler of ``route`` (see the module
        docstring for the precedence)."""
        handlers: list[Any] = list(route.route_handlers if isinstance(route, HTTPRoute)
                                   else [cast(Any, route).route_handler])
        policies: dict[Policy, list[str]] = {}
        for handler in handlers:
            if OPT_KEY in handler.opt:
                policy = _policy(handler.opt[OPT_KEY], f"{handler}: opt[{OPT_KEY!r}]")
                policies.setdefault(policy, []).append(str(handler))
        if len(policies) > 1:
            owners = "; ".join(", ".join(names) for names in policies.values())
            raise ConfigError([f"route {route.path!r}: its handlers carry different "
                               f"opt[{OPT_KEY!r}] policies ({owners}); a preflight for the "
                               f"path cannot choose between them: give them one policy"])
        target: Union[Policy, Router, None] = self._targets[0]
        if policies:
            [target] = policies
        elif isinstance(route, ASGIRoute) and isinstance(target, Router):
            # A mounted app sees the path under its mount: look up the mount.
            target = target.lookup(route.path)
        index = self._index.get(target)
        if index is None:
            if target is not None:
                warn_if_no_origin(f"CORSPlugin, route {route.path!r}", target)
            index = self._index[target] = len(self._targets)
            self._targets.append(target)
        for handler in handlers:
            if self._chosen.setdefault(handler, index) != index:
                raise ConfigError([f"{handler} serves {route.path!r} and another path "
                                   f"under different CORS policies; set opt[{OPT_KEY!r}] "
                                   f"on the handler itself"])

    def _route_middleware(self, app: Any) -> Any:
        """The plugin in one route's middleware stack (Litestar calls this
        once per route and method, after ``receive_route`` for the route)."""
        inner: Any = wrap_in_exception_handler(app)
        with warnings.catch_warnings():
            # Said once already, when the plugin met each policy.
            warnings.simplefilter("ignore", PolicyWarning)
            apps = [app if target is None else
                    CORSMiddleware(inner, target, log_refusals=self._log_refusals)
                    for target in self._targets]
        return _Route(apps, self._chosen)
