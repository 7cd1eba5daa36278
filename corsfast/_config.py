"""Policies from files and plain mappings: TOML or JSON, keys named exactly
as :class:`~corsfast.Policy`'s arguments.

A file holds one policy::

    allow_origins = ["https://app.example.com", "https://*.example.com"]
    allow_methods = ["GET", "POST", "PUT"]
    allow_credentials = true

or per-path policies under ``routes``, which build a :class:`~corsfast.Router`.
Top-level keys beside ``routes`` form the policy for every path no route
matches (the ``"/"`` route); each route is a whole policy of its own and
inherits nothing from the top level, so credentials or origins never spread
to a path by accident::

    allow_origins = ["https://www.example.com"]

    [routes."/api"]
    allow_origins = ["https://app.example.com"]
    allow_credentials = true

Every problem is reported at once in one :class:`~corsfast.ConfigError`,
each entry named by where it sits (``routes['/api'].allow_origins[0]``), and
an unknown key comes with the nearest valid one.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from typing import Any, Mapping, Optional, Sequence, Union

from ._policy import ConfigError, Policy
from ._router import Router

__all__ = ["FILE_KEYS", "closest_name", "policy_from_file", "policy_from_mapping", "load_mapping"]

# Policy arguments a file may set. allow_origin_predicate is a callable, an
# allow_origin_set a live object and a dialect belongs to a drop-in: none
# has a place in a file.
FILE_KEYS = (
    "allow_origins",
    "allow_origin_regex",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "preflight_status",
    "allow_header_regex",
    "allow_insecure_origins",
    "allow_public_suffix_patterns",
)
ROUTES_KEY = "routes"


# -- mappings -------------------------------------------------------------------


def policy_from_mapping(mapping: Mapping[str, Any]) -> Union[Policy, Router]:
    """A :class:`Policy` from ``mapping``, or a :class:`Router` when the
    mapping has a ``routes`` table. Raises :class:`ConfigError`."""
    return _build(mapping, "")


def _build(mapping: Any, label: str) -> Union[Policy, Router]:
    if not isinstance(mapping, Mapping):
        raise ConfigError([f"{label}expected a table of policy settings, got "
                           f"{type(mapping).__name__}"])
    if ROUTES_KEY not in mapping:
        return _policy(mapping, label)

    errors: list[str] = []
    policies: dict[str, Policy] = {}
    top = {k: v for k, v in mapping.items() if k != ROUTES_KEY}
    routes = mapping[ROUTES_KEY]
    if not isinstance(routes, Mapping) or not routes:
        errors.append(f"{label}routes: expected a table of path prefix -> "
                      f"policy settings, such as [routes.\"/api\"]")
        routes = {}
    if top:
        try:
            policies["/"] = _policy(top, label)
        except ConfigError as exc:
            errors.extend(exc.errors)
    for prefix, settings in routes.items():
        where = f"{label}routes[{prefix!r}]"
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            errors.append(f"{where}: a route is a path prefix starting with '/', "
                          f"such as '/api'")
            continue
        if isinstance(settings, Mapping) and ROUTES_KEY in settings:
            errors.append(f"{where}.routes: routes do not nest; list every "
                          f"prefix in the top-level routes table")
            continue
        if prefix.rstrip("/") == "" and top:
            errors.append(f"{where}: the top-level settings already are the "
                          f"'/' policy; move them into this route or drop it")
            continue
        try:
            policies[prefix] = _policy(settings, where + ".")
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)
    try:
        return Router(policies)
    except ConfigError as exc:
        raise ConfigError([f"{label}{e}" for e in exc.errors]) from None


def _policy(settings: Any, label: str) -> Policy:
    if not isinstance(settings, Mapping):
        raise ConfigError([f"{label.rstrip('.')}: expected a table of policy "
                           f"settings, got {type(settings).__name__}"])
    errors: list[str] = []
    kwargs: dict[str, Any] = {}
    for key, value in settings.items():
        if key in FILE_KEYS:
            kwargs[key] = value
        else:
            errors.append(f"{label}{key}: {_unknown_key(key)}")
    try:
        policy = Policy(**kwargs)
    except ConfigError as exc:
        errors.extend(f"{label}{e}" for e in exc.errors)
    if errors:
        raise ConfigError(errors)
    return policy


def _unknown_key(key: object) -> str:
    if key == "allow_origin_predicate":
        return ("a predicate is Python code and cannot come from a file; use "
                "allow_origin_regex, or build the Policy in Python")
    if key == "allow_origin_set":
        return ("an origin set is a live object whose members change while the "
                "server runs, so it cannot come from a file; list fixed origins "
                "in allow_origins, or build the Policy in Python with "
                "allow_origin_set=corsfast.OriginSet([...])")
    candidates = FILE_KEYS + (ROUTES_KEY,)
    close = closest_name(str(key), candidates)
    if close:
        return f"unknown key; did you mean '{close}'?"
    return f"unknown key; valid keys are {', '.join(candidates)}"


def closest_name(text: str, candidates: Sequence[str]) -> Optional[str]:
    """The known name a mistyped one most likely meant, or None."""
    close = difflib.get_close_matches(text, candidates, n=1, cutoff=0.6)
    if not close:
        # Dashes and case are the common slips: try again without them.
        folded = text.lower().replace("-", "_")
        close = difflib.get_close_matches(folded, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


# -- files ------------------------------------------------------------------------


def load_mapping(path: Union[str, os.PathLike[str]]) -> dict[str, Any]:
    """The raw settings in a TOML or JSON file.

    The format follows the suffix (``.toml``, ``.json``); any other suffix is
    read as JSON when the text starts with ``{``, else as TOML. A missing or
    unreadable file raises ``OSError``; a file that does not parse raises
    :class:`ConfigError` with the line.
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in ("", ".toml", ".json"):
        raise ConfigError([f"{name}: corsfast reads policy files in TOML (.toml) "
                           f"or JSON (.json), not {suffix}; write the policy in "
                           f"one of those"])
    with open(name, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start})"]) from None
    if suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{")):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError([f"{name}: not valid JSON ({exc.msg} at line "
                               f"{exc.lineno}, column {exc.colno})"]) from None
        if not isinstance(loaded, dict):
            raise ConfigError([f"{name}: the JSON must be an object of policy "
                               f"settings, not {type(loaded).__name__}"])
        return loaded
    toml = _toml_module()
    try:
        return dict(toml.loads(text))
    except toml.TOMLDecodeError as exc:
        raise ConfigError([f"{name}: not valid TOML ({exc})"]) from None


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli  # the same parser, for Python 3.10
    except ImportError:
        raise ConfigError([
            "reading TOML on Python 3.10 needs the 'tomli' package "
            "(pip install tomli), or write the policy as JSON"
        ]) from None
    return tomli


def policy_from_file(path: Union[str, os.PathLike[str]]) -> Union[Policy, Router]:
    """A :class:`Policy` (or a :class:`Router` when the file has ``routes``)
    from a TOML or JSON file. Every error names the file."""
    name = os.fspath(path)
    mapping = load_mapping(name)
    try:
        return policy_from_mapping(mapping)
    except ConfigError as exc:
        raise ConfigError([f"{name}: {e}" for e in exc.errors]) from None
