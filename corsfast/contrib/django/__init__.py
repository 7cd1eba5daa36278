"""A drop-in for django-cors-headers' middleware.

In ``MIDDLEWARE``, replace ``"corsheaders.middleware.CorsMiddleware"`` with
``"corsfast.contrib.django.CorsMiddleware"`` (as high as possible, above
anything that may answer on its own, such as CommonMiddleware). It reads the
same ``CORS_*`` settings with the same defaults, turns them into one
:class:`corsfast.Policy`, and lets the engine decide each request. Bad
settings raise ``ImproperlyConfigured`` naming the setting and the fix.
In ``INSTALLED_APPS``, ``"corsfast.contrib.django"`` in place of
``"corsheaders"`` reports the same problems in ``manage.py check``
(checks.py), before the first request.
The policy is rebuilt when a ``CORS_*`` setting changes (``override_settings``
in tests). A ``CORS_*`` name it does not know gets a warning with the
closest known name. A refused preflight (answered 200 without CORS headers, as there) is
logged on ``django.request`` at WARNING with its reason and fix; corsfast's own
``CORS_LOG_REFUSALS = True`` logs every refusal on the ``corsfast`` logger.
Where django-cors-headers matches loosely (origin regexes and
``CORS_URLS_REGEX`` matched only at their start), this middleware matches
strictly; docs/wsgi.md lists every difference.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any, Callable, NamedTuple, Optional, TypeVar, Union
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import Signal
from django.http import HttpResponse
from django.utils.log import log_response

from ..._config import closest_name
from ..._dialect import Dialect
from ..._engine import adapters
from ..._headers import write_over
from ..._logging import escape_for_log, log_environ_refusal, refusal_fix
from ..._policy import ConfigError, Policy, PolicyWarning, warn_if_no_origin
from ..._reason import Reason
from .._match import origin_regex, path_matcher

__all__ = ["CorsMiddleware", "DEFAULT_HEADERS", "DEFAULT_METHODS", "KNOWN_SETTINGS",
           "REMOVED_SETTINGS", "check_request_enabled"]

try:  # the signal receivers were connected to before the switch
    from corsheaders.signals import check_request_enabled
except ImportError:
    # Any receiver returning a true value enables CORS for the request (a
    # path CORS_URLS_REGEX leaves out) and accepts its origin, as there.
    check_request_enabled = Signal()

# django-cors-headers' defaults (corsheaders/defaults.py and conf.py).
DEFAULT_HEADERS = ("accept", "authorization", "content-type", "user-agent",
                   "x-csrftoken", "x-requested-with")
DEFAULT_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_MAX_AGE = 86400
DEFAULT_URLS_REGEX = r"^.*$"
_MAX_AGE_CAP = 86400  # what Policy accepts; browsers cap lower still

# Policy argument -> the setting it came from, for error messages.
_SETTING_FOR = {
    "allow_origins": "CORS_ALLOWED_ORIGINS",
    "allow_origin_regex": "CORS_ALLOWED_ORIGIN_REGEXES",
    "allow_methods": "CORS_ALLOW_METHODS",
    "allow_headers": "CORS_ALLOW_HEADERS",
    "expose_headers": "CORS_EXPOSE_HEADERS",
    "allow_credentials": "CORS_ALLOW_CREDENTIALS",
    "max_age": "CORS_PREFLIGHT_MAX_AGE",
    "allow_private_network": "CORS_ALLOW_PRIVATE_NETWORK",
}
# The old name django-cors-headers still reads for a renamed setting.
_OLD_NAMES = {
    "CORS_ALLOWED_ORIGINS": "CORS_ORIGIN_WHITELIST",
    "CORS_ALLOWED_ORIGIN_REGEXES": "CORS_ORIGIN_REGEX_WHITELIST",
    "CORS_ALLOW_ALL_ORIGINS": "CORS_ORIGIN_ALLOW_ALL",
}
# The system check id of each setting's errors, after "corsfast.": the
# number django-cors-headers gives the same setting (corsheaders.E001 is
# corsfast.E001); corsfast's own setting counts from E101.
_ERROR_IDS = {
    "CORS_ALLOW_HEADERS": "E001",
    "CORS_ALLOW_METHODS": "E002",
    "CORS_ALLOW_CREDENTIALS": "E003",
    "CORS_PREFLIGHT_MAX_AGE": "E004",
    "CORS_ALLOW_ALL_ORIGINS": "E005",
    "CORS_ALLOWED_ORIGINS": "E006",  # E013, E014: an entry's scheme, host or path
    "CORS_ALLOWED_ORIGIN_REGEXES": "E007",
    "CORS_EXPOSE_HEADERS": "E008",
    "CORS_URLS_REGEX": "E009",
    "CORS_ALLOW_PRIVATE_NETWORK": "E015",
    "CORS_LOG_REFUSALS": "E101",
}
_NO_SETTING_ID = "E100"  # a Policy error no one setting caused
# Every setting name read here, old spellings included, and corsfast's own.
KNOWN_SETTINGS = frozenset({*_ERROR_IDS, *_OLD_NAMES.values()})
# Settings django-cors-headers once read and no longer does, and the
# check id its checks report them under: an error in ``manage.py check``;
# the middleware, which never read them, only warns.
_REMOVED_IDS = {"CORS_MODEL": "E012", "CORS_REPLACE_HTTPS_REFERER": "E013"}
REMOVED_SETTINGS = {
    "CORS_MODEL": "origins come from CORS_ALLOWED_ORIGINS and "
                  "CORS_ALLOWED_ORIGIN_REGEXES, not a model",
    "CORS_REPLACE_HTTPS_REFERER": "use Django's CSRF_TRUSTED_ORIGINS",
}
_SETTING_WORD = re.compile(r"\b(" + "|".join(_SETTING_FOR) + r")\b")
_ALL_ORIGINS_CREDENTIALS = (
    "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS reflects every origin "
    "with credentials, as django-cors-headers does; any site can then read "
    "responses as the logged-in user. List CORS_ALLOWED_ORIGINS instead."
)
_warned: set[str] = set()
_PATH_CACHE_SIZE = 1024  # CORS_URLS_REGEX answers kept per path
_wsgi_decide = adapters.wsgi_decide
_T = TypeVar("_T")

# How django-cors-headers' answers differ from corsfast's own, as data
# (corsfast/_dialect.py): CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS
# echoes every origin with credentials (warned about at start-up).
# Any printable Origin value counts as an origin, and "file://" in
# CORS_ALLOWED_ORIGINS matches that literal value, as there. A refused
# preflight is answered 200 without access-control-* headers, as there.
DJANGO = Dialect("django-cors-headers", reflect_any_origin_with_credentials=True,
                 loose_origin_syntax=True, opaque_origins=("file://",),
                 insecure_origins_with_credentials=True,
                 refused_preflight_status=200)

# The answer for an origin a check_request_enabled receiver accepted.
_DJANGO_SIGNAL = dataclasses.replace(DJANGO, star_echoes_origin=True)

# -- settings -> Policy ----------------------------------------------------------------
# One validator, _read_settings(), for the middleware (which raises the
# errors and warns the warnings) and the system checks (checks.py).


class _Problem(NamedTuple):
    """One thing wrong with the ``CORS_*`` settings."""

    code: str  # the system check id after "corsfast.": "E006" an error, "W001" a warning
    setting: str  # the setting at fault, by its current name
    message: str  # names the setting and the fix

    @property
    def is_error(self) -> bool:
        return self.code.startswith("E")

    @property
    def stops_start(self) -> bool:
        """Whether the middleware refuses to start on it: on every error but
        a removed setting's, which has no effect either way."""
        return self.is_error and self.setting not in REMOVED_SETTINGS


class _Compiled(NamedTuple):
    policy: Policy
    signal_policy: Policy
    enabled: Optional[Callable[[str], bool]]
    log_refusals: bool


def _written(name: str) -> str:
    """The name the settings use for ``name``: its old one when only that is set."""
    old_name = _OLD_NAMES.get(name)
    if old_name and not hasattr(settings, name) and hasattr(settings, old_name):
        return old_name
    return name


def _setting(name: str, default: Any) -> Any:
    """A setting's value, under its name or its old one, else ``default``."""
    return getattr(settings, _written(name), default)


def _error(setting: str, text: str) -> _Problem:
    return _Problem(_ERROR_IDS[setting], setting, f"{_written(setting)} {text}")


def _strings(name: str, default: Any, problems: list[_Problem],
             allow_patterns: bool = False) -> list[Any]:
    value = _setting(name, default)
    kinds = (str, re.Pattern) if allow_patterns else (str,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or not all(
            isinstance(item, kinds) for item in value):
        what = "strings and/or compiled regexes" if allow_patterns else "strings"
        problems.append(_error(name, f"should be a sequence of {what}, got {value!r}"))
        return []
    return list(value)


def _read_settings() -> tuple[Optional[_Compiled], list[_Problem]]:
    """The ``CORS_*`` settings, validated and compiled, and every problem
    found in them. Nothing is compiled (None) when there is an error."""
    problems = _unread_settings()
    log_refusals = _setting("CORS_LOG_REFUSALS", False)
    credentials = _setting("CORS_ALLOW_CREDENTIALS", False)
    allow_all = _setting("CORS_ALLOW_ALL_ORIGINS", False)
    private_network = _setting("CORS_ALLOW_PRIVATE_NETWORK", False)
    for name, value in (("CORS_ALLOW_CREDENTIALS", credentials),
                        ("CORS_ALLOW_ALL_ORIGINS", allow_all),
                        ("CORS_ALLOW_PRIVATE_NETWORK", private_network),
                        ("CORS_LOG_REFUSALS", log_refusals)):
        if not isinstance(value, bool):
            problems.append(_error(name, f"should be True or False, got {value!r}"))
    origins = _strings("CORS_ALLOWED_ORIGINS", (), problems)
    regexes = _strings("CORS_ALLOWED_ORIGIN_REGEXES", (), problems, allow_patterns=True)
    methods = _strings("CORS_ALLOW_METHODS", DEFAULT_METHODS, problems)
    headers = _strings("CORS_ALLOW_HEADERS", DEFAULT_HEADERS, problems)
    exposed = _strings("CORS_EXPOSE_HEADERS", (), problems)
    max_age = _setting("CORS_PREFLIGHT_MAX_AGE", DEFAULT_MAX_AGE)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        problems.append(_error("CORS_PREFLIGHT_MAX_AGE",
                               f"should be an integer >= 0, got {max_age!r}"))
    urls_regex = _setting("CORS_URLS_REGEX", DEFAULT_URLS_REGEX)
    if not isinstance(urls_regex, (str, re.Pattern)):
        problems.append(_error("CORS_URLS_REGEX", f"should be a string or compiled "
                                                  f"regex, got {urls_regex!r}"))
    if any(problem.stops_start for problem in problems):
        return None, problems

    allow_origins: Union[str, list[str]] = "*"
    if not allow_all:
        allow_origins = _literal_origins(origins, problems)
    elif credentials:
        problems.append(_Problem("W003", "CORS_ALLOW_ALL_ORIGINS", _ALL_ORIGINS_CREDENTIALS))

    def compiled(build: Callable[..., _T], *args: Any, **kwargs: Any) -> Optional[_T]:
        try:
            return build(*args, **kwargs)
        except ConfigError as exc:
            problems.extend(_policy_problem(line, allow_origins) for line in exc.errors)
            return None

    regex = None
    if regexes and not allow_all:
        regex = compiled(origin_regex, regexes, where="CORS_ALLOWED_ORIGIN_REGEXES")
    common: dict[str, Any] = dict(
        allow_methods=methods,
        allow_headers=headers,
        expose_headers=exposed,
        allow_credentials=credentials,
        # 0 omits the header, as in django-cors-headers.
        max_age=min(max_age, _MAX_AGE_CAP) if max_age else None,
        allow_private_network=private_network,
        preflight_status=200,
        dialect=DJANGO,
    )
    policy = compiled(Policy, **common, allow_origins=allow_origins, allow_origin_regex=regex)
    # The default covers every path: skip the regex on each request.
    enabled = (None if urls_regex == DEFAULT_URLS_REGEX
               else compiled(path_matcher, urls_regex, where="CORS_URLS_REGEX"))
    if policy is None or any(problem.stops_start for problem in problems):
        return None, problems
    # The same answers for any origin, as django-cors-headers gives an
    # origin that a check_request_enabled receiver accepted: it echoes it,
    # with or without credentials. (Valid, since the policy is.)
    signal_policy = Policy(**{**common, "dialect": _DJANGO_SIGNAL}, allow_origins="*")
    return _Compiled(policy, signal_policy, enabled, log_refusals), problems


class _Config:
    """The CORS_* settings, validated and compiled once."""

    __slots__ = ("policy", "signal_policy", "enabled", "log_refusals", "_seen")

    policy: Policy
    signal_policy: Policy
    enabled: Optional[Callable[[str], bool]]

    def __init__(self) -> None:
        compiled, problems = _read_settings()
        for problem in problems:
            if not problem.stops_start:
                _warn_once(f"corsfast.contrib.django: {problem.message}",
                           _WARNING_CATEGORY.get(problem.code, UserWarning))
        if compiled is None:
            raise ImproperlyConfigured(_message(
                [problem.message for problem in problems if problem.stops_start]))
        self.policy, self.signal_policy, self.enabled, self.log_refusals = compiled
        if not check_request_enabled.has_listeners():
            warn_if_no_origin("corsfast.contrib.django", self.policy)
        self._seen: dict[str, Optional[Policy]] = {}

    def policy_for(self, path: str) -> Optional[Policy]:
        """The policy when CORS_URLS_REGEX covers ``path``, else None.

        Answers are kept per path, for a bounded number of paths: past that,
        the regex runs on every request for a new path.
        """
        seen = self._seen
        try:
            return seen[path]
        except KeyError:
            pass
        policy = self.policy if self.enabled(path) else None  # type: ignore[misc]
        if len(seen) < _PATH_CACHE_SIZE:
            seen[path] = policy
        return policy


_WARNING_CATEGORY: dict[str, type[Warning]] = {"W002": PolicyWarning}


def _warn_once(message: str, category: type[Warning] = UserWarning) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, category, stacklevel=4)


def _literal_origins(origins: list[str], problems: list[_Problem]) -> list[str]:
    """CORS_ALLOWED_ORIGINS as django-cors-headers reads it: each entry is
    compared with the Origin as written, so one with a '*' ('https://*.x.com',
    'http://localhost:*', '*') matches no browser's origin there. Policy
    would read it as a pattern; leave it out, and say so, rather than widen
    the policy by switching middleware."""
    literal = []
    for entry in origins:
        if "*" in entry:
            problems.append(_Problem(
                "W002", "CORS_ALLOWED_ORIGINS",
                f"CORS_ALLOWED_ORIGINS entry {entry!r} matches no origin "
                f"(django-cors-headers compares entries as written, and so "
                f"does this drop-in); for a pattern, add a regex to "
                f"CORS_ALLOWED_ORIGIN_REGEXES"))
        else:
            literal.append(entry)
    return literal


def _unread_settings() -> list[_Problem]:
    """A warning per ``CORS_*`` setting this middleware does not read: a
    typo would otherwise leave its default in force without a word."""
    problems = []
    for name in sorted(n for n in dir(settings) if n.startswith("CORS_")):
        if name in KNOWN_SETTINGS:
            continue
        if name in REMOVED_SETTINGS:
            problems.append(_Problem(_REMOVED_IDS[name], name, (
                f"{name} is no longer read (django-cors-headers removed it; "
                f"{REMOVED_SETTINGS[name]}); it has no effect")))
            continue
        close = closest_name(name, sorted(KNOWN_SETTINGS))
        hint = f"; did you mean {close}?" if close else ""
        problems.append(_Problem("W001", name, f"unknown setting {name} is ignored{hint}"))
    return problems


def _setting_words(text: str) -> str:
    """A fix in the words of the settings (allow_headers -> CORS_ALLOW_HEADERS)."""
    return _SETTING_WORD.sub(lambda m: _SETTING_FOR[m.group(1)], text)


_ORIGIN_ENTRY = re.compile(r"allow_origins\[(\d+)\]")


def _policy_problem(line: str, origins: Union[str, list[str]]) -> _Problem:
    """A line of a ConfigError, in the words of the setting that caused it."""
    entry = _ORIGIN_ENTRY.match(line)
    if entry and isinstance(origins, list):
        # "allow_origins[2] 'x': fix": the index is into the entries
        # Policy saw (W002's are left out), so name the entry instead.
        origin = origins[int(entry.group(1))]
        rest = line[entry.end():].lstrip()
        if rest.startswith(repr(origin)):
            rest = rest[len(repr(origin)):].lstrip(": ")
        return _Problem(_origin_entry_id(origin), "CORS_ALLOWED_ORIGINS",
                        f"Origin {origin!r} in {_written('CORS_ALLOWED_ORIGINS')}: {rest}")
    for word, setting in (*_SETTING_FOR.items(), *((s, s) for s in _ERROR_IDS)):
        if line.startswith(word):
            return _Problem(_ERROR_IDS[setting], setting, _written(setting) + line[len(word):])
    return _Problem(_NO_SETTING_ID, "", line)


def _origin_entry_id(entry: str) -> str:
    """The check id for a CORS_ALLOWED_ORIGINS entry Policy refused, as
    django-cors-headers numbers it: E013 without a scheme or host, E014
    with a path, query or fragment (a trailing slash too), else E006.
    Policy's rules decide whether the entry is wrong; this only files it."""
    try:
        parts = urlsplit(entry)
    except ValueError:
        return "E006"
    if not parts.scheme or not parts.netloc:
        return "E013"
    if parts.path or parts.query or parts.fragment:
        return "E014"
    return "E006"


def _message(errors: list[str]) -> str:
    lines = "\n".join(f"  - {e}" for e in errors)
    return f"invalid CORS settings ({len(errors)}):\n{lines}"


_config: Optional[_Config] = None


def _current() -> _Config:
    """The settings, validated and compiled; loaded again after a CORS_*
    setting changed. One reference is read, so a request sees one whole
    configuration."""
    global _config
    config = _config
    if config is None:
        config = _config = _Config()
    return config


def _settings_changed(setting: str = "", **kwargs: Any) -> None:
    global _config
    if setting.startswith("CORS_"):
        _config = None


setting_changed.connect(_settings_changed, dispatch_uid="corsfast.contrib.django")


def _first_look(request: Any, config: _Config) -> tuple[bool, Any]:
    """Whether CORS_URLS_REGEX covers the request, and if so the decision."""
    if config.enabled is not None and config.policy_for(request.path_info) is None:
        return False, None
    return True, _wsgi_decide(config.policy, request.META)


def _must_ask(covered: bool, decision: Any) -> bool:
    """Whether a check_request_enabled receiver's answer could change the
    outcome: for a path left out, or an origin the policy refuses."""
    return not covered or (decision.reason is Reason.ORIGIN_NOT_ALLOWED
                           and check_request_enabled.has_listeners())


def _accepted(responses: list[tuple[Any, Any]]) -> bool:
    return any(answer for _, answer in responses)


async def _asend(request: Any) -> list[tuple[Any, Any]]:
    """The receivers' answers in an async stack (``Signal.asend`` runs sync
    and async receivers; Django 4.2 has only ``send``)."""
    asend = getattr(check_request_enabled, "asend", None)
    if asend is not None:
        return await asend(sender=None, request=request)  # type: ignore[no-any-return]
    send = sync_to_async(check_request_enabled.send)
    return await send(sender=None, request=request)  # type: ignore[no-any-return]


def _settle(request: Any, config: _Config, covered: bool, decision: Any,
            accepted: bool) -> Optional[tuple[Any, Policy]]:
    """The decision and its policy, or None when CORS is off for the request.
    An origin the policy refuses but a receiver accepted gets the answer
    django-cors-headers gives it: the policy's, for any origin."""
    request._cors_enabled = covered or accepted
    if not request._cors_enabled:
        return None
    if decision is None:
        decision = _wsgi_decide(config.policy, request.META)
    if accepted and decision.reason is Reason.ORIGIN_NOT_ALLOWED:
        return _wsgi_decide(config.signal_policy, request.META), config.signal_policy
    return decision, config.policy


def _preflight_response(decision: Any, request: Any, policy: Policy) -> HttpResponse:
    response = HttpResponse(status=decision.status)
    response["Content-Length"] = "0"
    for name, value in decision.headers:
        response[name] = value
    if not decision.allowed:
        # Say why, where Django logs its 4xx answers (a refused preflight
        # is a 200, as in django-cors-headers, but the browser refuses it).
        meta = request.META
        fix = refusal_fix(policy, decision, meta.get("HTTP_ORIGIN"),
                          meta.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                          meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"), _setting_words)
        log_response("CORS preflight refused (%s): origin=%s path=%s%s",
                     decision.reason.name, escape_for_log(meta.get("HTTP_ORIGIN")),
                     escape_for_log(request.path), f" fix: {fix}" if fix else "",
                     response=response, request=request, level="warning")
    return response


def _refused(decision: Any, request: Any, policy: Policy) -> None:
    """``CORS_LOG_REFUSALS = True``: the refusal on the corsfast logger."""
    if _current().log_refusals:
        log_environ_refusal(decision, request.META, policy, _setting_words)


def _write(response: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """The decision's headers over the view's, through Django's header API."""
    headers = response.headers
    write_over(list(headers), lambda: headers.get("vary"), headers.__setitem__,
               headers.__delitem__, ours)


# -- the middleware -------------------------------------------------------------------


class CorsMiddleware:
    """New-style Django middleware, sync and async capable.

    Each request: the policy from the settings, one engine decision from
    ``request.META`` (``wsgi_decide``, compiled or its twin), a preflight
    answered here, and otherwise the decision's headers written over the
    view's response through Django's header API.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        _current()  # bad settings fail at startup, not on the first request

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        config = _current()
        covered, decision = _first_look(request, config)
        accepted = _must_ask(covered, decision) and _accepted(
            check_request_enabled.send(sender=None, request=request))
        settled = _settle(request, config, covered, decision, accepted)
        if settled is None:
            return self.get_response(request)
        decision, policy = settled
        if not decision.allowed:
            _refused(decision, request, policy)
        if decision.preflight:
            return _preflight_response(decision, request, policy)
        response = self.get_response(request)
        _write(response, decision.headers)
        return response

    async def __acall__(self, request: Any) -> Any:
        config = _current()
        covered, decision = _first_look(request, config)
        accepted = _must_ask(covered, decision) and _accepted(
            await _asend(request))
        settled = _settle(request, config, covered, decision, accepted)
        if settled is None:
            return await self.get_response(request)
        decision, policy = settled
        if not decision.allowed:
            _refused(decision, request, policy)
        if decision.preflight:
            return _preflight_response(decision, request, policy)
        response = await self.get_response(request)
        _write(response, decision.headers)
        return response
