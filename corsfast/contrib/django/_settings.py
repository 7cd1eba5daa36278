"""The ``CORS_*`` settings, read, validated and compiled into policies.

One reader, ``_read_settings()``, serves the middleware (which raises the
errors and warns the warnings when it starts) and the system checks
(checks.py): each problem is a ``_Problem`` with the check id it is
reported under and a message that names the setting and the fix.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, NamedTuple, Optional, TypeVar, Union
from urllib.parse import urlsplit

from django.conf import settings

from ..._config import closest_name
from ..._dialect import Dialect
from ..._policy import ConfigError, Policy
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
