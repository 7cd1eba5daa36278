"""A drop-in for flask-cors: ``CORS(app, ...)`` and ``@cross_origin(...)``.

Change ``from flask_cors import CORS, cross_origin`` to
``from corsfast.contrib.flask import CORS, cross_origin``. The options are
flask-cors's (``resources``, ``origins``, ``methods``, ``allow_headers``,
``expose_headers``, ``supports_credentials``, ``max_age``, ``send_wildcard``,
``vary_header``, ``automatic_options``, ``always_send``,
``allow_private_network``, ``intercept_exceptions``), read from the same
places (defaults, then the app's ``CORS_*`` config, then keyword arguments,
then per-resource options), and the answers are flask-cors's: refused
preflights keep Flask's status, a preflight lists the requested headers it
allows (as sent, sorted), header values keep flask-cors's spelling.

Each set of options becomes one :class:`corsfast.Policy` at setup time, with
flask-cors's spelling compiled in. On an app, ``CORS`` installs
:class:`corsfast.wsgi.CORSMiddleware` around ``app.wsgi_app`` with the
resources as its router, so a request costs what the generic middleware
costs; ``OPTIONS`` requests are answered inside Flask, from the engine's
decisions, as flask-cors answers them (hooks on Flask's OPTIONS and error
paths that no other request runs). ``@cross_origin`` and blueprints decide
in Flask's request context. Where flask-cors matches loosely (origin,
header and resource regexes matched only at their start, paths unquoted
twice) or leaves out ``Vary: Origin``, this module does not; docs/wsgi.md
lists every difference.
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
from .._headers import CORS_RESPONSE_HEADERS
from .._policy import Policy
from .._rules import MAX_ACRH_LENGTH, is_forbidden_request_header, is_token
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
Header = tuple[str, str]

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
# The engine's header names (lowercase).
_ACAO = "access-control-allow-origin"
_ACAM = "access-control-allow-methods"
_ACEH = "access-control-expose-headers"
_ACMA = "access-control-max-age"
_ACAPN = "access-control-allow-private-network"
_VARY = "vary"
_VARY_ORIGIN: Header = (_VARY, "Origin")  # flask-cors's spelling
_MAX_AGE_LIMIT = 86400  # the most Policy takes; larger values are sent as given
# Request headers, as WSGI names them.
_ENV_ACRM = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
_ENV_ACRH = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
_ENV_ACRPN = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"
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


def _listed(value: Any) -> tuple[list[Any], Optional[str]]:
    """``methods`` or ``expose_headers``: the names, and the header value
    flask-cors sends for them (a string as given, other iterables sorted)."""
    if value is None:
        return [], None
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
        return names, ", ".join(names)
    names = _items(value)
    try:
        return names, ", ".join(str(name) for name in sorted(names))
    except TypeError:
        return names, None  # Policy reports what cannot be a name


def _wildcard(value: Any) -> bool:
    return value in ("*", ".*") or (isinstance(value, re.Pattern)
                                     and value.pattern == ".*")


def _max_age(value: Any) -> tuple[Any, Optional[str]]:
    """``max_age`` for Policy, and the value to send when Policy's differs
    (flask-cors sends any number of seconds; Policy stops at a day)."""
    if value is None:
        return None, None
    if isinstance(value, timedelta):
        value = int(value.total_seconds())
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if (isinstance(value, int) and not isinstance(value, bool)
            and value > _MAX_AGE_LIMIT):
        return _MAX_AGE_LIMIT, str(value)
    return value, None  # Policy reports anything it cannot send


def _spelled(arguments: dict[str, Any], methods: Optional[str],
             exposed: Optional[str], max_age: Optional[str]) -> Policy:
    """A Policy answering with flask-cors's spelling of its constant header
    values. Built twice, at setup: once to learn corsfast's values, once
    with flask-cors's compiled in, so a request pays nothing for them."""
    plain = Policy(**arguments)
    spelling = {(_VARY, "origin"): _VARY_ORIGIN}
    # Every preflight of a policy carries the same vary value; any one
    # preflight shows it. flask-cors sends "Origin" (OPTIONS responses are
    # not stored by HTTP caches).
    for name, value in plain.check("OPTIONS", "null", "GET").headers:
        if name == _VARY:
            spelling[(name, value)] = _VARY_ORIGIN
    if methods is not None and isinstance(plain.allow_methods, tuple):
        spelling[(_ACAM, ", ".join(plain.allow_methods))] = (_ACAM, methods)
    if exposed is not None and isinstance(plain.expose_headers, tuple):
        spelling[(_ACEH, ", ".join(plain.expose_headers))] = (_ACEH, exposed)
    if max_age is not None:
        spelling[(_ACMA, str(plain.max_age))] = (_ACMA, max_age)
    return Policy(**arguments, _spelling=spelling)


class _Rule:
    """One set of flask-cors options, compiled: what a request needs.

    ``answer(environ)`` is flask-cors's answer to a request, made from the
    engine's decisions. The extension's middleware gives requests that are
    not OPTIONS the same answer straight from ``policy`` (and
    ``without_origin()``), except that it does not read
    Access-Control-Request-Private-Network on them.
    """

    __slots__ = ("policy", "options_policy", "no_origin_policy", "expose", "always_send",
                 "vary_header", "automatic_options", "intercept_exceptions",
                 "private_network", "static_star", "header_names", "header_any",
                 "header_regex")

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
        self.private_network = bool(options.get("allow_private_network"))
        if not self.vary_header:
            _warn_once(_NO_VARY_WARNING)

        methods, methods_value = _listed(options.get("methods"))
        if "*" in methods:
            # flask-cors looks the requested method up in its list's text,
            # so '*' matches no method; sent, browsers would read it as any.
            methods, methods_value = _listed([m for m in methods if m != "*"])
        methods = [m.upper() if isinstance(m, str) else m for m in methods]
        if methods_value is not None:
            methods_value = methods_value.upper()
        exposed, exposed_value = _listed(options.get("expose_headers"))
        max_age, max_age_value = _max_age(options.get("max_age"))

        origins = _items(options.get("origins"))
        kwargs: dict[str, Any] = {}
        self.no_origin_policy: Optional[Policy] = None
        self.static_star = False
        if any(_wildcard(o) for o in origins):
            if send_wildcard or not credentials:
                # Requests without Origin get '*' (always_send).
                self.no_origin_policy = _spelled(
                    {"allow_origins": "*", "expose_headers": exposed},
                    None, exposed_value, None)
            if send_wildcard:
                kwargs["allow_origins"] = "*"  # Policy refuses it with credentials
                self.static_star = True
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

        # Request headers: names (any case), regexes (whole name, case-
        # insensitive as in flask-cors) or '*'. A preflight's requested
        # names are matched here (see _requested); the engine then checks
        # the names that matched again, as tokens, and echoes them.
        names: list[Any] = []
        regexes = []
        self.header_any = False
        for item in _items(options.get("allow_headers")):
            if _wildcard(item):
                self.header_any = True
            elif _is_regex(item):
                regexes.append(item)
            else:
                names.append(item)
        self.header_regex = (origin_regex(regexes, where="allow_headers",
                                          string_flags=re.IGNORECASE).fullmatch
                             if regexes else None)
        # '*' allows Authorization too, which a bare '*' leaves out.
        headers = names + ["*", "authorization"] if self.header_any else names

        arguments = dict(
            allow_methods=methods,
            allow_headers=headers,
            expose_headers=exposed,
            allow_credentials=credentials,
            max_age=max_age,
            allow_private_network=self.private_network,
            preflight_status=200,
            # flask-cors's rules where corsfast's defaults differ: every
            # preflight method must be listed (GET, HEAD and POST too), and
            # the allowed request headers are echoed as sent.
            _always_allowed_methods=(),
            _echo_request_headers=True,
            **kwargs,
        )
        spelling = (methods_value, exposed_value, max_age_value)
        self.policy = _spelled(arguments, *spelling)
        # OPTIONS requests are answered from options_policy, after the
        # requested names are matched against the regexes here (_requested);
        # policy (the middleware's, for the rest) allows no regex's names.
        self.options_policy = self.policy
        if regexes and not self.header_any:
            arguments["allow_headers"] = names + ["*", "authorization"]
            self.options_policy = _spelled(arguments, *spelling)
        # flask-cors sends Access-Control-Expose-Headers on preflights too.
        exposed_names = self.policy.expose_headers  # a tuple, or "*"
        self.expose: tuple[Header, ...] = (
            ((_ACEH, exposed_value or ", ".join(exposed_names)),)
            if exposed_names else ())
        # Policy validated the names: tokens, none forbidden.
        self.header_names = frozenset(
            n.lower() for n in names if isinstance(n, str))

    def without_origin(self) -> Optional[Policy]:
        """The policy for requests without ``Origin``; None leaves them
        untouched (``always_send=False``)."""
        if not self.always_send:
            return None
        return self.no_origin_policy or self.policy

    # -- answers ----------------------------------------------------------------

    def answer(self, environ: Mapping[str, Any]) -> Optional[tuple[Header, ...]]:
        """flask-cors's CORS headers for a request; None to leave its
        response untouched."""
        get = environ.get
        origin = get("HTTP_ORIGIN")
        method = get("REQUEST_METHOD", "GET")
        if origin is None:
            if not self.always_send:
                return None
            headers = check_request(self.without_origin(), method, None).headers
        elif method == "OPTIONS":
            headers = self._options(origin, get(_ENV_ACRM), get(_ENV_ACRH),
                                    get(_ENV_ACRPN) == "true")
        else:
            headers = check_request(self.policy, method, origin).headers
        if get(_ENV_ACRPN) == "true":
            headers = self._private_network(headers)
        if not self.vary_header:
            headers = tuple(pair for pair in headers if pair[0] != _VARY)
        return headers

    def _options(self, origin: Any, acrm: Any, acrh: Any,
                 private_network: bool) -> tuple[Header, ...]:
        """An OPTIONS request with Origin, as flask-cors answers it: a
        preflight for an allowed method gets the preflight headers (the
        requested headers that are allowed, sorted); any other OPTIONS
        request from an allowed origin gets the actual request's."""
        if acrm and isinstance(acrm, str):
            names = self._requested(acrh)
            if names is not False:
                decision = check_request(
                    self.options_policy, "OPTIONS", origin, acrm.upper(), names,
                    "true" if private_network and self.private_network else None)
                if decision.allowed:
                    headers = decision.headers + self.expose
                    if self.static_star:  # '*' does not vary: no Vary
                        return tuple(p for p in headers if p[0] != _VARY)
                    return headers
        return check_request(self.policy, "OPTIONS", origin).headers

    def _requested(self, value: Any) -> Any:
        """The requested header names this rule allows, as sent, sorted and
        joined; None for none; False when the value is too long to read."""
        if not value or not isinstance(value, str):
            return None
        if len(value) > MAX_ACRH_LENGTH:
            return False
        allowed = []
        for element in value.split(","):
            name = element.strip()
            if name and is_token(name) and self._header_allowed(name):
                allowed.append(name)
        if not allowed:
            return None
        allowed.sort()
        return ", ".join(allowed)

    def _header_allowed(self, name: str) -> bool:
        lower = name.lower()
        if lower in self.header_names:
            return True
        if is_forbidden_request_header(lower):
            return False
        if self.header_any:
            return True
        regex = self.header_regex
        return regex is not None and regex(name) is not None

    def _private_network(self, headers: tuple[Header, ...]) -> tuple[Header, ...]:
        """flask-cors answers Access-Control-Request-Private-Network: true
        on any request it answers, "false" when not allowed."""
        names = [name for name, _ in headers]
        if _ACAO not in names or _ACAPN in names:
            return headers
        return (*headers, (_ACAPN, "true" if self.private_network else "false"))

    def apply(self, response: Any, req: Any = None) -> None:
        """Decide the current request and write the answer on ``response``."""
        environ = (req or request._get_current_object()).environ  # type: ignore[attr-defined]
        ours = self.answer(environ)
        if ours is not None:
            _write(response.headers, ours)
        setattr(response, _EVALUATED, True)


def _write(headers: Any, ours: tuple[Header, ...]) -> None:
    """Write ours on a Flask response: CORS headers the view set are
    replaced; ``Vary: Origin`` is added as a line of its own, as flask-cors
    adds it, unless the view's ``Vary`` already covers it."""
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
            add(name, value)
        return
    for name in CORS_RESPONSE_HEADERS:
        headers.remove(name)
    tokens = {token.strip().lower() for value in headers.getlist("Vary")
              for token in value.split(",")}
    for name, value in ours:
        if name == _VARY and ("origin" in tokens or "*" in tokens):
            continue
        headers.add(name, value)


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
    what ``choose`` gives for the first resource (in flask-cors's order)
    whose pattern matches ``request.path`` (a policy, or the rule itself),
    or None when none does.

    ``lookup`` is the dict's own subscript, so a path seen before costs the
    middleware one dict lookup; ``__missing__`` matches the resources and
    remembers the answer for up to ``_PATH_CACHE_SIZE`` paths (paths come
    from clients: past that, new paths are matched every time).
    """

    __slots__ = ("_resources", "_choose")

    lookup = dict.__getitem__

    def __init__(self, resources: Resources,
                 choose: Callable[[_Rule], Any]) -> None:
        super().__init__()
        self._resources = resources
        self._choose = choose

    def __missing__(self, path_info: str) -> Any:
        path = _request_path(path_info)
        found = None
        for matches, rule in self._resources:
            if matches(path):
                found = self._choose(rule)
                break
        if len(self) < _PATH_CACHE_SIZE:
            self[path_info] = found
        return found


def _router(keys: list[Any], resources: Resources,
            choose: Callable[[_Rule], Any]) -> Any:
    """What ``choose`` gives for the first resource when it covers every
    path, else a router."""
    if isinstance(keys[0], str) and keys[0] in _EVERY_PATH:
        return choose(resources[0][1])
    return _PathPolicies(resources, choose)


def _policy_of(rule: _Rule) -> Optional[Policy]:
    return rule.policy


def _without_origin(rule: _Rule) -> Optional[Policy]:
    return rule.without_origin()


def _rule_itself(rule: _Rule) -> _Rule:
    return rule


class CORS:
    """flask-cors's extension: ``CORS(app, **options)`` or ``init_app``.

    On a Flask app, the extension wraps ``app.wsgi_app`` in
    :class:`corsfast.wsgi.CORSMiddleware`, with the resources as its
    router: each request is decided once, before Flask sees it, and the
    answer is written as the response starts; the response Flask makes for
    an ``OPTIONS`` request gets flask-cors's answer instead
    (``_options_hooks``). On a blueprint (which has no ``wsgi_app``), or
    with ``vary_header=False``, it works from an ``after_request`` hook
    instead.
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
    """Install the middleware around ``app.wsgi_app``, and flask-cors's
    answers to OPTIONS requests inside Flask."""
    wsgi_app = app.wsgi_app
    with_origin = _router(keys, rules, _policy_of)
    without = _router(keys, rules, _without_origin)
    # OPTIONS requests reach Flask (preflight_passthrough) and are answered
    # there (_options_hooks); the middleware's own answer is the fallback.
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
    by_path = _router(keys, rules, _rule_itself)
    _options_hooks(app, by_path.lookup if isinstance(by_path, _PathPolicies)
                   else lambda path_info: by_path)


def _options_hooks(app: Any, rule_of: Callable[[str], Optional[_Rule]]) -> None:
    """Answer OPTIONS requests as flask-cors does, on the response Flask
    makes for them: its automatic answer, an error's, or a view's that
    answers OPTIONS itself. These are set at setup, on the app: a request
    that is not OPTIONS runs none of them. The answered response starts
    past the middleware (``_leave_alone``); a @cross_origin view answers
    its own."""

    def answer(response: Any) -> Any:
        if getattr(response, _EVALUATED, False):
            return response
        environ = request.environ
        rule = rule_of(environ.get("PATH_INFO", ""))
        if rule is not None:
            rule.apply(response)
            _leave_alone(response)
        return response

    default_options = app.make_default_options_response

    def make_default_options_response() -> Any:
        return answer(default_options())

    handle_user_exception = app.handle_user_exception

    def handle_user_exception_(e: Exception) -> Any:
        rv = handle_user_exception(e)
        if request.method != "OPTIONS":
            return rv
        return answer(app.make_response(rv))

    handle_exception = app.handle_exception

    def handle_exception_(e: Exception) -> Any:
        response = handle_exception(e)
        if request.method != "OPTIONS":
            return response
        return answer(response)

    add_url_rule = app.add_url_rule

    def add_url_rule_(rule: str, endpoint: Optional[str] = None,
                      view_func: Any = None, *args: Any, **kwargs: Any) -> None:
        add_url_rule(rule, endpoint, view_func, *args, **kwargs)
        if view_func is not None:
            _answer_view_options(app, endpoint or view_func.__name__, answer)

    hooks: dict[str, Any] = {
        "make_default_options_response": make_default_options_response,
        "handle_user_exception": handle_user_exception_,
        "handle_exception": handle_exception_,
        "add_url_rule": add_url_rule_,
    }
    for name, hook in hooks.items():
        hook.__wrapped__ = getattr(app, name)
        setattr(app, name, hook)
    for endpoint in list(app.view_functions):
        _answer_view_options(app, endpoint, answer)


def _answer_view_options(app: Any, endpoint: str, answer: Callable[[Any], Any]) -> None:
    """Wrap the view of ``endpoint`` when one of its routes answers OPTIONS
    itself (not Flask's automatic answer), so its OPTIONS responses get
    flask-cors's answer too. @cross_origin views answer their own."""
    view = app.view_functions.get(endpoint)
    if view is None or getattr(view, "_corsfast_options", False):
        return
    try:
        routes = list(app.url_map.iter_rules(endpoint))
    except KeyError:
        return
    if not any("OPTIONS" in (route.methods or ())
               and not getattr(route, "provide_automatic_options", False)
               for route in routes):
        return

    def view_answering_options(*args: Any, **kwargs: Any) -> Any:
        rv = view(*args, **kwargs)
        if request.method != "OPTIONS":
            return rv
        return answer(app.make_response(rv))

    update_wrapper(view_answering_options, view)
    view_answering_options._corsfast_options = True  # type: ignore[attr-defined]
    app.view_functions[endpoint] = view_answering_options


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
                # Flask's own answer, without the extension's (if any): the
                # view's options decide here.
                default = app.make_default_options_response
                response = getattr(default, "__wrapped__", default)()
            else:
                response = make_response(view(*view_args, **view_kwargs))
            rule.apply(response)
            _leave_alone(response)
            return response

        update_wrapper(wrapped, view)
        wrapped._corsfast_options = True  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
