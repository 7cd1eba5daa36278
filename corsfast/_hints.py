"""Why a request was refused, in the words of the policy's settings: the
fix for each refusal (``corsfast check`` prints these as hints)."""

from __future__ import annotations

import difflib
from typing import Any, Sequence, Union

from ._audit import show_regex
from ._engine import check_request
from ._origins import EntryError, parse_origin_entry
from ._policy import Policy
from ._reason import Reason
from ._rules import MAX_ACRM_LENGTH, is_forbidden_request_header, is_token

__all__ = ["hints"]


def _as_list(value: Union[str, Sequence[str]]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def hints(policy: Policy, decision: Any, request: dict[str, Any]) -> list[str]:
    """Why a refusal happened, in the words of the policy's settings."""
    reason = decision.reason
    origin = request["origin"]
    found: list[str] = []
    if reason is Reason.NOT_CORS:
        found.append("no --origin: a request without an Origin header is "
                     "same-origin or not from a browser script")
    elif reason is Reason.ORIGIN_NOT_ALLOWED:
        well_formed = True
        try:
            parse_origin_entry(origin)
        except EntryError as exc:
            well_formed = False
            found.append(f"browsers never send an origin in this form: {exc}")
        entries = [e for e in policy.allow_origins if e != "*"]
        close = difflib.get_close_matches(origin, entries, n=1, cutoff=0.5)
        if close:
            found.append(f"the nearest trusted entry is {close[0]!r}; origins "
                         f"are compared byte for byte")
        elif entries:
            found.append(f"trusted entries: {', '.join(entries)}")
        if policy.allow_origin_regex is not None:
            found.append(f"allow_origin_regex "
                         f"{show_regex(policy.allow_origin_regex.pattern)} "
                         f"does not full-match it")
        if not entries and policy.allow_origin_regex is None:
            found.append("the policy trusts no origin; add allow_origins")
        elif well_formed:
            found.append("if it should be trusted, add it to allow_origins")
    elif reason is Reason.METHOD_NOT_ALLOWED:
        listed = ", ".join(_as_list(policy.allow_methods)) or "none"
        method = request["request_method"]
        hint = f"add {method!r} to allow_methods (now: {listed})"
        if method.upper() in _as_list(policy.allow_methods):
            hint = (f"methods are case-sensitive: {method!r} is not "
                    f"{method.upper()!r}")
        found.append(hint)
    elif reason is Reason.HEADERS_NOT_ALLOWED:
        refused = []
        for name in (request["request_headers"] or "").split(","):
            name = name.strip(" \t")
            if name and not check_request(policy, "OPTIONS", origin, "GET",
                                          name).allowed:
                refused.append(name.lower())
        forbidden = [n for n in refused if is_forbidden_request_header(n)]
        refused = [n for n in refused if n not in forbidden]
        listed = ", ".join(_as_list(policy.allow_headers)) or "none"
        if refused:
            found.append(f"not allowed: {', '.join(refused)}; add them to "
                         f"allow_headers (now: {listed})")
        if forbidden:
            found.append(f"forbidden request headers "
                         f"[https://fetch.spec.whatwg.org/#forbidden-request-header]: "
                         f"{', '.join(forbidden)}; browsers never let scripts "
                         f"set them, so a real preflight never asks for them")
        if "authorization" in refused and "*" in policy.allow_headers:
            found.append("'*' never covers authorization; list it by name")
    elif reason is Reason.PRIVATE_NETWORK_NOT_ALLOWED:
        found.append("set allow_private_network = true, if public pages must "
                     "reach this server on a private network")
    elif reason is Reason.MALFORMED_REQUEST:
        found.extend(_malformed_hints(policy, request))
    return found


def _malformed_hints(policy: Policy, request: dict[str, Any]) -> list[str]:
    origin = request["origin"]
    if origin is not None and check_request(
            policy, "GET", origin).reason is Reason.MALFORMED_REQUEST:
        found = ["the Origin is not a serialized origin: browsers send "
                 "scheme://host[:port] in lowercase, with no path, or null"]
        try:
            parse_origin_entry(origin)
        except EntryError as exc:
            found.append(f"browsers never send an origin in this form: {exc}")
        return found
    return [_header_hint(request)]


def _header_hint(request: dict[str, Any]) -> str:
    rm = request["request_method"]
    if rm is not None and (not is_token(rm) or len(rm) > MAX_ACRM_LENGTH):
        return (f"Access-Control-Request-Method must be one method token, at "
                f"most {MAX_ACRM_LENGTH} bytes")
    return ("Access-Control-Request-Headers must be a comma-separated list of "
            "header names, at most 64 and 4096 bytes")
