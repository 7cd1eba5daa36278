"""A drop-in for flask-cors: ``CORS(app, ...)`` and ``@cross_origin(...)``.

Change ``from flask_cors import CORS, cross_origin`` to
``from corsfast.contrib.flask import CORS, cross_origin``. The options are
flask-cors's (``resources``, ``origins``, ``methods``, ``allow_headers``,
``expose_headers``, ``supports_credentials``, ``max_age``, ``send_wildcard``,
``vary_header``, ``automatic_options``, ``always_send``,
``allow_private_network``, ``intercept_exceptions``), read from the same
places (defaults, then the app's ``CORS_*`` config, then keyword arguments,
then per-resource options). Each set of options becomes one
:class:`corsfast.Policy` at setup time. On an app, ``CORS`` installs
:class:`corsfast.wsgi.CORSMiddleware` around ``app.wsgi_app`` with the
resources as its router, so a request costs what the generic middleware
costs; ``@cross_origin`` and blueprints decide in Flask's request context.
Where flask-cors matches loosely (origin regexes matched only at their
start, resource regexes likewise, paths unquoted twice), this module
matches strictly; docs/wsgi.md lists every difference.
"""

from __future__ import annotations

import re
import warnings
import weakref
from datetime import timedelta
from functools import update_wrapper
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar

from flask import current_app, make_response, request

from .._engine import check_request, wsgi_decide
from .._headers import CORS_RESPONSE_HEADERS, merge_vary
from .._policy import ConfigError, Policy
from ..wsgi import CORSMiddleware, past_middleware
from ._match import origin_regex, path_matcher

__all__ = [
    "CORS", "cross_origin",
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
}
_KNOWN = frozenset(DEFAULT_OPTIONS)
# flask-cors reads a string as a regex when it holds one of these.
_REGEX_HINTS = frozenset("*\\]?$^[]()")
_EVALUATED = "_FLASK_CORS_EVALUATED"  # the attribute flask-cors sets, too
_TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}
# Response header names, as spelled, known not to be in _TOUCHED (bounded).
_PLAIN: set[str] = set()
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
# Resource keys that cover every path (flask-cors's default is r"/*").
_EVERY_PATH = frozenset({"*", ".*", "/*", "/.*"})
_PATH_CACHE_SIZE = 1024  # paths whose resource is remembered, per router


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, UserWarning, stacklevel=4)


def _reflect_any(origin: str) -> bool:
    """flask-cors's ``origins='*'`` without ``send_wildcard``: echo any origin."""
    return True


# -- options -> Policy ---------------------------------------------------------


def _is_regex(value: Any) -> bool:
    return isinstance(value, re.Pattern) or (
        isinstance(value, str) and not _REGEX_HINTS.isdisjoint(value))


def _items(value: Any) -> list[Any]:
    """flask-cors's reading of a scalar-or-iterable option."""
    if value is None:
        return []
    if isinstance(value, (str, re.Pattern)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _wildcard(value: Any) -> bool:
    return value in ("*", ".*") or (isinstance(value, re.Pattern)
                                     and value.pattern == ".*")


def _max_age(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value  # type: ignore[no-any-return]  # Policy reports anything else


class _Rule:
    """One set of flask-cors options, compiled: what a request needs."""

    __slots__ = ("policy", "no_origin_policy", "always_send", "vary_header",
                 "automatic_options", "intercept_exceptions")

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - _KNOWN)
        if unknown:
            warnings.warn(f"corsfast.contrib.flask: unknown option(s) {unknown}",
                          UserWarning, stacklevel=4)
        credentials = bool(options.get("supports_credentials"))
        send_wildcard = bool(options.get("send_wildcard"))
        self.always_send = bool(options.get("always_send"))
        self.vary_header = bool(options.get("vary_header"))
        self.automatic_options = bool(options.get("automatic_options"))
        self.intercept_exceptions = bool(options.get("intercept_exceptions"))
        if not self.vary_header:
            _warn_once(_NO_VARY_WARNING)

        origins = _items(options.get("origins"))
        kwargs: dict[str, Any] = {}
        self.no_origin_policy: Optional[Policy] = None
        if any(_wildcard(o) for o in origins):
            if send_wildcard or not credentials:
                star = Policy(allow_origins="*", expose_headers=_items(
                    options.get("expose_headers")))
                self.no_origin_policy = star  # always_send answers '*'
            if send_wildcard:
                kwargs["allow_origins"] = "*"  # Policy refuses it with credentials
            else:
                kwargs["allow_origin_predicate"] = _reflect_any
                if credentials:
                    _warn_once(_ANY_ORIGIN_CREDENTIALS_WARNING)
        else:
            literals = [o for o in origins if not _is_regex(o)]
            regexes = [o for o in origins if _is_regex(o)]
            # Scheme and host are case-insensitive; Policy wants them lowercase.
            kwargs["allow_origins"] = [o.lower() if isinstance(o, str) else o
                                       for o in literals]
            if regexes:
                # flask-cors compiles string regexes case-insensitively.
                kwargs["allow_origin_regex"] = origin_regex(
                    regexes, where="origins", string_flags=re.IGNORECASE)

        headers: list[Any] = []
        for item in _items(options.get("allow_headers")):
            if _wildcard(item):
                # flask-cors's '*' echoes any requested name, Authorization
                # included; a bare '*' would leave Authorization out.
                headers += ["*", "authorization"]
            elif _is_regex(item):
                raise ConfigError([
                    f"allow_headers {getattr(item, 'pattern', item)!r}: corsfast "
                    f"matches request headers by name; list the names (or '*')"])
            else:
                headers.append(item)
        methods = [m.upper() if isinstance(m, str) else m
                   for m in _items(options.get("methods"))]

        self.policy = Policy(
            allow_methods=methods,
            allow_headers=headers,
            expose_headers=_items(options.get("expose_headers")),
            allow_credentials=credentials,
            max_age=_max_age(options.get("max_age")),
            allow_private_network=bool(options.get("allow_private_network")),
            preflight_status=200,
            **kwargs,
        )

    def without_origin(self) -> Optional[Policy]:
        """The policy for requests without ``Origin``; None leaves them
        untouched (``always_send=False``)."""
        if not self.always_send:
            return None
        return self.no_origin_policy or self.policy

    def apply(self, response: Any, req: Any = None) -> None:
        """Decide the current request and write the answer on ``response``."""
        environ = (req or request._get_current_object()).environ  # type: ignore[attr-defined]
        origin = environ.get("HTTP_ORIGIN")
        policy = self.policy
        if origin is None:
            if not self.always_send:
                return
            policy = self.no_origin_policy or policy
        method = environ.get("REQUEST_METHOD", "GET")
        if origin is not None and method == "OPTIONS":
            decision = check_request(
                policy, method, origin,
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"))
            if decision.preflight and not decision.allowed:
                response.status_code = 403
        else:
            decision = check_request(policy, method, origin)
        _write(response.headers, decision.headers, self.vary_header)


def _write(headers: Any, ours: tuple[tuple[str, str], ...], vary: bool) -> None:
    """Replace the response's CORS headers with ours; merge ``vary``."""
    touched = False
    for name, _ in headers.items():
        if name not in _PLAIN:
            if name.lower() in _TOUCHED:
                touched = True
                break
            if len(_PLAIN) < 1024:
                _PLAIN.add(name)
    if not touched:  # nothing to replace or merge: append
        add = headers.add
        for name, value in ours:
            if vary or name != "vary":
                add(name, value)
        return
    for name in CORS_RESPONSE_HEADERS:
        headers.remove(name)
    values = headers.getlist("Vary")
    app_vary = ", ".join(values) if values else None
    for name, value in ours:
        if name == "vary":
            if vary:
                headers["Vary"] = merge_vary(app_vary, value)
        else:
            headers[name] = value


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


# -- resources: which rule serves a path ------------------------------------------


def _path_matcher(pattern: Any) -> Callable[[str], bool]:
    """A resource key as a test on ``request.path``: a literal is compared
    exactly, a regex must match on a segment boundary (see ``_match``)."""
    if pattern == "*":
        pattern = ".*"
    if not _is_regex(pattern):
        return str(pattern).__eq__
    return path_matcher(pattern, where="resources")


def _resources(spec: Any) -> list[tuple[Any, dict[str, Any]]]:
    if isinstance(spec, dict):
        pairs = [(key, dict(value or {})) for key, value in spec.items()]

        def specificity(pair: tuple[Any, Any]) -> tuple[int, int, int, int]:
            key = pair[0]
            text = key.pattern if isinstance(key, re.Pattern) else str(key)
            if isinstance(key, re.Pattern):
                group = (1, 0)
            elif _is_regex(key) or key == "*":
                group = (1, 1)
            else:
                group = (0, 0)
            return (*group, -text.count("/"), -len(text))

        pairs.sort(key=specificity)
        return pairs
    if isinstance(spec, (str, re.Pattern)):
        return [(spec, {})]
    if isinstance(spec, Iterable):
        return [(key, {}) for key in spec]
    raise ValueError("resources: expected a pattern, a list of patterns, or a "
                     "dict of pattern -> options")


# -- the extension ------------------------------------------------------------------


Resources = list[tuple[Callable[[str], bool], _Rule]]


def _request_path(path_info: str) -> str:
    """``request.path`` as Werkzeug makes it from ``PATH_INFO``."""
    try:
        path = path_info.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        path = path_info
    return "/" + path.lstrip("/")


class _PathPolicies(dict):  # type: ignore[type-arg]
    """A router for :class:`corsfast.wsgi.CORSMiddleware`: ``PATH_INFO`` ->
    the policy of the first resource (in flask-cors's order) whose pattern
    matches ``request.path``, or None when none does.

    ``lookup`` is the dict's own subscript, so a path seen before costs the
    middleware one dict lookup; ``__missing__`` matches the resources and
    remembers the answer for up to ``_PATH_CACHE_SIZE`` paths (paths come
    from clients: past that, new paths are matched every time).
    """

    __slots__ = ("_resources", "_choose")

    lookup = dict.__getitem__

    def __init__(self, resources: Resources,
                 choose: Callable[[_Rule], Optional[Policy]]) -> None:
        super().__init__()
        self._resources = resources
        self._choose = choose

    def __missing__(self, path_info: str) -> Optional[Policy]:
        path = _request_path(path_info)
        policy = None
        for matches, rule in self._resources:
            if matches(path):
                policy = self._choose(rule)
                break
        if len(self) < _PATH_CACHE_SIZE:
            self[path_info] = policy
        return policy


def _router(keys: list[Any], resources: Resources,
            choose: Callable[[_Rule], Optional[Policy]]) -> Any:
    """A policy when the first resource covers every path, else a router."""
    if isinstance(keys[0], str) and keys[0] in _EVERY_PATH:
        return choose(resources[0][1])
    return _PathPolicies(resources, choose)


def _policy_of(rule: _Rule) -> Optional[Policy]:
    return rule.policy


def _without_origin(rule: _Rule) -> Optional[Policy]:
    return rule.without_origin()


class CORS:
    """flask-cors's extension: ``CORS(app, **options)`` or ``init_app``.

    On a Flask app, the extension wraps ``app.wsgi_app`` in
    :class:`corsfast.wsgi.CORSMiddleware`, with the resources as its
    router: each request is decided once, before Flask sees it, and the
    answer is written as the response starts. On a blueprint (which has no
    ``wsgi_app``), or with ``vary_header=False``, it works from an
    ``after_request`` hook instead.
    """

    def __init__(self, app: Any = None, **kwargs: Any) -> None:
        self._options = kwargs
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Any, **kwargs: Any) -> None:
        merged = _merged(app, self._options, kwargs)
        specs = _resources(merged.get("resources", r"/*"))
        rules = [(_path_matcher(key), _Rule(_merged(app, self._options, kwargs, extra)))
                 for key, extra in specs]
        if not rules:
            return
        if (callable(getattr(app, "wsgi_app", None))
                and all(rule.vary_header for _, rule in rules)):
            _wrap(app, [key for key, _ in specs], rules)
        else:
            _hook(app, rules)


def _wrap(app: Any, keys: list[Any], rules: Resources) -> None:
    """Install the middleware around ``app.wsgi_app``."""
    wsgi_app = app.wsgi_app
    with_origin = _router(keys, rules, _policy_of)
    without = _router(keys, rules, _without_origin)
    # Preflights reach Flask, as with flask-cors: a @cross_origin view
    # answers its own, and other routes get Flask's automatic OPTIONS
    # response with the decision's headers added (403 below when refused).
    core = CORSMiddleware(wsgi_app, with_origin, preflight_passthrough=True)
    if isinstance(with_origin, _PathPolicies):
        same = all(rule.without_origin() is rule.policy for _, rule in rules)
    else:
        same = without is with_origin
    if same:
        app.wsgi_app = core
    else:
        # Requests without Origin get another answer (flask-cors's '*', or
        # none with always_send=False): pick the middleware by Origin.
        plain = (wsgi_app if without is None
                 else CORSMiddleware(wsgi_app, without, preflight_passthrough=True))

        def cors_wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
            if "HTTP_ORIGIN" in environ:
                return core(environ, start_response)
            return plain(environ, start_response)

        app.wsgi_app = cors_wsgi_app

    default_options = app.make_default_options_response

    def make_default_options_response() -> Any:
        """Flask's automatic OPTIONS answer; a refused preflight gets 403."""
        response = default_options()
        environ = request.environ
        policy = (with_origin.lookup(environ.get("PATH_INFO", ""))
                  if isinstance(with_origin, _PathPolicies) else with_origin)
        if policy is not None:
            decision = wsgi_decide(policy, environ)
            if decision.preflight and not decision.allowed:
                response.status_code = 403
        return response

    make_default_options_response.__wrapped__ = default_options  # type: ignore[attr-defined]
    app.make_default_options_response = make_default_options_response


def _hook(app: Any, rules: Resources) -> None:
    """Work from an ``after_request`` hook (blueprints, vary_header=False)."""

    def cors_after_request(response: Any) -> Any:
        if getattr(response, _EVALUATED, False):
            return response  # a @cross_origin view already answered
        req = request._get_current_object()  # type: ignore[attr-defined]
        path = req.path
        for matches, rule in rules:
            if matches(path):
                rule.apply(response, req)
                setattr(response, _EVALUATED, True)
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


def cross_origin(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """flask-cors's view decorator, with the same options."""
    options = kwargs

    def decorator(view: F) -> F:
        if options.get("automatic_options", True):
            target: Any = view
            target.required_methods = set(getattr(view, "required_methods", set())) | {"OPTIONS"}
            target.provide_automatic_options = False
        _Rule(_merged(None, options))  # report bad options at import time
        # One compiled rule per app (the app's CORS_* config takes part).
        rules: weakref.WeakKeyDictionary[Any, _Rule] = weakref.WeakKeyDictionary()

        def wrapped(*view_args: Any, **view_kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            rule = rules.get(app)
            if rule is None:
                rule = rules[app] = _Rule(_merged(app, options))
            if rule.automatic_options and request.method == "OPTIONS":
                # Flask's own answer, before the extension's 403 for
                # preflights it refuses: the view's options decide here.
                default = app.make_default_options_response
                response = getattr(default, "__wrapped__", default)()
            else:
                response = make_response(view(*view_args, **view_kwargs))
            rule.apply(response)
            setattr(response, _EVALUATED, True)
            _leave_alone(response)
            return response

        return update_wrapper(wrapped, view)  # type: ignore[return-value]

    return decorator

