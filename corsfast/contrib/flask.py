"""A drop-in for flask-cors: ``CORS(app, ...)`` and ``@cross_origin(...)``.

Change ``from flask_cors import CORS, cross_origin`` to
``from corsfast.contrib.flask import CORS, cross_origin``. The options are
flask-cors's (``resources``, ``origins``, ``methods``, ``allow_headers``,
``expose_headers``, ``supports_credentials``, ``max_age``, ``send_wildcard``,
``vary_header``, ``automatic_options``, ``always_send``,
``allow_private_network``, ``intercept_exceptions``), read from the same
places (defaults, then the app's ``CORS_*`` config, then keyword arguments,
then per-resource options). Each set of options becomes one
:class:`corsfast.Policy` at setup time; each request is decided by the
engine. Where flask-cors matches loosely (origin regexes matched only at
their start, resource regexes likewise, paths unquoted twice), this module
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

from .._engine import check_request
from .._headers import CORS_RESPONSE_HEADERS, merge_vary
from .._policy import ConfigError, Policy
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


# -- the extension -----------------------------------------------------------------


class CORS:
    """flask-cors's extension: ``CORS(app, **options)`` or ``init_app``."""

    def __init__(self, app: Any = None, **kwargs: Any) -> None:
        self._options = kwargs
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Any, **kwargs: Any) -> None:
        merged = _merged(app, self._options, kwargs)
        rules = [(_path_matcher(key), _Rule(_merged(app, self._options, kwargs, extra)))
                 for key, extra in _resources(merged.get("resources", r"/*"))]

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
        rules: "weakref.WeakKeyDictionary[Any, _Rule]" = weakref.WeakKeyDictionary()

        def wrapped(*view_args: Any, **view_kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            rule = rules.get(app)
            if rule is None:
                rule = rules[app] = _Rule(_merged(app, options))
            if rule.automatic_options and request.method == "OPTIONS":
                response = current_app.make_default_options_response()
            else:
                response = make_response(view(*view_args, **view_kwargs))
            rule.apply(response)
            setattr(response, _EVALUATED, True)
            return response

        return update_wrapper(wrapped, view)  # type: ignore[return-value]

    return decorator

