"""What the aiohttp drop-ins read from a request and write on a response.

Both :mod:`corsfast.contrib.aiohttp` (the middleware) and its
aiohttp-cors-compatible API use these; neither decides anything: the
engine does (:func:`corsfast.check_request`), and the decision's headers
are written over the response's with :func:`corsfast._headers.write_over`
(CORS headers the handler set are replaced, ``vary`` merged token by token).

A request header sent on several lines is read as one value, its lines
joined with ", " (RFC 9110 section 5.3), as a WSGI server hands it over:
the engine then finds a repeated ``Origin`` or
``Access-Control-Request-Method`` malformed (a browser sends each once)
and reads repeated ``Access-Control-Request-Headers`` lines as one list.

Per request this module makes few Python calls: request headers are looked
up by multidict ``istr`` names (aiohttp's own ``hdrs`` constants, whose
case-folded form multidict keeps, so no name is folded per request), and
the decision's headers are merged with the response's by the live
engine's compiled ``apply_text`` (the WSGI middleware's merge, over
corsfast/_headers.py) and written with one multidict call.
"""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy, istr

from .._engine import adapters, check_request
from .._headers import exposed_names
from .._reason import Reason

__all__ = ["Answer", "decide", "header", "request_values", "write"]

_ALLOWED = Reason.ALLOWED
_ACEH = "access-control-expose-headers"
_ORIGIN = hdrs.ORIGIN
_ACRM = hdrs.ACCESS_CONTROL_REQUEST_METHOD
_ACRH = hdrs.ACCESS_CONTROL_REQUEST_HEADERS
_ACRPN = istr("Access-Control-Request-Private-Network")
_MULTIDICTS = (CIMultiDictProxy, CIMultiDict)
_apply_text = adapters.apply_text


class Answer(web.Response):
    """A response the drop-in answered itself (a preflight, a refusal):
    it already carries the decision's headers, so the response hook
    leaves it alone."""


def _joined(values: Optional[list[str]]) -> Optional[str]:
    """A header's lines as one value (None: not sent)."""
    if values is None:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)


def header(headers: Any, name: str) -> Optional[str]:
    """One request header's value, or None when it was not sent."""
    getall = getattr(headers, "getall", None)
    if getall is None:  # a plain mapping (a test's stand-in request)
        value = headers.get(name)
        return value if value is None or isinstance(value, str) else str(value)
    return _joined(getall(name, None))


def request_values(request: Any) -> tuple[Any, ...]:
    """``check_request``'s arguments after the policy: the method, Origin
    and, for ``OPTIONS``, the three ``Access-Control-Request-*`` headers
    (Private-Network on any request: a dialect may answer it there)."""
    headers = request.headers
    method = request.method
    if type(headers) not in _MULTIDICTS:  # not aiohttp's: read as any mapping
        origin = header(headers, _ORIGIN)
        if origin is None:
            return method, None, None, None, None
        acrpn = header(headers, _ACRPN)
        if method == "OPTIONS":
            return (method, origin, header(headers, _ACRM), header(headers, _ACRH), acrpn)
        return method, origin, None, None, acrpn
    getall = headers.getall
    found = getall(_ORIGIN, None)
    if found is None:
        return method, None, None, None, None
    origin = found[0] if len(found) == 1 else ", ".join(found)
    acrpn = getall(_ACRPN, None)
    if acrpn is not None:
        acrpn = _joined(acrpn)
    if method == "OPTIONS":
        return (method, origin, _joined(getall(_ACRM, None)), _joined(getall(_ACRH, None)),
                acrpn)
    return method, origin, None, None, acrpn


def decide(policy: Any, request: Any) -> Any:
    """The engine's decision for an aiohttp request."""
    return check_request(policy, *request_values(request))


def write(response: Any, decision: Any, expose_response: bool = False) -> None:
    """Write ``decision``'s headers over ``response``'s: CORS headers the
    response set are replaced, its ``vary`` merged token by token. With
    ``expose_response`` (a policy whose dialect exposes the response's own
    headers for ``expose_headers="*"``), an allowed answer to a request with
    an Origin also gets ``access-control-expose-headers`` listing them."""
    headers = response.headers
    ours = decision.headers
    if expose_response and decision.reason is _ALLOWED and not decision.preflight:
        value = exposed_names(headers.keys())
        if value:
            ours = (*ours, (_ACEH, value))
    theirs = list(headers.items())
    merged = _apply_text(theirs, ours)
    if len(merged) == len(theirs) + len(ours):
        # Nothing of the response's was replaced or merged (the merge then
        # gives its headers, then ours): ours are added, in one call.
        headers.extend(ours)
    else:
        headers.clear()
        headers.extend(merged)


def exposes_response(policy: Any) -> bool:
    """Whether ``policy`` lists the response's own headers for ``"*"``."""
    return bool(getattr(policy, "expose_headers", None) == "*"
                and policy.dialect.expose_response_headers)
