"""aiohttp-cors's API (``setup``, ``CorsConfig.add``, ``ResourceOptions``,
``CorsViewMixin``, ``custom_cors``) on corsfast's engine.

Configuration is read as aiohttp-cors reads it: a mapping of origin (or
``"*"``, every other origin) to :class:`ResourceOptions`, looked up in a
route's own options, then its resource's, then ``setup``'s defaults; an
origin listed anywhere beats ``"*"``. ``add`` gives the resource an OPTIONS
route that answers preflights, and the app's ``on_response_prepare``
signal writes the answer on every other response of a CORS-enabled
resource (errors and streamed responses included).

This module only translates. For each resource and method, the origins
with the same options become one :class:`corsfast.Policy` in the
``AIOHTTP_CORS`` dialect (how aiohttp-cors's answers differ from
corsfast's own, as data), ``"*"`` one more; per request the engine is
asked with those policies in that order, and the first that does not
refuse the origin answers. docs/aiohttp.md lists the differences.

(About 490 lines: aiohttp-cors's whole public API, each class with the
option parsing its peer does; the request path is in _aiohttp_io.py.)
"""

from __future__ import annotations

import collections
import collections.abc
import numbers
import warnings
from collections import ChainMap
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Optional, Union

from aiohttp import hdrs, web

from .._dialect import Dialect
from .._engine import check_request
from .._logging import log_refusal
from .._policy import Policy
from .._reason import Reason
from ._aiohttp_io import exposes_response, request_values, write

__all__ = ["APP_CONFIG_KEY", "AIOHTTP_CORS", "CorsConfig", "CorsViewMixin",
           "ResourceOptions", "WildcardCredentialsWarning", "custom_cors", "setup"]

# How aiohttp-cors's answers differ from corsfast's own, as data (see
# corsfast/_dialect.py): every preflight method must be allowed (GET, HEAD
# and POST too); the requested header names are echoed; "*" answers with
# the request's own origin, with credentials too (warned); plain-http
# origins may have credentials (warned); expose_headers="*" lists the
# response's own headers; header names keep the case they are given in.
AIOHTTP_CORS = Dialect(
    "aiohttp-cors",
    always_allowed_methods=(),
    echo_request_headers=True,
    star_echoes_origin=True,
    reflect_any_origin_with_credentials=True,
    insecure_origins_with_credentials=True,
    names_as_given=True,
    expose_response_headers=True,
)

_ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED
_MAX_AGE_LIMIT = 86400
_FAILED = "CORS preflight request failed: "
# A refused preflight's 403 body, in aiohttp-cors's words but naming no
# request value (nothing from the request is echoed back).
_REFUSALS = {
    Reason.ORIGIN_NOT_ALLOWED: "origin is not allowed",
    Reason.METHOD_NOT_ALLOWED: "request method is not allowed for this origin",
    Reason.HEADERS_NOT_ALLOWED: "headers are not allowed",
    Reason.PRIVATE_NETWORK_NOT_ALLOWED: "private network access is not allowed",
    Reason.MALFORMED_REQUEST: "malformed CORS request headers",
}
_NO_ORIGIN = _FAILED + "origin header is not specified in the request"
_NO_METHOD = _FAILED + "'Access-Control-Request-Method' header is not specified"
_ANY_ORIGIN_CREDENTIALS = (
    "corsfast.contrib.aiohttp: the '*' origin with allow_credentials=True answers "
    "every origin with credentials, as aiohttp-cors does; any site can then read "
    "these responses as the logged-in user. List the trusted origins instead.")
_warned: set[str] = set()


class WildcardCredentialsWarning(UserWarning):
    """``"*"`` with ``allow_credentials=True``: every origin is answered
    with credentials (aiohttp-cors's behaviour, kept on purpose)."""


def _warn_once(message: str, category: type[Warning] = UserWarning) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, category, stacklevel=4)


# -- ResourceOptions, as aiohttp-cors defines and checks them ---------------------------


def _is_proper_sequence(seq: Any) -> bool:
    return isinstance(seq, collections.abc.Sequence) and not isinstance(seq, str)


class ResourceOptions(collections.namedtuple(
        "ResourceOptions",
        ("allow_credentials", "expose_headers", "allow_headers", "max_age", "allow_methods"))):
    """One origin's CORS options (aiohttp-cors's, normalized the same way:
    header sets as frozensets, allowed headers and methods upper-cased)."""

    __slots__ = ()

    def __new__(cls, *, allow_credentials: bool = False,
                expose_headers: Union[str, Iterable[str]] = (),
                allow_headers: Union[str, Iterable[str]] = (),
                max_age: Optional[int] = None,
                allow_methods: Union[str, Iterable[str], None] = None) -> ResourceOptions:
        if not isinstance(allow_credentials, bool):
            raise ValueError(f"'allow_credentials' must be boolean, got '{allow_credentials!r}'")
        values: list[Any] = []
        for name, given in (("expose_headers", expose_headers),
                            ("allow_headers", allow_headers)):
            if given == "*":
                values.append("*")
            elif not _is_proper_sequence(given):
                raise ValueError(f"'{name}' must be either '*', or sequence of strings, "
                                 f"got '{given!r}'")
            elif name == "allow_headers":
                values.append(frozenset(h.upper() for h in given))
            else:
                values.append(frozenset(given))
        if max_age is not None and (not isinstance(max_age, numbers.Integral) or max_age < 0):
            raise ValueError(f"'max_age' must be non-negative integer, got '{max_age!r}'")
        methods: Any = allow_methods
        if allow_methods is not None and allow_methods != "*":
            if not _is_proper_sequence(allow_methods):
                raise ValueError("'allow_methods' must be either '*', or sequence of "
                                 f"strings, got '{allow_methods!r}'")
            methods = frozenset(m.upper() for m in allow_methods)
        return super().__new__(cls, allow_credentials, values[0], values[1], max_age, methods)

    def is_method_allowed(self, method: str) -> bool:
        if self.allow_methods is None:
            return False
        return self.allow_methods == "*" or method.upper() in self.allow_methods


Config = Mapping[str, Union[ResourceOptions, Mapping[str, Any]]]
_OPTION_KEYS = frozenset({"allow_credentials", "expose_headers", "allow_headers", "max_age"})


def _parse_config_options(config: Optional[Config] = None) -> dict[str, ResourceOptions]:
    """aiohttp-cors's reading of a defaults or per-route mapping."""
    if config is None:
        return {}
    if not isinstance(config, collections.abc.Mapping):
        raise ValueError(f"Config must be mapping, got '{config}'")
    parsed = {}
    for origin, options in config.items():
        if not isinstance(origin, str):
            raise ValueError(f"Origin must be string, got '{origin}'")
        if not isinstance(options, ResourceOptions):
            if not isinstance(options, collections.abc.Mapping):
                raise ValueError("Origin options must be either aiohttp_cors.ResourceOptions "
                                 f"instance or mapping, got '{options}'")
            unexpected = frozenset(options) - _OPTION_KEYS
            if unexpected:
                raise ValueError("Unexpected keywords in resource options: "
                                 + ",".join(map(str, unexpected)))
            options = ResourceOptions(**options)
        parsed[origin] = options
    return parsed


# -- options -> policies ------------------------------------------------------------------


def _build(origins: Any, opts: ResourceOptions, methods: Any) -> Policy:
    """One Policy: ``origins`` (a tuple, or "*") sharing ``opts``, allowed
    to preflight ``methods`` (a tuple, "*" or None)."""
    if origins == "*" and opts.allow_credentials:
        _warn_once(_ANY_ORIGIN_CREDENTIALS, WildcardCredentialsWarning)
    max_age = opts.max_age
    if max_age is not None and max_age > _MAX_AGE_LIMIT:
        _warn_once(f"corsfast.contrib.aiohttp: max_age={max_age} is above what any "
                   f"browser honours; corsfast sends {_MAX_AGE_LIMIT}")
        max_age = _MAX_AGE_LIMIT
    # aiohttp-cors's "*" allows any requested header, Authorization too.
    allow_headers = (["*", "authorization"] if opts.allow_headers == "*"
                     else sorted(h.lower() for h in opts.allow_headers))
    return Policy(
        allow_origins=origins,
        allow_methods="*" if methods == "*" else sorted(methods or ()),
        allow_headers=allow_headers,
        expose_headers=("*" if opts.expose_headers == "*" else sorted(opts.expose_headers)),
        allow_credentials=opts.allow_credentials,
        max_age=int(max_age) if max_age is not None else None,
        preflight_status=200,
        dialect=AIOHTTP_CORS,
    )


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NOBODY = Policy(preflight_status=200, dialect=AIOHTTP_CORS)  # no configuration at all


class _Policies:
    """Every Policy one CorsConfig built, shared by equal options."""

    def __init__(self) -> None:
        self._built: dict[Any, Policy] = {}

    def for_config(self, final: Mapping[str, ResourceOptions],
                   methods: Optional[tuple[str, ...]]) -> tuple[Policy, ...]:
        """The policies for one resource and method, in the order they are
        asked: one per set of listed origins sharing options, then "*".
        ``methods`` None: each origin's own ``allow_methods``."""
        groups: dict[Any, list[str]] = {}
        for origin in final:
            if origin != "*":
                opts = final[origin]
                groups.setdefault((opts, methods or opts.allow_methods), []).append(origin)
        keys = [(tuple(sorted(origins)), *key) for key, origins in groups.items()]
        star = final.get("*")
        if star is not None:
            keys.append(("*", star, methods or star.allow_methods))
        out = []
        for key in keys:
            policy = self._built.get(key)
            if policy is None:
                policy = self._built[key] = _build(*key)
            out.append(policy)
        return tuple(out) or (_NOBODY,)


def _first(policies: tuple[Policy, ...], values: tuple[Any, ...]) -> tuple[Any, Policy]:
    """The decision of the first policy that does not refuse the origin
    (the one whose origins the request's is among), else the last refusal."""
    for policy in policies:
        decision = check_request(policy, *values)
        if decision.reason is not _ORIGIN_NOT_ALLOWED:
            break
    return decision, policy


class _Resource:
    """One CORS-enabled resource: its options, its OPTIONS route (None for
    a CorsViewMixin view) and the policies per method."""

    __slots__ = ("default", "methods", "preflight_route", "view", "by_method", "other")

    def __init__(self, default: dict[str, ResourceOptions]) -> None:
        self.default = default
        self.methods: dict[str, dict[str, ResourceOptions]] = {}
        self.preflight_route: Any = None
        self.view: Optional[type] = None
        self.by_method: dict[str, tuple[Policy, ...]] = {}
        self.other: tuple[Policy, ...] = (_NOBODY,)

    def compile(self, policies: _Policies, defaults: dict[str, ResourceOptions]) -> None:
        # A method with options of its own is allowed for every origin
        # those options (and the defaults) list; any other method for
        # origins whose allow_methods name it.
        self.by_method = {
            method: policies.for_config(ChainMap(config, self.default, defaults), (method,))
            for method, config in self.methods.items() if method != hdrs.METH_ANY}
        self.other = policies.for_config(ChainMap(self.default, defaults), None)


def _refuse(decision: Any, text: str = "") -> web.HTTPForbidden:
    return web.HTTPForbidden(text=text or _FAILED + _REFUSALS[decision.reason],
                             headers=decision.headers)


def _answer(decision: Any) -> web.Response:
    if decision.allowed:
        return web.Response(status=decision.status, headers=decision.headers)
    raise _refuse(decision)


def _asked(request: web.Request) -> tuple[Any, ...]:
    """A preflight's values; 403, as aiohttp-cors answers, without Origin
    or Access-Control-Request-Method (not a preflight, on a route only
    preflights reach)."""
    values = request_values(request)  # the method is OPTIONS: all four headers
    if values[1] is None:
        raise web.HTTPForbidden(text=_NO_ORIGIN)
    if values[2] is None:
        raise web.HTTPForbidden(text=_NO_METHOD)
    return values


# -- CorsConfig --------------------------------------------------------------------------


class CorsConfig:
    """One app's CORS configuration (aiohttp-cors's ``CorsConfig``)."""

    def __init__(self, app: web.Application, *, defaults: Optional[Config] = None,
                 router_adapter: Any = None, log_refusals: bool = False) -> None:
        if router_adapter is not None:
            raise TypeError("corsfast.contrib.aiohttp: router_adapter is not supported; "
                            "CORS is configured on aiohttp's own router")
        self.defaults = _parse_config_options(defaults)
        self._defaults = self.defaults  # what resources read (a later .defaults= is views')
        self._resources: dict[Any, _Resource] = {}
        self._policies = _Policies()
        self._views: dict[Any, tuple[list[Any], tuple[Policy, ...]]] = {}
        self.log_refusals = bool(log_refusals)
        app.on_response_prepare.append(self._on_response_prepare)

    def add(self, routing_entity: Any, config: Optional[Config] = None,
            webview: bool = False) -> Any:
        """Enable CORS on a route or resource (a route enables its
        resource); returns ``routing_entity``."""
        if webview:
            warnings.warn("webview argument is deprecated, views are handled "
                          "authomatically without extra settings",
                          DeprecationWarning, stacklevel=2)
        parsed = _parse_config_options(config)
        if isinstance(routing_entity, web.ResourceRoute):
            route = routing_entity
            entry = self._resources.get(route.resource)
            if entry is None:
                entry = self._enable(route.resource, parsed)
            if route.method in entry.methods:
                raise ValueError(f"Can't setup CORS for {route!r} route: CORS already "
                                 f"configured on resource {route.resource!r} for "
                                 f"{route.method} method")
            entry.methods[route.method] = parsed
        elif isinstance(routing_entity, (web.Resource, web.StaticResource)):
            if routing_entity in self._resources:
                raise ValueError(f"CORS is already configured for {routing_entity!r} resource.")
            entry = self._enable(routing_entity, parsed)
        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")
        entry.compile(self._policies, self._defaults)
        if entry.view is not None:
            for method in hdrs.METH_ALL:  # report bad options now, not per request
                if getattr(entry.view, method.lower(), None) is not None:
                    self._view_policies(entry.view, method, self.defaults)
        return routing_entity

    def _enable(self, resource: Any, default: dict[str, ResourceOptions]) -> _Resource:
        """Give ``resource`` its preflight route (aiohttp-cors's checks)."""
        entry = _Resource(default)
        for route in resource:
            if route.method == hdrs.METH_OPTIONS:
                raise ValueError(f"{resource!r} already has OPTIONS handler {route.handler!r}")
            if route.method == hdrs.METH_ANY:
                handler = route.handler
                if isinstance(handler, type) and issubclass(handler, web.View):
                    if not issubclass(handler, CorsViewMixin):
                        raise ValueError("web view should be derived from "
                                         "aiohttp_cors.CorsViewMixin for working with "
                                         "the library")
                    entry.view = handler
                    break
                raise ValueError(f"{resource!r} already has a '*' handler for all methods")
        if entry.view is None:
            if isinstance(resource, web.StaticResource):
                resource.set_options_route(self._preflight_handler)
                entry.preflight_route = next(
                    r for r in resource if r.method == hdrs.METH_OPTIONS)
            else:
                entry.preflight_route = resource.add_route(
                    hdrs.METH_OPTIONS, self._preflight_handler)
        self._resources[resource] = entry
        return entry

    # -- requests ------------------------------------------------------------------------

    def _view_policies(self, view: Any, method: str, defaults: Any,
                       request: Any = None) -> tuple[Policy, ...]:
        """A CorsViewMixin view's policies for ``method``, rebuilt when its
        options objects change (aiohttp-cors reads them per request)."""
        config = view.get_request_config(request, method, defaults)
        maps = list(config.maps) if isinstance(config, ChainMap) else [config]
        key = (view, method)
        found = self._views.get(key)
        if found is None or len(found[0]) != len(maps) or any(
                a is not b for a, b in zip(found[0], maps)):
            final = ChainMap(*(_parse_config_options(m) for m in maps))
            found = self._views[key] = (maps, self._policies.for_config(final, (method,)))
        return found[1]

    async def _preflight_handler(self, request: web.Request) -> web.StreamResponse:
        """The OPTIONS route ``add`` gives a resource."""
        values = _asked(request)
        entry = self._resources[request.match_info.route.resource]
        policies = entry.by_method.get(values[2], entry.other)
        decision, policy = _first(policies, values)
        self._log(request, decision, policy, values)
        return _answer(decision)

    async def view_preflight(self, request: web.Request, view: Any) -> web.StreamResponse:
        """A CorsViewMixin view's ``options``."""
        values = _asked(request)
        try:
            policies = self._view_policies(view, values[2], self.defaults, request)
        except KeyError:
            raise _refuse(check_request(_NOBODY, *values), _FAILED + _REFUSALS[
                Reason.METHOD_NOT_ALLOWED]) from None
        decision, policy = _first(policies, values)
        self._log(request, decision, policy, values)
        return _answer(decision)

    async def _on_response_prepare(self, request: web.BaseRequest,
                                   response: web.StreamResponse) -> None:
        """Every other response of a CORS-enabled resource."""
        try:
            route = request.match_info.route  # type: ignore[attr-defined]
            entry = self._resources.get(route.resource)
        except AttributeError:  # a request no router saw (a low-level server's)
            return
        if entry is None or route is entry.preflight_route:
            return
        method = request.method
        if entry.view is None:
            policies = entry.by_method.get(method, entry.other)
        elif method == hdrs.METH_OPTIONS:
            return  # the view's preflight answer
        else:
            try:
                policies = self._view_policies(entry.view, method, self.defaults, request)
            except KeyError:  # a method the view does not have (its 405)
                policies = (_NOBODY,)
        values = request_values(request)
        for policy in policies:  # _first, inline: this runs on every response
            decision = check_request(policy, *values)
            if decision.reason is not _ORIGIN_NOT_ALLOWED:
                break
        if decision.allowed:
            write(response, decision, exposes_response(policy))
            return
        if self.log_refusals:
            self._log(request, decision, policy, values)
        write(response, decision)

    def _log(self, request: Any, decision: Any, policy: Policy, values: Any) -> None:
        if self.log_refusals and not decision.allowed:
            method, origin, acrm, acrh, acrpn = values
            log_refusal(decision, method, origin, request.path, acrm, acrh, acrpn,
                        policy=policy)


APP_CONFIG_KEY: web.AppKey[CorsConfig] = web.AppKey("corsfast_aiohttp_cors", CorsConfig)


def setup(app: web.Application, *, defaults: Optional[Config] = None,
          log_refusals: bool = False) -> CorsConfig:
    """aiohttp-cors's ``setup``: the app's CorsConfig, stored as
    ``app[APP_CONFIG_KEY]``. ``log_refusals`` (corsfast's own) logs each
    refusal with its fix on the ``corsfast`` logger."""
    cors = CorsConfig(app, defaults=defaults, log_refusals=log_refusals)
    app[APP_CONFIG_KEY] = cors
    return cors


# -- views ---------------------------------------------------------------------------------


def custom_cors(config: Config) -> Any:
    """A view method's own options (aiohttp-cors's decorator)."""
    def wrapper(function: Any) -> Any:
        setattr(function, f"{function.__name__}_cors_config", config)
        return function
    return wrapper


class CorsViewMixin:
    """Mix into a ``web.View``: its methods' options come from
    ``@custom_cors``, then the class's ``cors_config``, then the defaults;
    its ``options`` answers preflights."""

    cors_config: Optional[Config] = None

    @classmethod
    def get_request_config(cls, request: Any, request_method: str,
                           defaults: Any = None) -> ChainMap[str, Any]:
        """The options for ``request_method`` (KeyError: no such method)."""
        if defaults is None:
            try:
                defaults = request.app[APP_CONFIG_KEY].defaults
            except KeyError:
                raise ValueError("aiohttp-cors is not configured.") from None
        name = request_method.lower()
        method = getattr(cls, name, None) if request_method.upper() in hdrs.METH_ALL else None
        if not method:
            raise KeyError(request_method)
        custom: Any = getattr(method, f"{name}_cors_config", None) or _EMPTY
        class_config: Any = cls.cors_config or _EMPTY
        return ChainMap(custom, class_config, defaults)

    async def options(self) -> web.StreamResponse:
        request = self.request  # type: ignore[attr-defined]
        try:
            cors: CorsConfig = request.app[APP_CONFIG_KEY]
        except KeyError:
            raise ValueError("aiohttp-cors is not configured.") from None
        return await cors.view_preflight(request, type(self))
