"""A drop-in for quart-cors: ``cors``, ``route_cors``, ``websocket_cors``
and ``cors_exempt``.

Change ``from quart_cors import cors, route_cors`` to
``from corsfast.contrib.quart import cors, route_cors``. The options are
quart-cors's (``allow_credentials``, ``allow_headers``, ``allow_methods``,
``allow_origin``, ``expose_headers``, ``max_age``,
``send_origin_wildcard``, ``provide_automatic_options``, and corsfast's
own ``log_refusals``), read from the same places: an argument left at
``None`` takes the app's ``QUART_CORS_*`` config, read when a request
comes, else quart-cors's default.

This module only translates. Each set of options, with the config it
reads, becomes one :class:`corsfast.Policy` in the ``QUART`` dialect (how
quart-cors's answers differ from corsfast's own, as data the engine
reads), built once and rebuilt only when that config changes. The engine
decides every request from the raw ASGI headers Quart keeps in
``request.scope`` (:func:`corsfast._engine.adapters.asgi_decide`, as the
ASGI middleware does); the WSGI middleware's merge (``apply_text``, over
corsfast/_headers.py) writes it over the response's Werkzeug headers.
Quart answers preflights itself (its automatic ``OPTIONS`` response) as it
does under quart-cors; the decision's headers go on whatever it answers,
error responses included.

Where quart-cors matches loosely, this module does not: a compiled
``re.Pattern`` must match the whole origin (quart-cors's ``Pattern.match``
lets ``https:\\/\\/.*\\.quart\\.com`` admit
``https://a.quart.com.attacker.net``). docs/quart.md lists every
difference.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import warnings
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar, Union

from quart import abort, after_this_request, current_app, make_response, request, websocket

from .._dialect import Dialect
from .._engine import adapters
from .._logging import log_refusal
from .._policy import ConfigError, Policy, warn_if_no_origin
from .._reason import Reason
from ._match import origin_regex

__all__ = ["cors", "route_cors", "websocket_cors", "cors_exempt", "QUART",
           "DEFAULTS", "QUART_CORS_EXEMPT_ATTRIBUTE"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
OriginType = Union[re.Pattern[str], str]

# quart-cors's defaults, by config key (an argument left at None reads the
# app's config, else these).
DEFAULTS: dict[str, Any] = {
    "QUART_CORS_ALLOW_CREDENTIALS": False,
    "QUART_CORS_ALLOW_HEADERS": ["*"],
    "QUART_CORS_ALLOW_METHODS": ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"],
    "QUART_CORS_ALLOW_ORIGIN": ["*"],
    "QUART_CORS_EXPOSE_HEADERS": [""],
    "QUART_CORS_MAX_AGE": None,
    "QUART_CORS_SEND_ORIGIN_WILDCARD": True,
}
QUART_CORS_EXEMPT_ATTRIBUTE = "_quart_cors_exempt"  # quart-cors's names, kept
_APPLIED = "_QUART_CORS_APPLIED"
_OPTIONS = (
    ("allow_credentials", "QUART_CORS_ALLOW_CREDENTIALS"),
    ("allow_headers", "QUART_CORS_ALLOW_HEADERS"),
    ("allow_methods", "QUART_CORS_ALLOW_METHODS"),
    ("allow_origin", "QUART_CORS_ALLOW_ORIGIN"),
    ("expose_headers", "QUART_CORS_EXPOSE_HEADERS"),
    ("max_age", "QUART_CORS_MAX_AGE"),
    ("send_origin_wildcard", "QUART_CORS_SEND_ORIGIN_WILDCARD"),
)
_MAX_AGE_LIMIT = 86400  # the most Policy takes (browsers cap lower still)

# How quart-cors's answers differ from corsfast's own, as data (see
# corsfast/_dialect.py): a "*" origin still varies on Origin, and a request
# without Origin gets only that; a preflight is answered with the requested
# headers it allows (as sent, sorted) and never refused for the others (the
# browser refuses); header values keep quart-cors's spelling; expose-headers
# go on preflights too; any printable Origin value counts for "*" and exact
# entries; a plain-http origin with credentials is warned about, not
# refused. With send_origin_wildcard=False, "*" echoes the origin
# (``dataclasses.replace(QUART, star_echoes_origin=True)``).
QUART = Dialect(
    "quart-cors",
    echo_request_headers=True,
    allowed_request_headers_only=True,
    vary_with_static_star=True,
    names_as_given=True,
    vary_actual="Origin",
    vary_preflight="Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    expose_on_preflight=True,
    loose_origin_syntax=True,
    insecure_origins_with_credentials=True,
)
_QUART_ECHO = dataclasses.replace(QUART, star_echoes_origin=True)
_asgi_decide = adapters.asgi_decide
_request_values = adapters.asgi_request_values
_apply_text = adapters.apply_text
_ALLOWED = Reason.ALLOWED


# -- options -> Policy ---------------------------------------------------------


def _items(value: Any) -> list[Any]:
    """quart-cors's reading of a str-or-iterable option."""
    if value is None:
        return []
    if isinstance(value, (str, re.Pattern)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _max_age(value: Any, warned: set[str]) -> Any:
    """``max_age`` as quart-cors reads it (seconds as int, float, numeric
    string or timedelta); more than a day is sent as a day (warned)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if not isinstance(value, bool):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ConfigError([f"max_age {value!r}: give seconds as a number "
                               f"or a timedelta"]) from None
    if isinstance(value, int) and value > _MAX_AGE_LIMIT:
        message = (f"corsfast.contrib.quart: max_age={value} is above what any "
                   f"browser honours; corsfast sends {_MAX_AGE_LIMIT}")
        if message not in warned:  # once, not again when the policy is rebuilt
            warned.add(message)
            warnings.warn(message, UserWarning, stacklevel=5)
        return _MAX_AGE_LIMIT
    return value  # Policy reports anything it cannot send


def _translate(options: Mapping[str, Any], warned: set[str]) -> Policy:
    """One set of resolved quart-cors options as a Policy."""
    credentials = bool(options["allow_credentials"])
    origins = _items(options["allow_origin"])
    dialect = QUART
    kwargs: dict[str, Any] = {}
    if "*" in origins:
        if credentials:
            # quart-cors fails every request so configured; here it is a
            # ConfigError, raised as soon as the options are known.
            raise ConfigError([
                "allow_origin '*' with allow_credentials=True: a '*' origin "
                "cannot carry credentials; list the trusted origins instead"])
        kwargs["allow_origins"] = "*"
        if not options["send_origin_wildcard"]:
            dialect = _QUART_ECHO
    else:
        # Scheme and host are case-insensitive; Policy wants them lowercase.
        kwargs["allow_origins"] = [o.lower() if isinstance(o, str) else o
                                   for o in origins if not isinstance(o, re.Pattern)]
        patterns = [o for o in origins if isinstance(o, re.Pattern)]
        if patterns:
            # Full match: the hole quart-cors's Pattern.match leaves is closed.
            kwargs["allow_origin_regex"] = origin_regex(patterns, where="allow_origin")
    headers: list[Any] = []
    for name in _items(options["allow_headers"]):
        # quart-cors's "*" echoes every requested name, Authorization too,
        # which a bare "*" does not cover
        # [https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name].
        headers += ["*", "authorization"] if name == "*" else [name]
    methods: Any = [m.upper() if isinstance(m, str) else m
                    for m in _items(options["allow_methods"])]
    if "*" in methods:
        methods = "*"
    return Policy(
        allow_methods=methods,
        allow_headers=headers,
        expose_headers=[h for h in _items(options["expose_headers"]) if h != ""],
        allow_credentials=credentials,
        max_age=_max_age(options["max_age"], warned),
        preflight_status=200,
        dialect=dialect,
        **kwargs,
    )


class _Options:
    """One call's arguments, and the Policy they make with an app's config.

    The Policy is rebuilt only when a config value it reads is replaced: a
    request costs one ``config.get`` per option left at None, and a tuple
    comparison (the same objects compare equal without a look inside, so a
    list changed in place goes unseen: assign a new value).
    """

    __slots__ = ("given", "missing", "log_refusals", "_keys", "_defaults", "_built",
                 "_warned")

    def __init__(self, arguments: Mapping[str, Any], log_refusals: bool = False) -> None:
        self.given = {k: v for k, v in arguments.items() if v is not None}
        self.missing = tuple((key, DEFAULTS[key], name) for name, key in _OPTIONS
                             if name not in self.given)
        self.log_refusals = bool(log_refusals)
        self._keys = tuple(key for key, _, _ in self.missing)
        self._defaults = tuple(default for _, default, _ in self.missing)
        self._built: tuple[Any, Any] = (None, None)  # (config key, matcher)
        self._warned: set[str] = set()
        # What the arguments decide on their own is checked now: a bad
        # argument fails at start-up, not on the first request.
        settled = {name: DEFAULTS[key] for name, key in _OPTIONS}
        settled.update(self.given)
        if "allow_origin" not in self.given:
            settled["allow_credentials"] = False  # the config may list origins
        policy = _translate(settled, self._warned)
        if "allow_origin" in self.given:
            warn_if_no_origin("corsfast.contrib.quart", policy)

    def policy(self, config: Any) -> Any:
        """The matcher for requests under ``config`` (the app's)."""
        key = tuple(map(config.get, self._keys, self._defaults))
        built_key, matcher = self._built
        if matcher is None or key != built_key:
            options = dict(self.given)
            for (_, _, name), value in zip(self.missing, key):
                options[name] = value
            matcher = _translate(options, self._warned)._matcher
            self._built = (key, matcher)
        return matcher

    def apply(self, response: Any, config: Any, scope: Any) -> Any:
        """Decide the request and write the answer on ``response``."""
        if getattr(response, _APPLIED, False):
            return response  # a route_cors or blueprint answer stands
        policy = self.policy(config)
        decision = _asgi_decide(policy, scope)
        if self.log_refusals and not decision.allowed:
            _log(decision, scope, policy)
        # The shared merge (the WSGI middleware's): the response's CORS
        # headers replaced, its Vary merged token by token.
        headers = response.headers
        headers[:] = _apply_text(list(headers), decision.headers)
        setattr(response, _APPLIED, True)
        return response

    def websocket_allowed(self, config: Any, scope: Any) -> bool:
        """A handshake passes with an Origin the policy allows (quart-cors
        refuses one without Origin, too)."""
        handshake = {"method": "GET", "headers": scope.get("headers", ())}
        return _asgi_decide(self.policy(config), handshake).reason is _ALLOWED


def _log(decision: Any, scope: Any, policy: Any) -> None:
    origin, acrm, acrh, acrpn = _request_values(scope.get("headers", ()),
                                                decision.preflight)
    log_refusal(decision, scope.get("method"), origin, scope.get("path"),
                acrm, acrh, acrpn, policy=policy)


def _arguments(**values: Any) -> dict[str, Any]:
    return values


def _websocket_options(allow_origin: Any, send_origin_wildcard: Any) -> _Options:
    # quart-cors's websocket check reads the origins only: credentials play
    # no part (and a "*" with them in the config is no error there).
    return _Options(_arguments(allow_origin=allow_origin, allow_credentials=False,
                               send_origin_wildcard=send_origin_wildcard))


def _check_websocket(options: _Options) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ws = websocket._get_current_object()  # type: ignore[attr-defined]
    if not options.websocket_allowed(app.config, ws.scope):
        abort(400)


def _exempt(app: Any, endpoint: Any) -> bool:
    return getattr(app.view_functions.get(endpoint), QUART_CORS_EXEMPT_ATTRIBUTE, False)


# -- the API ---------------------------------------------------------------------


def cors(
    app_or_blueprint: T,
    *,
    allow_credentials: Optional[bool] = None,
    allow_headers: Optional[Iterable[str]] = None,
    allow_methods: Optional[Iterable[str]] = None,
    allow_origin: Union[OriginType, Iterable[OriginType], None] = None,
    expose_headers: Optional[Iterable[str]] = None,
    max_age: Union[timedelta, float, str, None] = None,
    send_origin_wildcard: Optional[bool] = None,
    log_refusals: bool = False,
) -> T:
    """quart-cors's ``cors``: CORS for every route (and websocket) of a
    Quart app or blueprint, from an ``after_request`` and a
    ``before_websocket`` hook. Views marked :func:`cors_exempt` are left
    alone; a :func:`route_cors` view's own answer stands."""
    options = _Options(_arguments(
        allow_credentials=allow_credentials, allow_headers=allow_headers,
        allow_methods=allow_methods, allow_origin=allow_origin,
        expose_headers=expose_headers, max_age=max_age,
        send_origin_wildcard=send_origin_wildcard), log_refusals)
    ws_options = _websocket_options(allow_origin, send_origin_wildcard)

    async def cors_after_request(response: Any) -> Any:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        req = request._get_current_object()  # type: ignore[attr-defined]
        if getattr(response, _APPLIED, False) or _exempt(app, req.endpoint):
            return response
        return options.apply(response, app.config, req.scope)

    async def cors_before_websocket() -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if not _exempt(app, websocket.endpoint):
            _check_websocket(ws_options)

    target: Any = app_or_blueprint
    target.after_request(cors_after_request)
    target.before_websocket(cors_before_websocket)
    return app_or_blueprint


async def _default_options(app: Any) -> Any:
    """Quart's automatic OPTIONS answer: from Quart 0.23 it takes the app
    context, before that nothing."""
    if inspect.signature(app.make_default_options_response).parameters:
        from quart.globals import app_ctx  # Quart >= 0.23

        return await app.make_default_options_response(
            app_ctx._get_current_object())  # type: ignore[attr-defined, unused-ignore]
    return await app.make_default_options_response()


def route_cors(
    *,
    allow_credentials: Optional[bool] = None,
    allow_headers: Optional[Iterable[str]] = None,
    allow_methods: Optional[Iterable[str]] = None,
    allow_origin: Union[OriginType, Iterable[OriginType], None] = None,
    expose_headers: Optional[Iterable[str]] = None,
    max_age: Union[timedelta, float, str, None] = None,
    send_origin_wildcard: Optional[bool] = None,
    provide_automatic_options: bool = True,
    log_refusals: bool = False,
) -> Callable[[F], F]:
    """quart-cors's view decorator (put it under ``@app.route``). Its
    answer goes on every response the view's request ends with, error
    responses too; with ``provide_automatic_options`` it answers
    ``OPTIONS`` with Quart's default response."""
    options = _Options(_arguments(
        allow_credentials=allow_credentials, allow_headers=allow_headers,
        allow_methods=allow_methods, allow_origin=allow_origin,
        expose_headers=expose_headers, max_age=max_age,
        send_origin_wildcard=send_origin_wildcard), log_refusals)

    async def route_after_request(response: Any) -> Any:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return options.apply(response, app.config, request.scope)

    def decorator(func: F) -> F:
        view: Any = func
        if provide_automatic_options:
            view.required_methods = set(getattr(func, "required_methods", set())) | {"OPTIONS"}
            view.provide_automatic_options = False

        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Registered first, so it runs before the app's and blueprints'
            # hooks, on whatever response this request ends with.
            after_this_request(route_after_request)
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            if provide_automatic_options and request.method == "OPTIONS":
                return await _default_options(app)
            return await make_response(await app.ensure_async(func)(*args, **kwargs))

        return wrapper  # type: ignore[return-value]

    return decorator


def websocket_cors(
    *,
    allow_origin: Union[OriginType, Iterable[OriginType], None] = None,
    send_origin_wildcard: Optional[bool] = None,
) -> Callable[[F], F]:
    """quart-cors's websocket decorator (put it under ``@app.websocket``):
    a handshake whose Origin is missing or not allowed is answered 400."""
    options = _websocket_options(allow_origin, send_origin_wildcard)

    def decorator(func: F) -> F:
        @wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            _check_websocket(options)  # aborts when refused
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            return await app.ensure_async(func)(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def cors_exempt(func: F) -> F:
    """Leave a view or websocket handler out of :func:`cors`: no CORS
    headers on its responses, no origin check on its handshakes."""
    setattr(func, QUART_CORS_EXEMPT_ATTRIBUTE, True)
    return func
