"""The ``CORS_*`` settings, read, validated and compiled into policies.

One reader, ``_read_settings()``, serves the middleware (which raises the
errors and warns the warnings when it starts) and the system checks
(checks.py): each problem is a ``_Problem`` with the check id it is
reported under and a message that names the setting and the fix.
``CORS_SHADOW``'s dict form is read by the same functions, through a view
of the settings with the dict's values in place (``_Overlay``). (About 440
lines: django-cors-headers' settings, old names included, and corsfast's
own; each reads in a few lines, and the error ids and messages are kept
beside them.)
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Mapping, NamedTuple, Optional, TypeVar, Union
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from ..._config import closest_name
from ..._dialect import Dialect
from ..._policy import ConfigError, Policy
from ..._router import Router
from .._match import origin_regex, path_matcher

__all__ = ["DEFAULT_HEADERS", "DEFAULT_METHODS", "DJANGO", "KNOWN_SETTINGS", "REMOVED_SETTINGS"]

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
# corsfast.E001); corsfast's own settings count from E101.
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
    "CORS_ON_REFUSAL": "E102",
    "CORS_DEBUG": "E103",
    "CORS_SHADOW": "E104",
    "CORS_ON_SHADOW": "E105",
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
# What a CORS_SHADOW dict may give: the settings a policy is built from.
_SHADOW_SETTINGS = frozenset({*_SETTING_FOR.values(), "CORS_ALLOW_ALL_ORIGINS",
                              *_OLD_NAMES.values()})
_DEBUG_IN_PRODUCTION = (
    "CORS_DEBUG is on while DEBUG is off: a refused preflight's body tells any "
    "page which setting would let it through; turn CORS_DEBUG off outside "
    "development")
_SETTING_WORD = re.compile(r"\b(" + "|".join(_SETTING_FOR) + r")\b")
_ALL_ORIGINS_CREDENTIALS = (
    "CORS_ALLOW_ALL_ORIGINS with CORS_ALLOW_CREDENTIALS reflects every origin "
    "with credentials, as django-cors-headers does; any site can then read "
    "responses as the logged-in user. List CORS_ALLOWED_ORIGINS instead."
)
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
    """What the settings say, compiled: the policy and what CORS_URLS_REGEX
    and the signal add to it, and corsfast's own options."""

    policy: Policy
    signal_policy: Policy
    enabled: Optional[Callable[[str], bool]]
    log_refusals: bool
    on_refusal: Optional[Callable[[Any, dict[str, Any]], object]]
    debug: bool
    shadow: Union[Policy, Router, None]
    on_shadow: Optional[Callable[[dict[str, Any]], object]]


def _written(name: str, source: Any = settings) -> str:
    """The name ``source`` (the settings) uses for ``name``: its old one
    when only that is set."""
    old_name = _OLD_NAMES.get(name)
    if old_name and not hasattr(source, name) and hasattr(source, old_name):
        return old_name
    return name


def _setting(name: str, default: Any, source: Any = settings) -> Any:
    """A setting's value, under its name or its old one, else ``default``."""
    return getattr(source, _written(name, source), default)


def _error(setting: str, text: str, source: Any = settings) -> _Problem:
    return _Problem(_ERROR_IDS[setting], setting, f"{_written(setting, source)} {text}")


def _strings(name: str, default: Any, problems: list[_Problem], source: Any,
             allow_patterns: bool = False) -> list[Any]:
    value = _setting(name, default, source)
    kinds = (str, re.Pattern) if allow_patterns else (str,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or not all(
            isinstance(item, kinds) for item in value):
        what = "strings and/or compiled regexes" if allow_patterns else "strings"
        problems.append(_error(name, f"should be a sequence of {what}, got {value!r}", source))
        return []
    return list(value)


def _read_settings() -> tuple[Optional[_Compiled], list[_Problem]]:
    """The ``CORS_*`` settings, validated and compiled, and every problem
    found in them. Nothing is compiled (None) when there is an error."""
    problems = _unread_settings()
    found = _read_policy(settings, problems)
    log_refusals, on_refusal, debug, shadow, on_shadow = _read_options(problems)
    if found is None or any(problem.stops_start for problem in problems):
        return None, problems
    if isinstance(shadow, Mapping):
        shadow = _shadow_policy(shadow, problems)
    if any(problem.stops_start for problem in problems):
        return None, problems
    return _Compiled(*found, log_refusals, on_refusal, debug, shadow, on_shadow), problems


def _read_policy(source: Any, problems: list[_Problem], paths: bool = True
                 ) -> Optional[tuple[Policy, Policy, Optional[Callable[[str], bool]]]]:
    """The policy the settings in ``source`` describe, the one for an
    origin a signal receiver accepted, and CORS_URLS_REGEX's test (None for
    every path); without ``paths`` only the first (a shadow). None when
    there is an error, each one in ``problems``."""
    credentials = _setting("CORS_ALLOW_CREDENTIALS", False, source)
    allow_all = _setting("CORS_ALLOW_ALL_ORIGINS", False, source)
    private_network = _setting("CORS_ALLOW_PRIVATE_NETWORK", False, source)
    for name, value in (("CORS_ALLOW_CREDENTIALS", credentials),
                        ("CORS_ALLOW_ALL_ORIGINS", allow_all),
                        ("CORS_ALLOW_PRIVATE_NETWORK", private_network)):
        if not isinstance(value, bool):
            problems.append(_error(name, f"should be True or False, got {value!r}", source))
    origins = _strings("CORS_ALLOWED_ORIGINS", (), problems, source)
    regexes = _strings("CORS_ALLOWED_ORIGIN_REGEXES", (), problems, source,
                       allow_patterns=True)
    methods = _strings("CORS_ALLOW_METHODS", DEFAULT_METHODS, problems, source)
    headers = _strings("CORS_ALLOW_HEADERS", DEFAULT_HEADERS, problems, source)
    exposed = _strings("CORS_EXPOSE_HEADERS", (), problems, source)
    max_age = _setting("CORS_PREFLIGHT_MAX_AGE", DEFAULT_MAX_AGE, source)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        problems.append(_error("CORS_PREFLIGHT_MAX_AGE",
                               f"should be an integer >= 0, got {max_age!r}", source))
    urls_regex = _setting("CORS_URLS_REGEX", DEFAULT_URLS_REGEX, source) if paths else None
    if paths and not isinstance(urls_regex, (str, re.Pattern)):
        problems.append(_error("CORS_URLS_REGEX", f"should be a string or compiled "
                                                  f"regex, got {urls_regex!r}"))
    if any(problem.stops_start for problem in problems):
        return None

    allow_origins: Union[str, list[str]] = "*"
    if not allow_all:
        allow_origins = _literal_origins(origins, problems)
    elif credentials:
        problems.append(_Problem("W003", "CORS_ALLOW_ALL_ORIGINS", _ALL_ORIGINS_CREDENTIALS))

    def compiled(build: Callable[..., _T], *args: Any, **kwargs: Any) -> Optional[_T]:
        try:
            return build(*args, **kwargs)
        except ConfigError as exc:
            problems.extend(_policy_problem(line, allow_origins, source) for line in exc.errors)
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
    enabled = (None if urls_regex in (None, DEFAULT_URLS_REGEX)
               else compiled(path_matcher, urls_regex, where="CORS_URLS_REGEX"))
    if policy is None or any(problem.stops_start for problem in problems):
        return None
    if not paths:
        return policy, policy, None
    # The same answers for any origin, as django-cors-headers gives an
    # origin that a check_request_enabled receiver accepted: it echoes it,
    # with or without credentials. (Valid, since the policy is.)
    signal_policy = Policy(**{**common, "dialect": _DJANGO_SIGNAL}, allow_origins="*")
    return policy, signal_policy, enabled


# -- corsfast's own settings ------------------------------------------------------------


def _read_options(problems: list[_Problem]) -> tuple[Any, Any, Any, Any, Any]:
    """CORS_LOG_REFUSALS, CORS_ON_REFUSAL, CORS_DEBUG, CORS_SHADOW (a
    Policy or Router as given, a dict still to read) and CORS_ON_SHADOW."""
    log_refusals = _setting("CORS_LOG_REFUSALS", False)
    debug = _setting("CORS_DEBUG", False)
    for name, value in (("CORS_LOG_REFUSALS", log_refusals), ("CORS_DEBUG", debug)):
        if not isinstance(value, bool):
            problems.append(_error(name, f"should be True or False, got {value!r}"))
    if debug is True and not getattr(settings, "DEBUG", False):
        problems.append(_Problem("W004", "CORS_DEBUG", _DEBUG_IN_PRODUCTION))
    on_refusal = _hook("CORS_ON_REFUSAL", "(decision, info)", problems)
    on_shadow = _hook("CORS_ON_SHADOW", "(info)", problems)
    shadow = _setting("CORS_SHADOW", None)
    if shadow is not None and not isinstance(shadow, (Policy, Router, Mapping)):
        problems.append(_error("CORS_SHADOW", (
            f"should be a corsfast Policy or Router, or a dict of CORS_* settings "
            f"({', '.join(sorted(_SHADOW_SETTINGS))}), got {shadow!r}")))
        shadow = None
    return log_refusals, on_refusal, debug, shadow, on_shadow


def _hook(name: str, arguments: str, problems: list[_Problem]) -> Any:
    """A callable setting: the callable, or the dotted path to one
    (imported now, so that a wrong path fails at start-up); None if unset."""
    value = _setting(name, None)
    given = value
    if isinstance(value, str):
        try:
            value = import_string(value)
        except Exception as exc:  # whatever importing the module raises
            problems.append(_error(name, f"{given!r} does not import ({exc}); give a "
                                         f"callable {arguments} or the dotted path to one"))
            return None
    if value is not None and not callable(value):
        where = f"{given!r} names {value!r}" if given is not value else f"got {value!r}"
        problems.append(_error(name, f"should be a callable {arguments} or the dotted "
                                     f"path to one; {where}"))
        return None
    return value


class _Overlay:
    """Django's settings as CORS_SHADOW's dict changes them: a setting the
    dict gives, under either of its names, is read from the dict; every
    other from the settings."""

    __slots__ = ("_values", "_hidden")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)
        spellings = {**_OLD_NAMES, **{old: new for new, old in _OLD_NAMES.items()}}
        self._hidden = {spellings[name] for name in values if name in spellings}

    def __getattr__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._hidden:
            raise AttributeError(name)
        return getattr(settings, name)


def _shadow_policy(values: Mapping[Any, Any], problems: list[_Problem]) -> Optional[Policy]:
    """CORS_SHADOW's dict read as the settings with its values in place:
    the policy those settings describe (problems as CORS_SHADOW's)."""
    found: list[_Problem] = []
    for key in values:
        if key not in _SHADOW_SETTINGS:
            close = closest_name(str(key), sorted(_SHADOW_SETTINGS))
            hint = (f"did you mean {close}?" if close
                    else f"it takes {', '.join(sorted(_SHADOW_SETTINGS))}")
            found.append(_Problem("E104", "CORS_SHADOW",
                                  f"{key!r} is not a setting a shadow takes; {hint}"))
    for new, old in _OLD_NAMES.items():
        if new in values and old in values:
            found.append(_Problem("E104", "CORS_SHADOW",
                                  f"gives both {new} and its old name {old}; keep {new}"))
    policy = None
    if not found:
        read = _read_policy(_Overlay(values), found, paths=False)
        policy = None if read is None else read[0]
    seen = {problem.message for problem in problems}
    for problem in found:
        if problem.message not in seen:  # a warning of the settings' own, again
            problems.append(_Problem(problem.code if not problem.is_error else "E104",
                                     "CORS_SHADOW", f"CORS_SHADOW: {problem.message}"))
    return policy


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


def _policy_problem(line: str, origins: Union[str, list[str]],
                    source: Any = settings) -> _Problem:
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
                        f"Origin {origin!r} in {_written('CORS_ALLOWED_ORIGINS', source)}: {rest}")
    for word, setting in (*_SETTING_FOR.items(), *((s, s) for s in _ERROR_IDS)):
        if line.startswith(word):
            return _Problem(_ERROR_IDS[setting], setting,
                            _written(setting, source) + line[len(word):])
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
