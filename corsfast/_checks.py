"""Checks of a Policy's arguments, one kind of argument each: what
corsfast/_policy.py calls at construction. Each appends the problems it
finds to ``errors`` (the words of :class:`corsfast.ConfigError`) and returns
what it could make of the value.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ._rules import (
    FORBIDDEN_METHODS,
    FORBIDDEN_RESPONSE_HEADERS,
    NORMALIZED_METHODS,
    is_forbidden_request_header,
    is_token,
)

__all__ = ["check_bool", "compile_regex", "header_names", "methods", "origins"]


def _as_list(value: Any) -> list[Any]:
    """Accept a single string (comma-separated) or any iterable of items."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    try:
        return list(value)
    except TypeError:
        return [value]


def origins(value: Any, errors: list[str]) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        # One origin, or several joined by commas as allow_methods may be
        # (a comma is never part of an origin).
        return [part.strip() for part in value.split(",") if part.strip()] \
            if "," in value else [value]
    try:
        return list(value)
    except TypeError:
        errors.append(
            f"allow_origins: expected a sequence of origins or '*', "
            f"got {type(value).__name__}"
        )
        return []


def methods(
    value: Any, errors: list[str], arg: str = "allow_methods"
) -> tuple[list[str], bool]:
    names: list[str] = []
    wildcard = False
    for i, item in enumerate(_as_list(value)):
        where = f"{arg}[{i}] {item!r}"
        if item == "*":
            wildcard = True
            continue
        if not isinstance(item, str) or not is_token(item):
            errors.append(f"{where}: a method must be a token such as 'PUT'")
            continue
        upper = item.upper()
        if upper in FORBIDDEN_METHODS:
            errors.append(f"{where}: {upper} is a forbidden method "
                          f"[https://fetch.spec.whatwg.org/#forbidden-method]; "
                          f"browsers never send it, remove it")
            continue
        name = upper if upper in NORMALIZED_METHODS else item
        if name not in names:
            names.append(name)
    return names, wildcard


def header_names(
    arg: str, value: Any, errors: list[str], *, request: bool
) -> tuple[list[str], list[str], bool]:
    """Valid names lowercased, the same names as given (first spelling of
    each), and whether ``"*"`` was listed."""
    names: list[str] = []
    given: list[str] = []
    wildcard = False
    for i, item in enumerate(_as_list(value)):
        where = f"{arg}[{i}] {item!r}"
        if item == "*":
            wildcard = True
            continue
        if not isinstance(item, str) or not is_token(item):
            errors.append(f"{where}: a header name must be a token such as "
                          f"'x-request-id'")
            continue
        name = item.lower()
        if request and is_forbidden_request_header(name):
            errors.append(f"{where}: a forbidden request header "
                          f"[https://fetch.spec.whatwg.org/#forbidden-request-header]; "
                          f"browsers never let scripts set it, remove it")
            continue
        if not request and name in FORBIDDEN_RESPONSE_HEADERS:
            errors.append(f"{where}: browsers never expose {name} to scripts "
                          f"[https://fetch.spec.whatwg.org/#forbidden-response-header-name], "
                          f"remove it")
            continue
        side = _wrong_side(name, request)
        if side:
            errors.append(f"{where}: {side}, remove it")
            continue
        if name not in names:
            names.append(name)
            given.append(item)
    return names, given, wildcard


# Names that only one side of a CORS exchange ever sends.
_SERVER_ONLY_PREFIXES = ("access-control-allow-",)
_SERVER_ONLY = frozenset({"access-control-expose-headers", "access-control-max-age"})
_REQUEST_ONLY_PREFIXES = ("access-control-request-",)
_REQUEST_ONLY = frozenset({"origin"})


def _wrong_side(name: str, request: bool) -> str:
    """Why ``name`` (lowercase) can never be on the list it is on, or ""."""
    server_only = name in _SERVER_ONLY or name.startswith(_SERVER_ONLY_PREFIXES)
    if request and server_only:
        return ("a response header only servers send; a preflight never asks "
                "for it")
    if not request and server_only:
        return "a CORS response header, which corsfast sets itself"
    if not request and (name in _REQUEST_ONLY or name.startswith(_REQUEST_ONLY_PREFIXES)):
        return "a request header; responses never carry it"
    return ""


def compile_regex(arg: str, value: Any, errors: list[str]) -> Optional[re.Pattern[str]]:
    if value is None:
        return None
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            errors.append(f"{arg}: compile the pattern from a str, not bytes")
            return None
        return value
    if not isinstance(value, str):
        errors.append(f"{arg}: expected a str or compiled pattern, "
                      f"got {type(value).__name__}")
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        errors.append(f"{arg} {value!r}: not a valid regex ({exc})")
    except (RecursionError, OverflowError, MemoryError):
        errors.append(f"{arg}: the regex is nested or repeated too deeply to "
                      f"compile; simplify it, or list the origins instead")
    return None


def check_bool(name: str, value: Any, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append(f"{name}: expected True or False, got {value!r}")
        return False
    return value
