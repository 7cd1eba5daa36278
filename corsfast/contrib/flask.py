"""A drop-in for flask-cors: ``CORS(app, ...)`` and ``@cross_origin(...)``.

Change ``from flask_cors import CORS, cross_origin`` to
``from corsfast.contrib.flask import CORS, cross_origin``. The options are
flask-cors's (``resources``, ``origins``, ``methods``, ``allow_headers``,
``expose_headers``, ``supports_credentials``, ``max_age``, ``send_wildcard``,
``vary_header``, ``automatic_options``, ``always_send``,
``allow_private_network``, ``intercept_exceptions``, and corsfast's own
``log_refusals``), read from the same
places (defaults, then the app's ``CORS_*`` config, then keyword arguments,
then per-resource options).

(About 570 lines, past the usual 400: flask-cors's options and their
precedence, the extension and the view decorator, and the live-policy
methods of the extension; the resource matching is in _flask_resources.py.
Moving the live-policy methods to a module of their own is the next split.)

This module only translates: each set of options becomes one
:class:`corsfast.Policy` in the ``FLASK`` dialect (how flask-cors's answers
differ from corsfast's own, as data the engine reads), and the engine
decides every request. On an app, ``CORS`` installs
:class:`corsfast.wsgi.CORSMiddleware` around ``app.wsgi_app`` with the
resources as its router; preflights are passed through to Flask, which
answers them with its own status, and the decision's headers are written
on that answer. ``@cross_origin`` and blueprints decide in Flask's request
context and write through Werkzeug's header API. Where flask-cors matches
loosely (origin, header and resource regexes matched only at their start,
paths unquoted twice) or leaves out ``Vary: Origin``, this module does not;
docs/wsgi.md lists every difference.

(About 440 lines: flask-cors has thirteen options read from four places,
each translated here; resources are routed in _flask_resources.py.)
"""

from __future__ import annotations

import dataclasses
import re
import warnings
import weakref
from datetime import timedelta
from functools import update_wrapper
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Mapping,
    Optional,
    TypedDict,
    TypeVar,
    Union,
)

from flask import current_app, make_response, request

from .._config import closest_name
from .._dialect import Dialect
from .._engine import adapters
from .._headers import write_over
from .._live import KEEP, OnRefusal, OnShadow, check_target
from .._logging import log_environ_refusal
from .._policy import ConfigError, Policy, warn_if_no_origin
from .._router import Router
from ..wsgi import CORSMiddleware, past_middleware
from ._flask_resources import PathPolicies as _PathPolicies
from ._flask_resources import is_regex as _is_regex
from ._flask_resources import path_matcher_for as _path_matcher
from ._flask_resources import resources as _resources
from ._flask_resources import router as _router
from ._live import merged_stats
from ._match import origin_regex

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "CORS", "cross_origin", "FLASK",
    "ACL_ORIGIN", "ACL_METHODS", "ACL_ALLOW_HEADERS", "ACL_EXPOSE_HEADERS",
    "ACL_CREDENTIALS", "ACL_MAX_AGE", "ACL_RESPONSE_PRIVATE_NETWORK",
    "ACL_REQUEST_METHOD", "ACL_REQUEST_HEADERS", "ACL_REQUEST_HEADER_PRIVATE_NETWORK",
    "ALL_METHODS", "CONFIG_OPTIONS", "DEFAULT_OPTIONS",
]

F = TypeVar("F", bound=Callable[..., Any])

# Header names, spelled as flask-cors exports them (tests and apps use them).
ACL_ORIGIN = "Access-Control-Allow-Origin"
ACL_METHODS = "Access-Control-Allow-Methods"
ACL_ALLOW_HEADERS = "Access-Control-Allow-Headers"
ACL_EXPOSE_HEADERS = "Access-Control-Expose-Headers"
ACL_CREDENTIALS = "Access-Control-Allow-Credentials"
ACL_MAX_AGE = "Access-Control-Max-Age"
ACL_RESPONSE_PRIVATE_NETWORK = "Access-Control-Allow-Private-Network"
ACL_REQUEST_METHOD = "Access-Control-Request-Method"
ACL_REQUEST_HEADERS = "Access-Control-Request-Headers"
ACL_REQUEST_HEADER_PRIVATE_NETWORK = "Access-Control-Request-Private-Network"

ALL_METHODS = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
CONFIG_OPTIONS = [
    "CORS_ORIGINS", "CORS_METHODS", "CORS_ALLOW_HEADERS", "CORS_EXPOSE_HEADERS",
    "CORS_SUPPORTS_CREDENTIALS", "CORS_MAX_AGE", "CORS_SEND_WILDCARD",
    "CORS_AUTOMATIC_OPTIONS", "CORS_VARY_HEADER", "CORS_RESOURCES",
    "CORS_INTERCEPT_EXCEPTIONS", "CORS_ALWAYS_SEND", "CORS_ALLOW_PRIVATE_NETWORK",
    "CORS_LOG_REFUSALS",
]
DEFAULT_OPTIONS: dict[str, Any] = {
    "origins": "*",
    "methods": ALL_METHODS,
    "allow_headers": "*",
    "expose_headers": None,
    "supports_credentials": False,
    "max_age": None,
    "send_wildcard": False,
    "automatic_options": True,
    "vary_header": True,
    "resources": r"/*",
    "intercept_exceptions": True,
    "always_send": True,
    "allow_private_network": False,
    "log_refusals": False,  # corsfast's own: log each refusal with its fix
}
_KNOWN = frozenset(DEFAULT_OPTIONS)

_Pattern = Union[str, re.Pattern[str]]  # a string or a compiled regex


class CORSOptions(TypedDict, total=False):
    """The options ``CORS``, ``init_app`` and ``@cross_origin`` take as
    keywords (``Unpack[CORSOptions]``, PEP 692), so a type checker reports
    a misspelt or mistyped one; the keys are ``DEFAULT_OPTIONS``' (checked
    by tests/test_typing.py). Patterns are strings or compiled regexes."""

    resources: Union[_Pattern, Iterable[_Pattern], Mapping[_Pattern, Optional[Mapping[str, Any]]]]
    origins: Union[_Pattern, Iterable[_Pattern]]
    methods: Union[str, Iterable[str]]
    allow_headers: Union[_Pattern, Iterable[_Pattern]]
    expose_headers: Union[str, Iterable[str], None]
    supports_credentials: bool
    max_age: Union[int, str, timedelta, None]
    send_wildcard: bool
    vary_header: bool
    automatic_options: bool
    always_send: bool
    allow_private_network: bool
    intercept_exceptions: bool
    log_refusals: bool



class CORSExtensionOptions(CORSOptions, total=False):
    """``CORS``'s and ``init_app``'s keywords: flask-cors's options and
    corsfast's live-policy ones (docs/flask.md "Live policies"), which are
    options of the extension, not of a resource."""

    on_refusal: Optional[OnRefusal]
    debug: bool
    shadow: Union[Policy, Router, None]
    on_shadow: Optional[OnShadow]


_LIVE_OPTIONS = ("on_refusal", "debug", "shadow", "on_shadow")

# How flask-cors's answers differ from corsfast's own, as data (see
# corsfast/_dialect.py). Every preflight method must be listed (GET, HEAD
# and POST too); a preflight is answered with the requested headers it
# allows, as sent and sorted, and never refused for the others (the browser
# refuses); "*" echoes the request's origin, with credentials too (warned);
# header values keep flask-cors's spelling, with "Vary: Origin" on
# preflights; expose-headers go on preflights too; any printable Origin
# value counts; Access-Control-Request-Private-Network is answered true or
# false on every request.
FLASK = Dialect(
    "flask-cors",
    always_allowed_methods=(),
    echo_request_headers=True,
    allowed_request_headers_only=True,
    star_echoes_origin=True,
    reflect_any_origin_with_credentials=True,
    names_as_given=True,
    vary_actual="Origin",
    vary_preflight="Origin",
    expose_on_preflight=True,
    loose_origin_syntax=True,
    private_network_answer=True,
    insecure_origins_with_credentials=True,
)
_EVALUATED = "_FLASK_CORS_EVALUATED"  # the attribute flask-cors sets, too
_MAX_AGE_LIMIT = 86400  # the most Policy takes (browsers cap lower still)
_ANY_ORIGIN_CREDENTIALS_WARNING = (
    "corsfast.contrib.flask: origins='*' with supports_credentials=True "
    "reflects every origin with credentials, as flask-cors does; any site can "
    "then read this app's responses as the logged-in user. List the trusted "
    "origins instead."
)
_NO_VARY_WARNING = (
    "corsfast.contrib.flask: vary_header=False drops 'Vary: Origin'; shared "
    "caches may then serve one origin's CORS answer to another."
)
_warned: set[str] = set()
_wsgi_decide = adapters.wsgi_decide


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, UserWarning, stacklevel=4)


# -- options -> Policy ---------------------------------------------------------


def _items(value: Any) -> list[Any]:
    """flask-cors's reading of a scalar-or-iterable option."""
    if value is None:
        return []
    if isinstance(value, (str, re.Pattern)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _listed(value: Any) -> list[Any]:
    """``methods`` or ``expose_headers`` in the order flask-cors sends them:
    a string's names as given, any other iterable's sorted."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    names = _items(value)
    try:
        return sorted(names)
    except TypeError:
        return names  # Policy reports what cannot be a name


def _wildcard(value: Any) -> bool:
    return value in ("*", ".*") or (isinstance(value, re.Pattern)
                                     and value.pattern == ".*")


def _max_age(value: Any) -> Any:
    """``max_age`` for Policy: seconds, a timedelta, or a string of digits;
    more than a day is sent as a day (warned)."""
    if isinstance(value, timedelta):
        value = int(value.total_seconds())
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if (isinstance(value, int) and not isinstance(value, bool)
            and value > _MAX_AGE_LIMIT):
        _warn_once(f"corsfast.contrib.flask: max_age={value} is above what any "
                   f"browser honours; corsfast sends {_MAX_AGE_LIMIT}")
        return _MAX_AGE_LIMIT
    return value  # Policy reports anything it cannot send


def _unknown_option(name: object) -> str:
    close = closest_name(str(name), sorted(_KNOWN))
    hint = f"did you mean {close!r}?" if close else f"options are {', '.join(sorted(_KNOWN))}"
    return f"{name}: not a flask-cors option; {hint}"


class _Rule:
    """One set of flask-cors options, translated: the Policy for requests
    with an Origin, and the one for requests without (None leaves them
    untouched: ``always_send=False``)."""

    __slots__ = ("policy", "no_origin", "automatic_options", "log_refusals")

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - _KNOWN)
        if unknown:
            raise ConfigError([_unknown_option(name) for name in unknown])
        credentials = bool(options.get("supports_credentials"))
        send_wildcard = bool(options.get("send_wildcard"))
        self.automatic_options = bool(options.get("automatic_options"))
        self.log_refusals = bool(options.get("log_refusals"))
        dialect = FLASK
        if not options.get("vary_header"):
            _warn_once(_NO_VARY_WARNING)
            dialect = dataclasses.replace(dialect, vary_header=False)

        # flask-cors looks the requested method up in its list's text, so
        # '*' matches no method; sent, browsers would read it as any.
        methods = [m.upper() if isinstance(m, str) else m
                   for m in _listed(options.get("methods")) if m != "*"]
        exposed = _listed(options.get("expose_headers"))

        kwargs: dict[str, Any] = {}
        origins = _items(options.get("origins"))
        if any(_wildcard(o) for o in origins):
            kwargs["allow_origins"] = "*"
            if send_wildcard:
                # A static '*', which Policy refuses with credentials.
                dialect = dataclasses.replace(
                    dialect, star_echoes_origin=False,
                    reflect_any_origin_with_credentials=False)
            elif credentials:
                _warn_once(_ANY_ORIGIN_CREDENTIALS_WARNING)
        else:
            # Scheme and host are case-insensitive; Policy wants them lowercase.
            kwargs["allow_origins"] = [o.lower() if isinstance(o, str) else o
                                       for o in origins if not _is_regex(o)]
            regexes = [o for o in origins if _is_regex(o)]
            if regexes:
                # flask-cors compiles string regexes case-insensitively.
                kwargs["allow_origin_regex"] = origin_regex(
                    regexes, where="origins", string_flags=re.IGNORECASE)

        # Request headers: names (any case), regexes (the whole name, case-
        # insensitively, as in flask-cors), or '*' (which in flask-cors
        # allows Authorization too, where a bare '*' does not).
        names: list[Any] = []
        regexes = []
        for item in _items(options.get("allow_headers")):
            if _wildcard(item):
                names += ["*", "authorization"]
            elif _is_regex(item):
                regexes.append(item)
            else:
                names.append(item)
        if regexes:
            kwargs["allow_header_regex"] = origin_regex(
                regexes, where="allow_headers", string_flags=re.IGNORECASE)

        self.policy = Policy(
            allow_methods=methods,
            allow_headers=names,
            expose_headers=exposed,
            allow_credentials=credentials,
            max_age=_max_age(options.get("max_age")),
            allow_private_network=bool(options.get("allow_private_network")),
            preflight_status=200,
            dialect=dialect,
            **kwargs,
        )
        # Without Origin flask-cors answers '*' when the origins are '*' and
        # credentials are off (with always_send); otherwise only Vary.
        self.no_origin: Optional[Policy] = None
        if options.get("always_send"):
            self.no_origin = self.policy
            if kwargs["allow_origins"] == "*" and not credentials:
                self.no_origin = Policy(
                    allow_origins="*", expose_headers=exposed,
                    dialect=dataclasses.replace(dialect, star_echoes_origin=False))

    def policy_for(self, environ: Mapping[str, Any]) -> Optional[Policy]:
        return self.policy if "HTTP_ORIGIN" in environ else self.no_origin

    def apply(self, response: Any, environ: Mapping[str, Any]) -> None:
        """Decide the request and write the answer on ``response``."""
        policy = self.policy_for(environ)
        if policy is not None:
            decision = _wsgi_decide(policy, environ)
            if self.log_refusals and not decision.allowed:
                log_environ_refusal(decision, environ, policy)
            headers = response.headers
            write_over(list(headers.keys()), lambda: ", ".join(headers.getlist("Vary")),
                       headers.__setitem__, headers.__delitem__,
                       decision.headers, add=headers.add)
        setattr(response, _EVALUATED, True)


def _merged(app: Any, *layers: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then the app's CORS_* config, then each layer."""
    options = dict(DEFAULT_OPTIONS)
    config = getattr(app, "config", None) or {}
    for key in CONFIG_OPTIONS:
        value = config.get(key)
        if value is not None:
            options[key[5:].lower()] = value
    for layer in layers:
        options.update(layer)
    return options


Resources = list[tuple[Callable[[str], bool], _Rule]]


def _policy_of(rule: _Rule) -> Optional[Policy]:
    return rule.policy


def _without_origin(rule: _Rule) -> Optional[Policy]:
    return rule.no_origin


class CORS:
    """flask-cors's extension: ``CORS(app, **options)`` or ``init_app``.

    On a Flask app, the extension wraps ``app.wsgi_app`` in
    :class:`corsfast.wsgi.CORSMiddleware`, with the resources as its
    router: each request is decided once, before Flask sees it, and the
    answer is written as the response starts. On a blueprint (which has no
    ``wsgi_app``) it works from an ``after_request`` hook instead.

    Besides flask-cors's options it takes ``on_refusal``, ``debug``,
    ``shadow`` and ``on_shadow`` as :class:`corsfast.wsgi.CORSMiddleware`
    does, and has its ``reconfigure``, ``stats`` and ``policy``: on the
    apps it wraps, :meth:`reconfigure` puts a corsfast ``Policy`` or
    ``Router`` in force in place of the flask-cors options (requests with
    and without Origin alike). ``@cross_origin`` views and blueprint hooks
    keep the options they were given (docs/flask.md "Live policies").
    """

    def __init__(self, app: Any = None, **kwargs: Unpack[CORSExtensionOptions]) -> None:
        self._live_options = {key: kwargs.pop(key) for key in _LIVE_OPTIONS  # type: ignore[misc]
                              if key in kwargs}
        self._options = kwargs
        self._installed: list[tuple[CORSMiddleware, ...]] = []
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Any, **kwargs: Unpack[CORSExtensionOptions]) -> None:
        live = {**self._live_options,
                **{key: kwargs.pop(key) for key in _LIVE_OPTIONS  # type: ignore[misc]
                   if key in kwargs}}
        merged = _merged(app, self._options, kwargs)
        specs = _resources(merged.get("resources", r"/*"))
        rules = [(_path_matcher(key), _Rule(_merged(app, self._options, kwargs, extra)))
                 for key, extra in specs]
        if not rules:
            return
        if callable(getattr(app, "wsgi_app", None)):
            # The middleware warns.
            self._installed.append(_wrap(app, [key for key, _ in specs], rules, live))
        else:
            warn_if_no_origin("corsfast.contrib.flask", [rule.policy for _, rule in rules])
            _hook(app, rules)

    # -- live configuration (the apps this extension wraps) --------------------------

    @property
    def policy(self) -> Any:
        """The policy or router in force for requests with an Origin on the
        first app this extension wraps (None before ``init_app``)."""
        return self._installed[0][0].policy if self._installed else None

    def reconfigure(self, policy: Union[Policy, Router], *, shadow: Any = KEEP) -> None:
        """Serve every later request on the wrapped apps with ``policy`` (a
        corsfast Policy or Router), with or without Origin, in place of the
        flask-cors options; ``shadow`` as in
        :meth:`corsfast.wsgi.CORSMiddleware.reconfigure`. Each middleware
        swaps one reference, so a request sees the old configuration or the
        new one. A TypeError leaves everything as it was."""
        check_target("CORS", policy, any_lookup=False)
        if shadow is not KEEP and shadow is not None:
            check_target("CORS shadow", shadow, any_lookup=False)
        for middlewares in self._installed:
            for middleware in middlewares:
                middleware.reconfigure(policy, shadow=shadow)

    def stats(self) -> dict[str, Any]:
        """The wrapped apps' decisions, counted by kind and Reason name as
        ``corsfast.wsgi.CORSMiddleware.stats`` counts them."""
        empty: dict[str, Any] = {"preflight": {}, "actual": {}, "websocket": {}}
        return merged_stats(empty, *(m.stats() for ms in self._installed for m in ms))


class _Nowhere:
    """A router with no policy for any path: requests pass through."""

    def lookup(self, path: str) -> None:
        return None


def _wrap(app: Any, keys: list[Any], rules: Resources,
          live: dict[str, Any]) -> tuple[CORSMiddleware, ...]:
    """Install the middleware around ``app.wsgi_app``, and return it (two
    when requests without Origin get another answer). Preflights pass
    through to Flask (its own status and body; with ``debug`` they are
    answered here, so that a refused one can carry the fix); the decision's headers
    are written on whatever Flask answers, errors included."""
    wsgi_app = app.wsgi_app
    with_origin = _router(keys, rules, _policy_of)
    without = _router(keys, rules, _without_origin)
    passthrough = not live.get("debug")
    core = CORSMiddleware(wsgi_app, with_origin, preflight_passthrough=passthrough,
                          log_refusals=any(rule.log_refusals for _, rule in rules), **live)
    if isinstance(with_origin, _PathPolicies):
        # The middleware warns about one policy; a lookup it cannot read.
        warn_if_no_origin("corsfast.contrib.flask", [rule.policy for _, rule in rules])
        same = all(rule.no_origin is rule.policy for _, rule in rules)
    else:
        same = without is with_origin
    if same:
        app.wsgi_app = core
        return (core,)
    # Requests without Origin get another answer (flask-cors's '*', or
    # none with always_send=False): pick the middleware by Origin.
    plain = CORSMiddleware(wsgi_app, _Nowhere() if without is None else without,
                           preflight_passthrough=True, shadow=live.get("shadow"),
                           on_shadow=live.get("on_shadow"))

    def cors_wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
        if "HTTP_ORIGIN" in environ:
            return core(environ, start_response)
        return plain(environ, start_response)

    app.wsgi_app = cors_wsgi_app
    return core, plain


def _hook(app: Any, rules: Resources) -> None:
    """Work from an ``after_request`` hook (blueprints)."""

    def cors_after_request(response: Any) -> Any:
        if getattr(response, _EVALUATED, False):
            return response  # a @cross_origin view already answered
        req = request._get_current_object()  # type: ignore[attr-defined]
        path = req.path
        for matches, rule in rules:
            if matches(path):
                rule.apply(response, req.environ)
                break
        return response

    app.after_request(cors_after_request)
    # Flask (>= 1.1) runs after_request for error responses, handled or
    # not, so intercept_exceptions needs no hook of its own here.


# -- a response the extension's middleware leaves alone --------------------------------


_UNTOUCHED: dict[type, type] = {}


def _leave_alone(response: Any) -> None:
    """Mark a @cross_origin view's response so the extension's middleware
    (if the app has one) does not write over it: it starts through the
    server's own start_response (see ``corsfast.wsgi.past_middleware``)."""
    cls = type(response)
    if cls in _UNTOUCHED.values():
        return
    sub = _UNTOUCHED.get(cls)
    if sub is None:
        def __call__(self: Any, environ: Any, start_response: Any) -> Any:
            return cls.__call__(self, environ, past_middleware(start_response))

        sub = _UNTOUCHED[cls] = type(cls.__name__, (cls,), {
            "__slots__": (), "__call__": __call__, "__module__": cls.__module__,
            "__qualname__": cls.__qualname__})
    response.__class__ = sub


# -- the decorator -------------------------------------------------------------------


def cross_origin(*args: Any, **kwargs: Unpack[CORSOptions]) -> Callable[[F], F]:
    """flask-cors's view decorator, with the same options. Positional
    arguments are accepted and ignored, as flask-cors does."""
    options = kwargs

    def decorator(view: F) -> F:
        if options.get("automatic_options", True):
            target: Any = view
            target.required_methods = set(getattr(view, "required_methods", set())) | {"OPTIONS"}
            target.provide_automatic_options = False
        _Rule(_merged(None, options))  # report bad options at import time
        # One translated rule per app (the app's CORS_* config takes part).
        rules: weakref.WeakKeyDictionary[Any, _Rule] = weakref.WeakKeyDictionary()

        def wrapped(*view_args: Any, **view_kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            rule = rules.get(app)
            if rule is None:
                rule = rules[app] = _Rule(_merged(app, options))
            if rule.automatic_options and request.method == "OPTIONS":
                response = app.make_default_options_response()
            else:
                response = make_response(view(*view_args, **view_kwargs))
            rule.apply(response, request.environ)
            _leave_alone(response)
            return response

        update_wrapper(wrapped, view)
        return wrapped  # type: ignore[return-value]

    return decorator
