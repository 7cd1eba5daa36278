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
"""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import web

from .._engine import check_request
from .._headers import exposed_names, write_over
from .._reason import Reason

__all__ = ["Answer", "decide", "header", "request_values", "write"]

_ALLOWED = Reason.ALLOWED
_ACEH = "access-control-expose-headers"


class Answer(web.Response):
    """A response the drop-in answered itself (a preflight, a refusal):
    it already carries the decision's headers, so the response hook
    leaves it alone."""


def header(headers: Any, name: str) -> Optional[str]:
    """One request header's value, or None when it was not sent."""
    getall = getattr(headers, "getall", None)
    if getall is None:  # a plain mapping (a test's stand-in request)
        value = headers.get(name)
        return value if value is None or isinstance(value, str) else str(value)
    values = getall(name, None)
    if values is None:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)


def request_values(request: Any) -> tuple[Any, ...]:
    """``check_request``'s arguments after the policy: the method, Origin
    and, for ``OPTIONS``, the three ``Access-Control-Request-*`` headers
    (Private-Network on any request: a dialect may answer it there)."""
    headers = request.headers
    method = request.method
    origin = header(headers, "Origin")
    if origin is None:
        return method, None, None, None, None
    acrpn = header(headers, "Access-Control-Request-Private-Network")
    if method == "OPTIONS":
        return (method, origin, header(headers, "Access-Control-Request-Method"),
                header(headers, "Access-Control-Request-Headers"), acrpn)
    return method, origin, None, None, acrpn


def decide(policy: Any, request: Any) -> Any:
    """The engine's decision for an aiohttp request."""
    return check_request(policy, *request_values(request))


def _drop(headers: Any) -> Any:
    return lambda name: headers.popall(name, None)


def write(response: Any, decision: Any, expose_response: bool = False) -> None:
    """Write ``decision``'s headers over ``response``'s. With
    ``expose_response`` (a policy whose dialect exposes the response's own
    headers for ``expose_headers="*"``), an allowed answer to a request with
    an Origin also gets ``access-control-expose-headers`` listing them."""
    headers = response.headers
    ours = decision.headers
    if expose_response and decision.reason is _ALLOWED and not decision.preflight:
        value = exposed_names(headers.keys())
        if value:
            ours = (*ours, (_ACEH, value))
    write_over(headers.keys(), lambda: ", ".join(headers.getall("Vary", ())),
               headers.__setitem__, _drop(headers), ours)


def exposes_response(policy: Any) -> bool:
    """Whether ``policy`` lists the response's own headers for ``"*"``."""
    return bool(getattr(policy, "expose_headers", None) == "*"
                and policy.dialect.expose_response_headers)
